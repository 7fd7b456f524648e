"""Where collaborative documents are kept: an append-only update log per document.

The room manager talks to storage only through :class:`DocumentStore`. An append is not assumed
to be instant: an implementation may hold it until a group commit (one transaction for the
appends of many documents, at most ~100 ms later) and return only once it is durable, because
the returned sequence number is what turns into a "saved" acknowledgement for the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pycrdt

__all__ = ["DocumentStore", "HistoryPart", "HistoryStore", "MemoryDocumentStore"]


@dataclass(frozen=True, slots=True)
class HistoryPart:
    """One person's share of an appended update, kept in the file's history (docs/history.md).

    ``author_id`` is the server's identity of whoever made the change (None: the server itself);
    ``via`` says how (``"assistant"``, ``"restore"``) when not typed by that person directly.
    """

    update: bytes
    author_id: str | None
    via: str | None = None


class DocumentStore(Protocol):
    """Durable storage for Yjs documents, keyed by a stable document id (not a path).

    Contract:

    * ``append`` returns only once the update is durable; sequence numbers grow per document.
    * ``load`` returns every stored update of the document merged into one v1 update, or None.
    * ``load_since`` returns what was stored after ``after_seq`` (merged; None when nothing was)
      and the highest sequence number it covers (``after_seq`` itself when nothing is newer), so
      a process can catch up on what it may have missed without reading the whole document.
      Parts at or before ``after_seq`` may be included (a compacted row covers both sides);
      updates are idempotent. ``load_since(doc_id, 0)`` reads everything.
    * ``compact`` replaces the rows with ``seq <= upto_seq`` by one row. It must *merge*
      ``state`` with those rows rather than trust ``state`` alone: with several processes, a
      row appended elsewhere may not have reached this process's copy yet. Rows after
      ``upto_seq`` stay. Updates are idempotent, so ``state`` may include newer changes.
    * ``set_text`` stores a plain-text mirror of the ``content`` text (search, downloads); it may
      lag the document and is never read back into it.
    """

    async def load(self, doc_id: str) -> bytes | None: ...

    async def load_since(self, doc_id: str, after_seq: int) -> tuple[bytes | None, int]: ...

    async def append(self, doc_id: str, update: bytes) -> int: ...

    async def compact(self, doc_id: str, state: bytes, upto_seq: int) -> None: ...

    async def set_text(self, doc_id: str, text: str) -> None: ...


class HistoryStore(DocumentStore, Protocol):
    """A store that also keeps each file's history (docs/history.md); says so with ``keeps_history``.

    ``append`` takes the update's ``history``: its parts by author, recorded with the update's
    sequence number atomically with the update (one part with no author when empty).
    """

    keeps_history: bool

    async def append(self, doc_id: str, update: bytes, history: Sequence[HistoryPart] = ()) -> int: ...


@dataclass
class MemoryDocumentStore:
    """A process-local store for tests and throwaway instances; counts its calls."""

    #: Record history parts in ``history`` (off by default, so subclasses may keep a two-argument append).
    keeps_history: bool = False
    rows: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[tuple[int, HistoryPart]]] = field(default_factory=dict)
    load_calls: int = 0
    append_calls: int = 0
    compact_calls: int = 0
    _next_seq: dict[str, int] = field(default_factory=dict)

    async def load(self, doc_id: str) -> bytes | None:
        return (await self.load_since(doc_id, 0))[0]

    async def load_since(self, doc_id: str, after_seq: int) -> tuple[bytes | None, int]:
        self.load_calls += 1
        rows = [(seq, update) for seq, update in self.rows.get(doc_id, []) if seq > after_seq]
        if not rows:
            return None, after_seq
        return _merge([update for _, update in rows]), max(seq for seq, _ in rows)

    async def append(self, doc_id: str, update: bytes, history: Sequence[HistoryPart] = ()) -> int:
        self.append_calls += 1
        seq = self._next_seq.get(doc_id, 0) + 1
        self._next_seq[doc_id] = seq
        self.rows.setdefault(doc_id, []).append((seq, update))
        parts = list(history) or [HistoryPart(update, None)]
        self.history.setdefault(doc_id, []).extend((seq, part) for part in parts)
        return seq

    async def compact(self, doc_id: str, state: bytes, upto_seq: int) -> None:
        self.compact_calls += 1
        rows = self.rows.get(doc_id, [])
        replaced = [update for seq, update in rows if seq <= upto_seq]
        kept = [(seq, update) for seq, update in rows if seq > upto_seq]
        self.rows[doc_id] = [(upto_seq, _merge([state, *replaced])), *kept]

    async def set_text(self, doc_id: str, text: str) -> None:
        self.texts[doc_id] = text

    def update_count(self, doc_id: str) -> int:
        return len(self.rows.get(doc_id, []))


def _merge(updates: list[bytes]) -> bytes:
    return updates[0] if len(updates) == 1 else pycrdt.merge_updates(*updates)
