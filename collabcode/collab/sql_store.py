"""The document store on the shared database (SQLite or PostgreSQL), with group commit.

Appends are not written one by one. The first append to arrive opens a short window
(``window_seconds``, 10 ms by default); every append that arrives meanwhile, for any document,
goes into the same transaction, and each caller gets its sequence number only once that
transaction has committed. An append that had to wait for the previous commit is written as soon
as that commit ends, so an update is durable within roughly one window plus two commits of
arriving, well inside the 100 ms the product promises.

A failed commit fails every append in it (``DatabaseUnavailable`` while the database is down);
the room manager keeps those updates in memory and retries, so nothing is dropped here either.
See docs/collaboration.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pycrdt

from collabcode.clock import Clock, SystemClock, now_ms
from collabcode.collab.protocol import ProtocolError, guarded
from collabcode.collab.room import CorruptDocumentError
from collabcode.collab.store import HistoryPart
from collabcode.db import Database, DatabaseUnavailable, Executor

__all__ = ["SqlDocumentStore"]

log = logging.getLogger(__name__)

#: Documents per multi-row statement (keeps parameter counts far below SQLite's limit).
_CHUNK = 200

_LOAD_SINCE = (
    "SELECT 0 AS part, upto_seq AS seq, state AS data FROM doc_snapshots WHERE doc_id = ? AND upto_seq > ? "
    "UNION ALL "
    "SELECT 1 AS part, seq AS seq, data AS data FROM doc_updates WHERE doc_id = ? AND seq > ? "
    "ORDER BY part, seq"
)
_UPTO = (
    "SELECT 0 AS part, upto_seq AS seq, state AS data FROM doc_snapshots WHERE doc_id = ? "
    "UNION ALL "
    "SELECT 1 AS part, seq AS seq, data AS data FROM doc_updates WHERE doc_id = ? AND seq <= ? "
    "ORDER BY part, seq"
)
_INSERT_UPDATE = "INSERT INTO doc_updates (doc_id, seq, data, created_at) VALUES (?, ?, ?, ?)"
_INSERT_HISTORY = (
    "INSERT INTO doc_history (doc_id, seq, part, author_id, via, authors, created_at, data) "
    "VALUES (?, ?, ?, ?, ?, NULL, ?, ?)"
)


@dataclass(eq=False)
class _Append:
    doc_id: str
    update: bytes
    future: asyncio.Future[int]
    history: Sequence[HistoryPart] = ()
    received: float = field(default_factory=time.monotonic)


class _Conflict(Exception):
    """Another process compacted the document meanwhile; this compaction is dropped."""


def _merge(parts: Sequence[bytes], doc_id: str) -> bytes:
    if len(parts) == 1:
        return parts[0]
    try:
        return guarded(lambda: pycrdt.merge_updates(*parts))
    except ProtocolError as exc:
        raise CorruptDocumentError(doc_id) from exc


class SqlDocumentStore:
    """:class:`~collabcode.collab.store.HistoryStore` on a :class:`~collabcode.db.Database`."""

    keeps_history = True

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        window_seconds: float = 0.01,
        max_batch: int = 2000,
    ) -> None:
        if window_seconds < 0:
            raise ValueError(f"window_seconds must be >= 0, got {window_seconds}")
        self._db = db
        self._clock = clock or SystemClock()
        #: How long the first append of a batch waits for others; 0 writes at once. Keep it far
        #: below 100 ms: an update must be durable within 100 ms of arriving.
        self.window_seconds = window_seconds
        self._max_batch = max_batch
        self._queue: list[_Append] = []
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._stats = {
            "appends_total": 0.0,
            "commits_total": 0.0,
            "commit_failures_total": 0.0,
            "last_batch_appends": 0.0,
            "last_batch_documents": 0.0,
            "last_commit_seconds": 0.0,
            "last_oldest_wait_seconds": 0.0,
            "max_oldest_wait_seconds": 0.0,
        }

    # ------------------------------------------------------------------ reading

    async def load(self, doc_id: str) -> bytes | None:
        return (await self.load_since(doc_id, 0))[0]

    async def load_since(self, doc_id: str, after_seq: int) -> tuple[bytes | None, int]:
        # One statement, so snapshot and log come from one consistent view even while another
        # process compacts (two statements could miss rows moved into the snapshot between them).
        rows = await self._db.fetch_all(_LOAD_SINCE, (doc_id, after_seq, doc_id, after_seq))
        if not rows:
            return None, after_seq
        top = max(int(row["seq"]) for row in rows)
        return _merge([bytes(row["data"]) for row in rows], doc_id), max(top, after_seq)

    async def text(self, doc_id: str) -> str | None:
        """The plain-text mirror (may lag the live document)."""
        value = await self._db.fetch_val("SELECT text FROM doc_text WHERE doc_id = ?", (doc_id,))
        return None if value is None else str(value)

    # ------------------------------------------------------------------ appending (group commit)

    async def append(self, doc_id: str, update: bytes, history: Sequence[HistoryPart] = ()) -> int:
        """Queue ``update``; returns its sequence number once the batch holding it committed.

        Its ``history`` parts (who made which share of it) are written in the same transaction,
        so a stored change always has its history (docs/history.md).
        """
        if self._closed:
            raise DatabaseUnavailable("the document store is closed")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Append(doc_id, update, future, history))
        self._idle.clear()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._commit_forever(), name="collab-group-commit")
        # If the caller is cancelled, the update is still written with its batch.
        return await future

    def hurry(self) -> None:
        """Stop waiting for batches to fill (shutdown): queued appends are written at once."""
        self._hurry.set()
        self._wake.set()

    async def _commit_forever(self) -> None:
        while True:
            await self._wake.wait()
            if not self._queue:
                self._wake.clear()
                self._idle.set()
                continue
            delay = self.window_seconds - (time.monotonic() - self._queue[0].received)
            if delay > 0 and not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), delay)
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            await self._commit(batch)

    async def _commit(self, batch: list[_Append]) -> None:
        started = time.monotonic()
        by_doc: dict[str, list[_Append]] = {}
        for item in batch:
            by_doc.setdefault(item.doc_id, []).append(item)
        try:
            seqs = await self._write(by_doc)
        except Exception as exc:
            self._stats["commit_failures_total"] += 1
            log.warning(
                "collab group commit failed: %d updates of %d documents kept for a retry (%s)",
                len(batch),
                len(by_doc),
                type(exc).__name__,
            )
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        finished = time.monotonic()
        oldest = finished - min(item.received for item in batch)
        self._stats["appends_total"] += len(batch)
        self._stats["commits_total"] += 1
        self._stats["last_batch_appends"] = len(batch)
        self._stats["last_batch_documents"] = len(by_doc)
        self._stats["last_commit_seconds"] = finished - started
        self._stats["last_oldest_wait_seconds"] = oldest
        self._stats["max_oldest_wait_seconds"] = max(self._stats["max_oldest_wait_seconds"], oldest)
        for item in batch:
            if not item.future.done():
                item.future.set_result(seqs[id(item)])

    async def _write(self, by_doc: dict[str, list[_Append]]) -> dict[int, int]:
        """One transaction: take sequence numbers per document, insert every row and its history."""
        now = now_ms(self._clock)
        # Sorted, so two processes lock document rows in the same order and cannot deadlock.
        doc_ids = sorted(by_doc)
        heads: dict[str, int] = {}
        async with self._db.transaction("collab.group_commit") as tx:
            for start in range(0, len(doc_ids), _CHUNK):
                chunk = doc_ids[start : start + _CHUNK]
                heads.update(await _take_seqs(tx, [(d, len(by_doc[d])) for d in chunk], now))
            rows: list[tuple[Any, ...]] = []
            history: list[tuple[Any, ...]] = []
            assigned: dict[int, int] = {}
            for doc_id in doc_ids:
                items = by_doc[doc_id]
                first = heads[doc_id] - len(items) + 1
                for offset, item in enumerate(items):
                    seq = first + offset
                    assigned[id(item)] = seq
                    rows.append((doc_id, seq, item.update, now))
                    parts = item.history or (HistoryPart(item.update, None),)
                    for part, share in enumerate(parts):
                        history.append((doc_id, seq, part, share.author_id, share.via, now, share.update))
            await tx.execute_many(_INSERT_UPDATE, rows)
            await tx.execute_many(_INSERT_HISTORY, history)
        return assigned

    # ------------------------------------------------------------------ compaction and text

    async def compact(self, doc_id: str, state: bytes, upto_seq: int) -> None:
        """Replace the log up to ``upto_seq`` (and any older snapshot) by one merged snapshot."""
        rows = await self._db.fetch_all(_UPTO, (doc_id, doc_id, upto_seq))
        snapshot_seq = next((int(row["seq"]) for row in rows if row["part"] == 0), None)
        if snapshot_seq is not None and snapshot_seq >= upto_seq:
            return  # already compacted at least this far (by another process)
        merged = _merge([state, *(bytes(row["data"]) for row in rows)], doc_id)
        now = now_ms(self._clock)
        try:
            async with self._db.transaction("collab.compact") as tx:
                if snapshot_seq is None:
                    changed = await tx.execute(
                        "INSERT INTO doc_snapshots (doc_id, state, upto_seq, updated_at) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (doc_id) DO NOTHING",
                        (doc_id, merged, upto_seq, now),
                    )
                else:
                    changed = await tx.execute(
                        "UPDATE doc_snapshots SET state = ?, upto_seq = ?, updated_at = ? "
                        "WHERE doc_id = ? AND upto_seq = ?",
                        (merged, upto_seq, now, doc_id, snapshot_seq),
                    )
                if changed != 1:
                    raise _Conflict
                await tx.execute("DELETE FROM doc_updates WHERE doc_id = ? AND seq <= ?", (doc_id, upto_seq))
        except _Conflict:
            log.info("collab compaction skipped, another process compacted doc=%s", doc_id)

    async def set_text(self, doc_id: str, text: str) -> None:
        """Store the text mirror of a stored document (nothing for one that was deleted)."""
        # PostgreSQL text cannot hold NUL; the mirror is for search and downloads, not the document.
        text = text.replace("\x00", "\ufffd")
        await self._db.execute(
            "INSERT INTO doc_text (doc_id, text, updated_at) "
            "SELECT ?, ?, CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM documents WHERE id = ?) "
            "ON CONFLICT (doc_id) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
            (doc_id, text, now_ms(self._clock), doc_id),
        )

    async def delete(self, doc_id: str) -> None:
        """Remove a document and everything stored for it."""
        await self._db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    # ------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        """Write what is queued, then stop; later appends fail with DatabaseUnavailable."""
        self.hurry()
        if self._task is not None and not self._task.done():
            await self._idle.wait()
            self._task.cancel()
            await asyncio.wait({self._task})
        self._closed = True

    def stats(self) -> dict[str, float]:
        """Group-commit counters and the latest batch, for /metrics."""
        return {**self._stats, "queued_appends": float(len(self._queue))}


async def _take_seqs(tx: Executor, counts: list[tuple[str, int]], now: int) -> dict[str, int]:
    """Advance each document's ``head_seq`` by its count; returns the new heads."""
    values = ", ".join("(?, ?, ?, ?)" for _ in counts)
    params: list[Any] = []
    for doc_id, count in counts:
        params += [doc_id, count, now, now]
    rows = await tx.fetch_all(
        f"INSERT INTO documents (id, head_seq, created_at, updated_at) VALUES {values} "  # noqa: S608
        "ON CONFLICT (id) DO UPDATE SET head_seq = documents.head_seq + excluded.head_seq, "
        "updated_at = excluded.updated_at RETURNING id AS id, head_seq AS head_seq",
        params,
    )
    return {str(row["id"]): int(row["head_seq"]) for row in rows}
