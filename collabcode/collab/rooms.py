"""Loaded rooms: get-or-load, saving, compaction and idle unloading.

* Concurrent joins of one document share a single load (one task, awaited by all joiners under
  ``asyncio.shield`` so a joiner that gives up does not cancel the others' load).
* Saving is a group commit per document without timers: one ``append`` in flight at a time;
  changes that arrive meanwhile are merged into the next append. Acknowledgements reach opted-in
  peers as "saved" only after ``append`` returns. A failed append keeps the changes queued; the
  next change, :meth:`RoomManager.flush` or :meth:`RoomManager.sweep` retries it.
* A room with no peers is unloaded by :meth:`RoomManager.sweep` once it has been idle for
  ``idle_unload_seconds`` and everything is saved. The app calls ``sweep`` periodically; time
  comes from the injected clock, so tests advance a fake clock instead of sleeping.
* Other processes: stored changes leave through ``publish``, local awareness changes through
  ``publish_awareness``; ``request_sync`` starts a two-way exchange with the other processes
  holding a room (its state vector goes out after every load and on
  :meth:`RoomManager.resync`), and :meth:`RoomManager.sync_answer` and
  :meth:`RoomManager.state_vector` are how this process takes part in one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Final, cast

import pycrdt

from collabcode.clock import Clock, SystemClock
from collabcode.collab.room import AppliedUpdate, Peer, Room, RoomLimits
from collabcode.collab.store import DocumentStore, HistoryPart, HistoryStore
from collabcode.logs import user_id_var

__all__ = ["PersistenceError", "Publisher", "RoomManager", "change_via"]

#: How a server-made change in this context is made (``"restore"``, ...), for the file history.
#: Its author is the signed-in user of the request (``user_id_var``, set by the auth layer).
change_via: ContextVar[str | None] = ContextVar("collab_change_via", default=None)

log = logging.getLogger(__name__)

#: Sends a stored change to the other processes (document id, v1 update). Must not block.
Publisher = Callable[[str, bytes], None]


#: An update that changes nothing (no structs, empty delete set): never kept for custody.
EMPTY_UPDATE: Final = b"\x00\x00"
#: Remote changes a room keeps for custody at most; past it the oldest are stored at once.
MAX_UNCONFIRMED: Final = 10_000
#: Digest size in bytes, as sent in "stored" reports between processes.
DIGEST_SIZE: Final = 16

#: (document id, digests of stored updates) -> None; must not block.
StoredPublisher = Callable[[str, list[bytes]], None]


def update_digest(update: bytes) -> bytes:
    """Names an update in "stored" reports; both sides hash the bytes the relay carried."""
    return hashlib.blake2b(update, digest_size=DIGEST_SIZE).digest()


class PersistenceError(Exception):
    """Changes of a document could not be saved; they stay queued for a retry."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"could not save document {doc_id}")
        self.doc_id = doc_id


@dataclass(slots=True)
class _Entry:
    room: Room
    empty_since: float | None
    #: Changes not stored yet, each with its author (the server's identity) and ``via``.
    pending: list[HistoryPart] = field(default_factory=list)
    pending_index: int = 0
    save_task: asyncio.Task[None] | None = None
    last_error: Exception | None = None
    seq: int = 0
    #: Everything stored up to this sequence number has been read into the room.
    loaded_seq: int = 0
    appends_since_compact: int = 0
    text_dirty: bool = False
    #: Changes received from other processes that their origin has not yet reported stored
    #: (digest -> (received at, update)); this process stores them if the report never comes.
    unconfirmed: dict[bytes, tuple[float, bytes]] = field(default_factory=dict)

    @property
    def saving(self) -> bool:
        return self.save_task is not None and not self.save_task.done()


class RoomManager:
    """Owns every loaded :class:`Room` of this process and their persistence."""

    def __init__(
        self,
        store: DocumentStore,
        *,
        clock: Clock | None = None,
        idle_unload_seconds: float = 30.0,
        limits: RoomLimits | None = None,
        publish: Publisher | None = None,
        compact_every: int = 200,
        publish_awareness: Publisher | None = None,
        request_sync: Publisher | None = None,
        remote_awareness_seconds: float = 30.0,
        publish_stored: StoredPublisher | None = None,
        custody_seconds: float = 5.0,
    ) -> None:
        """
        Args:
            store: Durable storage; see :class:`~collabcode.collab.store.DocumentStore`.
            clock: Time source (``SystemClock`` by default).
            idle_unload_seconds: Grace period between the last peer leaving and unloading.
            limits: Limits applied to every room.
            publish: Relays stored changes to other processes; never called for remote ones.
            compact_every: Compact a document's update log after this many appends.
            publish_awareness: Relays local peers' awareness changes (document id, update).
            request_sync: Starts a sync exchange with other processes (document id, state vector).
            remote_awareness_seconds: Remote awareness states not renewed for this long are
                removed by ``sweep`` (their process may have died without saying so).
            publish_stored: Tells other processes which of this process's changes are stored
                (document id, digests of the updates as they were published).
            custody_seconds: A change received from another process that is not reported
                stored within this time is stored here (its process may have died first).
        """
        self._store = store
        #: Set when the store records who made each change (the file history).
        self._history = cast(HistoryStore, store) if getattr(store, "keeps_history", False) else None
        self._clock = clock or SystemClock()
        self._idle = idle_unload_seconds
        self._limits = limits or RoomLimits()
        self._publish = publish
        self._compact_every = compact_every
        self._publish_awareness = publish_awareness
        self._request_sync = request_sync
        self._remote_awareness_seconds = remote_awareness_seconds
        self._publish_stored = publish_stored
        self._custody_seconds = custody_seconds
        self._entries: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Task[_Entry]] = {}
        self._remote_backlog: dict[str, list[bytes]] = {}

    # ------------------------------------------------------------------ lookup

    def loaded(self, doc_id: str) -> Room | None:
        """The room if it is loaded in this process, without loading it."""
        entry = self._entries.get(doc_id)
        return entry.room if entry else None

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(self._entries)

    async def join(self, doc_id: str, peer: Peer) -> Room:
        """Load the room if needed (sharing a load already in progress) and add ``peer``."""
        entry = await self._acquire(doc_id)
        entry.room.add_peer(peer)
        entry.empty_since = None
        return entry.room

    def leave(self, doc_id: str, peer: Peer) -> None:
        """Remove ``peer``; the idle countdown starts when the last one leaves."""
        entry = self._entries.get(doc_id)
        if entry is None:
            return
        entry.room.remove_peer(peer)
        if entry.room.peer_count == 0:
            entry.empty_since = self._clock.monotonic()

    async def get(self, doc_id: str) -> Room:
        """The loaded room, loading it for server-side use; an unused room unloads when idle."""
        entry = await self._acquire(doc_id)
        self._touch(entry)
        return entry.room

    async def replace_text(self, doc_id: str, text: str) -> None:
        """Replace a file's text from server code (stored, published, relayed to peers)."""
        entry = await self._acquire(doc_id)
        entry.room.replace_text(text)
        self._touch(entry)

    def apply_remote(self, doc_id: str, update: bytes) -> bool:
        """Apply a change published by another process; False if the room is not loaded here.

        Changes for a document being loaded are held and applied once it is, so one that
        slipped between the store read and the room's creation is not missed.
        """
        entry = self._entries.get(doc_id)
        if entry is None:
            if doc_id in self._loading:
                self._remote_backlog.setdefault(doc_id, []).append(update)
                return True
            return False
        entry.room.apply_remote(update)
        self._hold(entry, update)
        return True

    def _hold(self, entry: _Entry, update: bytes) -> None:
        """Remember a remote change until its process reports it stored (see ``sweep``)."""
        if update == EMPTY_UPDATE:
            return
        entry.unconfirmed[update_digest(update)] = (self._clock.monotonic(), update)
        if len(entry.unconfirmed) > MAX_UNCONFIRMED:
            self._take_custody(entry, float("inf"))

    def unconfirmed_count(self, doc_id: str) -> int:
        """Remote changes of ``doc_id`` this process holds until their origin reports them stored."""
        entry = self._entries.get(doc_id)
        return len(entry.unconfirmed) if entry is not None else 0

    def confirm_stored(self, doc_id: str, digests: Iterable[bytes]) -> None:
        """Another process stored these changes: this one need not keep them for custody."""
        entry = self._entries.get(doc_id)
        if entry is not None:
            for digest in digests:
                entry.unconfirmed.pop(digest, None)

    def _take_custody(self, entry: _Entry, older_than: float) -> int:
        """Store remote changes received before ``older_than`` that nobody reported stored."""
        taken = [digest for digest, (received, _) in entry.unconfirmed.items() if received <= older_than]
        for digest in taken:
            _, update = entry.unconfirmed.pop(digest)
            entry.pending.append(HistoryPart(update, None, None))
        if taken:
            log.info("collab custody doc=%s updates=%d", entry.room.doc_id, len(taken))
            self._ensure_saving(entry)
        return len(taken)

    def apply_remote_awareness(self, doc_id: str, update: bytes) -> bool:
        """Apply awareness states published by another process; False if the room is not here."""
        entry = self._entries.get(doc_id)
        if entry is None:
            return False
        entry.room.apply_remote_awareness(update, self._clock.monotonic())
        return True

    def sync_answer(self, doc_id: str, state_vector: bytes) -> tuple[bytes | None, bytes | None]:
        """Answer another process's sync request: (what it lacks, local peers' awareness).

        Both are None when the room is not loaded here. Raises ProtocolError for a bad vector.
        """
        entry = self._entries.get(doc_id)
        if entry is None:
            return None, None
        return entry.room.diff_for(state_vector), entry.room.local_awareness()

    def state_vector(self, doc_id: str) -> bytes | None:
        """The loaded room's state vector, or None if the room is not loaded here."""
        entry = self._entries.get(doc_id)
        return entry.room.state_vector() if entry is not None else None

    async def resync(self) -> None:
        """Catch up on what this process may have missed while the broker was unreachable.

        Pub/sub is lossy: after an outage (``bus.on_reconnect``) other processes' changes may
        never have arrived, and this process's may not have reached them. Each loaded room
        sends its state vector; every process holding the room answers with the difference and
        its own state vector, which this process answers in turn, so changes not stored yet
        travel both ways (the relay does the exchange, see ``relay.py``); then the rows
        stored since the room last read the store are applied, which covers processes that have
        unloaded the room since. Both are applied as remote changes: only what is new reaches
        local peers, and nothing is stored twice.
        """
        for doc_id, entry in list(self._entries.items()):
            self._ask_for_sync(entry)
            try:
                state, seq = await self._store.load_since(doc_id, entry.loaded_seq)
            except Exception:
                log.warning("collab resync failed doc=%s", doc_id, exc_info=True)
                continue
            if self._entries.get(doc_id) is not entry:
                continue
            entry.loaded_seq = max(entry.loaded_seq, seq)
            if state:
                try:
                    entry.room.apply_remote(state)
                except Exception:
                    log.exception("collab resync rejected stored state doc=%s", doc_id)

    def _ask_for_sync(self, entry: _Entry) -> None:
        if self._request_sync is None:
            return
        try:
            self._request_sync(entry.room.doc_id, entry.room.state_vector())
        except Exception:
            log.exception("sync request failed doc=%s", entry.room.doc_id)

    def _touch(self, entry: _Entry) -> None:
        if entry.room.peer_count == 0:
            entry.empty_since = self._clock.monotonic()

    # ------------------------------------------------------------------ loading

    async def _acquire(self, doc_id: str) -> _Entry:
        while True:
            entry = self._entries.get(doc_id)
            if entry is not None:
                return entry
            task = self._loading.get(doc_id)
            if task is None:
                task = asyncio.create_task(self._load(doc_id), name=f"collab-load:{doc_id}")
                self._loading[doc_id] = task
                task.add_done_callback(partial(self._load_done, doc_id))
            entry = await asyncio.shield(task)
            # Between the load finishing and this waiter resuming, a sweep may have unloaded it.
            if self._entries.get(doc_id) is entry:
                return entry

    async def _load(self, doc_id: str) -> _Entry:
        state, seq = await self._store.load_since(doc_id, 0)
        room = Room(
            doc_id,
            state=state,
            limits=self._limits,
            on_update=self._on_update,
            on_awareness=self._publish_awareness,
        )
        entry = _Entry(room, empty_since=self._clock.monotonic(), loaded_seq=seq)
        self._entries[doc_id] = entry
        for update in self._remote_backlog.pop(doc_id, []):
            try:
                room.apply_remote(update)
            except Exception:
                log.exception("remote update rejected doc=%s", doc_id)
            else:
                self._hold(entry, update)
        # Changes another process applied but has not stored yet are not in what was just read.
        self._ask_for_sync(entry)
        log.debug("room loaded doc=%s bytes=%d", doc_id, len(state or b""))
        return entry

    def _load_done(self, doc_id: str, task: asyncio.Task[_Entry]) -> None:
        if self._loading.get(doc_id) is task:
            del self._loading[doc_id]
        if task.cancelled() or task.exception() is not None:
            self._remote_backlog.pop(doc_id, None)
        if not task.cancelled() and task.exception() is not None:
            # Retrieved here so an unawaited failure is logged once, not at garbage collection.
            log.error("room load failed doc=%s", doc_id, exc_info=task.exception())

    # ------------------------------------------------------------------ saving

    def _on_update(self, applied: AppliedUpdate) -> None:
        entry = self._entries.get(applied.doc_id)
        if entry is None:
            return  # a discarded room (its file was deleted): nothing of it is kept
        if isinstance(applied.origin, str):
            part = HistoryPart(applied.update, user_id_var.get(), change_via.get())
        else:
            part = HistoryPart(applied.update, applied.origin.user_id, applied.via)
        entry.pending.append(part)
        entry.pending_index = applied.index
        entry.text_dirty = True
        if self._publish is not None:
            try:
                self._publish(applied.doc_id, applied.update)
            except Exception:
                log.exception("publish failed doc=%s", applied.doc_id)
        self._ensure_saving(entry)

    def _ensure_saving(self, entry: _Entry) -> asyncio.Task[None] | None:
        if entry.saving:
            return entry.save_task
        if not entry.pending:
            return None
        entry.save_task = asyncio.get_running_loop().create_task(
            self._save(entry), name=f"collab-save:{entry.room.doc_id}"
        )
        return entry.save_task

    async def _save(self, entry: _Entry) -> None:
        """Append everything pending, one append at a time, until nothing is left."""
        doc_id = entry.room.doc_id
        entry.last_error = None
        while entry.pending:
            batch, upto = entry.pending, entry.pending_index
            entry.pending = []
            try:
                history = _by_author(batch)
                update = history[0].update if len(history) == 1 else pycrdt.merge_updates(*(p.update for p in history))
                if self._history is not None:
                    seq = await self._history.append(doc_id, update, history)
                else:
                    seq = await self._store.append(doc_id, update)
            except Exception as exc:
                entry.pending[:0] = batch  # never drop unsaved changes
                entry.last_error = exc
                log.warning("collab save failed doc=%s pending=%d", doc_id, len(entry.pending))
                return
            except BaseException:
                entry.pending[:0] = batch
                raise
            entry.seq = seq
            entry.room.mark_durable(upto)
            self._report_stored(doc_id, batch)
            entry.appends_since_compact += 1
            if entry.appends_since_compact >= self._compact_every:
                await self._compact(entry)

    def _report_stored(self, doc_id: str, batch: list[HistoryPart]) -> None:
        if self._publish_stored is None:
            return
        try:
            self._publish_stored(doc_id, [update_digest(part.update) for part in batch])
        except Exception:
            log.exception("publishing stored changes failed doc=%s", doc_id)

    async def _compact(self, entry: _Entry) -> None:
        doc_id = entry.room.doc_id
        try:
            await self._store.compact(doc_id, entry.room.encoded_state(), entry.seq)
        except Exception:
            log.warning("collab compaction failed doc=%s", doc_id, exc_info=True)
            return
        entry.appends_since_compact = 0
        await self._mirror_text(entry)

    async def _mirror_text(self, entry: _Entry) -> None:
        if not entry.text_dirty:
            return
        entry.text_dirty = False
        try:
            await self._store.set_text(entry.room.doc_id, entry.room.text)
        except Exception:
            entry.text_dirty = True
            log.warning("collab text mirror failed doc=%s", entry.room.doc_id, exc_info=True)

    async def _flush(self, entry: _Entry) -> None:
        while entry.pending or entry.saving:
            task = self._ensure_saving(entry)
            if task is not None:
                await asyncio.shield(task)
            if entry.pending and entry.last_error is not None:
                raise PersistenceError(entry.room.doc_id) from entry.last_error

    async def flush(self, doc_id: str) -> None:
        """Wait until every change of ``doc_id`` so far is durable (retrying a failed save)."""
        entry = self._entries.get(doc_id)
        if entry is not None:
            await self._flush(entry)

    async def flush_all(self) -> None:
        """Flush every loaded room; raises PersistenceError after trying them all."""
        entries = list(self._entries.values())
        results = await asyncio.gather(*(self._flush(e) for e in entries), return_exceptions=True)
        failed = None
        for entry, result in zip(entries, results, strict=True):
            if isinstance(result, BaseException):
                log.error("collab flush failed doc=%s", entry.room.doc_id, exc_info=result)
                failed = failed or result
            else:
                await self._mirror_text(entry)
        if failed is not None:
            raise failed

    # ------------------------------------------------------------------ unloading

    async def sweep(self) -> list[str]:
        """Unload rooms idle past the grace period and retry failed saves; returns unloaded ids."""
        now = self._clock.monotonic()
        unloaded = []
        for doc_id, entry in list(self._entries.items()):
            entry.room.expire_remote_awareness(now, self._remote_awareness_seconds)
            self._take_custody(entry, now - self._custody_seconds)
            idle = entry.room.peer_count == 0 and entry.empty_since is not None
            if idle and entry.empty_since is not None and now - entry.empty_since >= self._idle:
                if await self._unload(doc_id, entry):
                    unloaded.append(doc_id)
            elif entry.pending and not entry.saving:
                self._ensure_saving(entry)
        return unloaded

    async def _unload(self, doc_id: str, entry: _Entry) -> bool:
        self._take_custody(entry, float("inf"))  # nobody may hold them after this room is gone
        try:
            await self._flush(entry)
        except PersistenceError:
            return False  # logged by the save; stays loaded so nothing is lost
        await self._mirror_text(entry)
        # Everything below is synchronous: nobody can join or edit between check and removal.
        if self._entries.get(doc_id) is not entry or entry.room.peer_count or entry.pending or entry.saving:
            return False
        del self._entries[doc_id]
        entry.room.close()
        log.debug("room unloaded doc=%s", doc_id)
        return True

    async def discard(self, doc_id: str) -> bool:
        """Unload a deleted document without saving what it still holds; whether it was loaded.

        Waits for a load or save already under way, so nothing of the document is written after
        this returns: the caller then deletes its stored rows for good. Peers still attached are
        left to their sockets' access re-check, which closes them (the file is gone).
        """
        loading = self._loading.get(doc_id)
        if loading is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(loading)
        self._remote_backlog.pop(doc_id, None)
        entry = self._entries.pop(doc_id, None)
        if entry is None:
            return False
        entry.pending.clear()
        entry.unconfirmed.clear()
        entry.text_dirty = False
        if entry.save_task is not None and not entry.save_task.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(entry.save_task)
        entry.room.close()
        log.info("room discarded doc=%s", doc_id)
        return True

    async def close(self) -> None:
        """Flush and unload everything (shutdown, after the sockets were closed)."""
        for entry in self._entries.values():
            self._take_custody(entry, float("inf"))
        try:
            await self.flush_all()
        finally:
            for entry in self._entries.values():
                entry.room.close()
            self._entries.clear()


def _by_author(batch: list[HistoryPart]) -> list[HistoryPart]:
    """Merge runs of consecutive changes by the same author (and ``via``) into one part each."""
    parts: list[HistoryPart] = []
    run: list[bytes] = []
    for index, part in enumerate(batch):
        run.append(part.update)
        following = batch[index + 1] if index + 1 < len(batch) else None
        if following is None or (following.author_id, following.via) != (part.author_id, part.via):
            merged = run[0] if len(run) == 1 else pycrdt.merge_updates(*run)
            parts.append(HistoryPart(merged, part.author_id, part.via))
            run = []
    return parts
