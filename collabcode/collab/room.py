"""One collaborative document: a pycrdt Doc, its awareness states and the peers editing it.

A Room does no I/O. Peers receive bytes through a non-blocking ``send``; changes that must be
stored or published leave through one ``on_update`` hook, tagged with their origin, so the
persistence and the cross-process relay can never echo or store a change twice.

Awareness changes made by local peers leave through ``on_awareness`` (already stamped with the
server's identity of each user), and :meth:`Room.apply_remote_awareness` takes those of peers on
other processes; such remote states expire unless renewed, like a client's own.

Origins:

* a :class:`Peer` - a client's update, applied, relayed to the *other* peers, stored, published;
* ``"server"`` - server code (the text-replace API), applied, relayed to all peers, stored,
  published;
* ``"remote"`` - a change another process already stored and published, applied and relayed to
  local peers only.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import pycrdt

from collabcode.collab.protocol import (
    DEFAULT_MAX_MESSAGE_BYTES,
    EMPTY_UPDATE,
    AuthMessage,
    AwarenessEntry,
    AwarenessMessage,
    CloseCode,
    ProtocolError,
    QueryAwareness,
    Reader,
    Saved,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_awareness_update,
    decode_message,
    decode_state_vector,
    encode_awareness,
    encode_awareness_update,
    encode_saved,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    guarded,
    parse_awareness_state,
    validate_update,
)

__all__ = [
    "ORIGIN_REMOTE",
    "ORIGIN_SERVER",
    "TEXT_NAME",
    "AppliedUpdate",
    "AwarenessHook",
    "CorruptDocumentError",
    "Origin",
    "Peer",
    "Room",
    "RoomLimits",
    "UpdateHook",
]

log = logging.getLogger(__name__)

#: The root ``Y.Text`` holding a file's contents.
TEXT_NAME: Final = "content"
ORIGIN_SERVER: Final = "server"
ORIGIN_REMOTE: Final = "remote"


class CorruptDocumentError(Exception):
    """The stored state of a document does not decode; the room cannot be served (close 1011)."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"stored state of document {doc_id} does not decode")
        self.doc_id = doc_id


class Peer(Protocol):
    """What a Room needs from a connection; the socket layer owns queues and backpressure.

    ``peer_id`` must be unique per connection. ``can_write`` is read on every message, so a
    permission change takes effect on the next frame without reconnecting.
    """

    @property
    def peer_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def user_name(self) -> str: ...
    @property
    def user_color(self) -> str: ...
    @property
    def can_write(self) -> bool: ...
    @property
    def wants_saved(self) -> bool: ...

    def send(self, data: bytes) -> None:
        """Enqueue a frame without blocking; may drop or close on a slow consumer."""


Origin = Peer | Literal["server"]
_Source = Peer | Literal["server", "remote"]


@dataclass(frozen=True, slots=True)
class AppliedUpdate:
    """A change to store and publish. ``index`` grows by one per change in this room.

    ``via`` is ``"assistant"`` for a peer's change made by the assistant on that user's behalf:
    the editor announces such an edit by setting an ``assistant`` field on the user's awareness
    state just before it (see :meth:`Room._note_assistant`).
    """

    doc_id: str
    index: int
    update: bytes
    origin: Origin
    via: str | None = None


UpdateHook = Callable[[AppliedUpdate], None]
#: Receives (document id, awareness update) for changes made by this process's peers.
AwarenessHook = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class RoomLimits:
    """Per-room hard limits.

    ``max_doc_bytes`` bounds the encoded document: an update that would grow it past the limit
    is refused with close code 1009, reason ``doc_too_large``. The check is exact near the limit
    and an estimate (sum of applied update sizes, re-measured when it nears the limit) below it.
    """

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_doc_bytes: int = 4 * 1024 * 1024
    max_awareness_state_bytes: int = 16 * 1024
    max_awareness_ids_per_peer: int = 4
    #: Bytes of updates left waiting for missing dependencies before those parts are dropped.
    max_pending_bytes: int = 64 * 1024
    #: Remembered awareness client ids (clocks and owners) per room before the oldest is dropped.
    max_awareness_history: int = 10_000


@dataclass(slots=True)
class _PeerState:
    peer: Peer
    #: Awareness client ids this connection introduced and may update.
    owned: set[int] = field(default_factory=set)
    #: Last clock we sent this connection for ids it does not own (echo detection).
    seen: dict[int, int] = field(default_factory=dict)
    #: Sync update/step2 frames received so far; the number the "saved" message acknowledges.
    receipts: int = 0
    #: (receipt, change index that must be durable first), oldest first.
    unsaved: deque[tuple[int, int]] = field(default_factory=deque)
    saved_sent: int = 0
    #: The peer's next change is the assistant's (its awareness just gained an ``assistant`` range).
    assistant_next: bool = False


@dataclass(slots=True)
class _AwarenessRecord:
    clock: int
    state_json: str | None  # None: removed
    user_id: str | None  # last owner, so nobody else can adopt the id later
    #: When another process last confirmed this state (None: a local peer's, or removed).
    remote_seen: float | None = None


class Room:
    """One document, its awareness and its connected peers."""

    def __init__(
        self,
        doc_id: str,
        *,
        state: bytes | None = None,
        limits: RoomLimits | None = None,
        on_update: UpdateHook | None = None,
        on_awareness: AwarenessHook | None = None,
    ) -> None:
        """Create the room, optionally from a stored merged update.

        A stored state that pycrdt rejects raises CorruptDocumentError: better to refuse the room
        than to serve (and then save over) an empty document.
        """
        self.doc_id = doc_id
        self.limits = limits or RoomLimits()
        self._on_update = on_update
        self._on_awareness = on_awareness
        self._captured: list[bytes] = []
        self._attach(pycrdt.Doc())
        if state:
            doc = self._doc
            try:
                guarded(lambda: doc.apply_update(state))
            except ProtocolError as exc:
                raise CorruptDocumentError(doc_id) from exc
            self._captured.clear()
        self._size_estimate = len(state or b"")
        self._pending_bytes = 0
        self._peers: dict[str, _PeerState] = {}
        self._awareness: dict[int, _AwarenessRecord] = {}
        self._last_index = 0
        self._durable_index = 0
        self.closed = False

    def _attach(self, doc: pycrdt.Doc[Any]) -> None:
        self._doc = doc
        self._size_exact = False
        self._text = doc.get(TEXT_NAME, type=pycrdt.Text)
        self._subscription = doc.observe(self._capture)

    # ------------------------------------------------------------------ introspection

    @property
    def doc(self) -> pycrdt.Doc[Any]:
        """The live document; read it, but change it only through the room."""
        return self._doc

    @property
    def pending_bytes(self) -> int:
        """Bytes of applied updates that left parts waiting for missing dependencies."""
        return self._pending_bytes

    @property
    def peers(self) -> tuple[Peer, ...]:
        return tuple(state.peer for state in self._peers.values())

    @property
    def peer_count(self) -> int:
        return len(self._peers)

    @property
    def text(self) -> str:
        return str(self._text)

    @property
    def last_index(self) -> int:
        """Index of the newest change handed to ``on_update``."""
        return self._last_index

    @property
    def durable_index(self) -> int:
        return self._durable_index

    def encoded_state(self) -> bytes:
        """The whole document as one v1 update (what a compaction stores)."""
        return self._doc.get_update()

    def state_vector(self) -> bytes:
        return self._doc.get_state()

    def diff_for(self, state_vector: bytes) -> bytes | None:
        """What a holder of ``state_vector`` lacks, or None if nothing; 1007 for a bad vector."""
        decode_state_vector(state_vector)
        doc = self._doc
        diff = guarded(lambda: doc.get_update(state_vector), "invalid_state_vector")
        return None if diff == EMPTY_UPDATE else diff

    def local_awareness(self) -> bytes | None:
        """The awareness update of every state a local peer holds, or None if there is none."""
        owned = {client_id for state in self._peers.values() for client_id in state.owned}
        ids = [cid for cid in owned if (record := self._awareness.get(cid)) and record.state_json is not None]
        return self._encode_awareness(sorted(ids)) if ids else None

    def awareness_states(self) -> dict[int, dict[str, Any]]:
        """Current awareness states by client id (server-stamped)."""
        return {
            client_id: json.loads(record.state_json)
            for client_id, record in self._awareness.items()
            if record.state_json is not None
        }

    # ------------------------------------------------------------------ peers

    def add_peer(self, peer: Peer) -> None:
        """Register a connection and send it everyone's presence.

        The client starts the document sync itself (stock y-websocket sends step 1 on open).
        """
        self._ensure_open()
        if peer.peer_id in self._peers:
            raise ValueError(f"peer {peer.peer_id!r} already in room {self.doc_id!r}")
        state = _PeerState(peer)
        self._peers[peer.peer_id] = state
        self._send_all_awareness(state, even_if_empty=False)

    def remove_peer(self, peer: Peer) -> None:
        """Forget a connection and tell the others its awareness states are gone."""
        state = self._peers.pop(peer.peer_id, None)
        if state is None:
            return
        removed = []
        for client_id in state.owned:
            record = self._awareness.get(client_id)
            if record is not None and record.state_json is not None:
                record.clock += 1
                record.state_json = None
                removed.append(client_id)
        if removed:
            self._broadcast_awareness(removed, publish=True)

    # ------------------------------------------------------------------ incoming frames

    def receive(self, peer: Peer, data: bytes) -> None:
        """Handle one binary frame from ``peer``; replies go out through ``send``.

        Raises ProtocolError when the connection must close: 1007 malformed, 1009 too big or
        document full, 1008 when a read-only peer tries to write. On any error the document is
        unchanged and nothing was relayed or stored.
        """
        self._ensure_open()
        state = self._peers.get(peer.peer_id)
        if state is None:
            raise KeyError(f"peer {peer.peer_id!r} is not in room {self.doc_id!r}")
        message = decode_message(data, max_bytes=self.limits.max_message_bytes)
        if isinstance(message, SyncStep1):
            self._answer_step1(state, message.state_vector)
        elif isinstance(message, SyncStep2 | SyncUpdate):
            self._receive_update(state, message.update)
        elif isinstance(message, AwarenessMessage):
            self._receive_awareness(state, message.entries)
        elif isinstance(message, QueryAwareness):
            self._send_all_awareness(state, even_if_empty=True)
        elif isinstance(message, AuthMessage):
            pass  # the server authenticates at the handshake; nothing for a client to say here
        elif isinstance(message, Saved):
            raise ProtocolError(CloseCode.INVALID_PAYLOAD, "unexpected_message_type")

    def _answer_step1(self, state: _PeerState, state_vector: bytes) -> None:
        doc = self._doc
        diff = guarded(lambda: doc.get_update(state_vector), "invalid_state_vector")
        self._send(state, encode_sync_step2(diff))
        if state.peer.can_write:
            # Ask the client for what we lack. Read-only peers are not asked, so a viewer holding
            # stale offline edits is never invited to send them (and then closed for it).
            self._send(state, encode_sync_step1(doc.get_state()))

    def _receive_update(self, state: _PeerState, update: bytes) -> None:
        peer = state.peer
        state.receipts += 1
        if update != EMPTY_UPDATE:
            if not peer.can_write:
                log.warning(
                    "collab.write_denied doc=%s user=%s peer=%s bytes=%d",
                    self.doc_id,
                    peer.user_id,
                    peer.peer_id,
                    len(update),
                )
                raise ProtocolError(CloseCode.POLICY_VIOLATION, "read_only")
            try:
                self._apply(update, peer, check_size=True)
            except ProtocolError as exc:
                log.warning(
                    "collab.update_rejected doc=%s user=%s peer=%s reason=%s",
                    self.doc_id,
                    peer.user_id,
                    peer.peer_id,
                    exc.reason,
                )
                raise
        if peer.wants_saved:
            state.unsaved.append((state.receipts, self._last_index))
            self._ack_saved(state)

    # ------------------------------------------------------------------ server-side changes

    def apply_remote(self, update: bytes) -> None:
        """Apply a change another process stored and published; relay it to local peers only."""
        self._ensure_open()
        self._apply(update, ORIGIN_REMOTE, check_size=False)

    def apply_server_update(self, update: bytes) -> None:
        """Apply a v1 update produced by server code; relayed to every peer and stored."""
        self._ensure_open()
        self._apply(update, ORIGIN_SERVER, check_size=True)

    def replace_text(self, text: str) -> None:
        """Set the file's text from server code, editing only the span that differs.

        Keeping the common prefix and suffix preserves other users' cursors around the edit.
        """
        self._ensure_open()
        old = self.text
        text.encode("utf-8")  # lone surrogates raise here, before any change
        prefix = 0
        limit = min(len(old), len(text))
        while prefix < limit and old[prefix] == text[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[len(old) - 1 - suffix] == text[len(text) - 1 - suffix]:
            suffix += 1
        if prefix == len(old) == len(text):
            return
        # pycrdt indexes Y.Text by UTF-8 byte offset.
        start = len(old[:prefix].encode("utf-8"))
        removed = len(old[prefix : len(old) - suffix].encode("utf-8"))
        inserted = text[prefix : len(text) - suffix]

        def edit(doc: pycrdt.Doc[Any]) -> None:
            target = doc.get(TEXT_NAME, type=pycrdt.Text)
            with doc.transaction():
                if removed:
                    del target[start : start + removed]
                if inserted:
                    target.insert(start, inserted)

        self._check_size(len(inserted.encode("utf-8")), edit)
        self._captured.clear()
        edit(self._doc)
        self._size_estimate += sum(map(len, self._captured))
        self._commit_captured(ORIGIN_SERVER)

    # ------------------------------------------------------------------ durability

    def mark_durable(self, index: int) -> None:
        """Every change up to ``index`` is durable: tell opted-in peers which frames are saved."""
        if index <= self._durable_index:
            return
        self._durable_index = index
        for state in self._peers.values():
            if state.unsaved:
                self._ack_saved(state)

    def _ack_saved(self, state: _PeerState) -> None:
        receipt = 0
        while state.unsaved and state.unsaved[0][1] <= self._durable_index:
            receipt = state.unsaved.popleft()[0]
        if receipt > state.saved_sent:
            state.saved_sent = receipt
            self._send(state, encode_saved(receipt))

    # ------------------------------------------------------------------ applying updates

    def _apply(self, update: bytes, origin: _Source, *, check_size: bool) -> None:
        """The one path through which untrusted bytes reach the Doc.

        The update is fully decoded and bounded first (pure, no document involved), then applied;
        yrs decodes before integrating, so a rejected update leaves the document unchanged.
        """
        if update == EMPTY_UPDATE:
            return
        validate_update(update)
        if check_size:
            # A v1 update ends with its delete set; a final 0 byte is an empty one (only insertions).
            self._check_size(len(update), lambda doc: doc.apply_update(update), can_shrink=update[-1] != 0)
        doc = self._doc
        tag = origin if isinstance(origin, str) else f"peer:{origin.peer_id}"

        def apply() -> None:
            # The transaction origin lets any other observer of the Doc tell changes apart too.
            with doc.transaction(origin=tag):
                doc.apply_update(update)

        self._captured.clear()
        try:
            guarded(apply)
        except ProtocolError:
            self._captured.clear()
            raise
        self._size_estimate += len(update)
        self._commit_captured(origin)
        self._track_pending(update)

    def _track_pending(self, update: bytes) -> None:
        """Bound what yrs keeps aside for updates whose dependencies never arrived.

        yrs retries every pending struct and delete range on each later update, so a writer
        sending updates that reference missing ids could make every apply slower without limit.
        Past ``max_pending_bytes`` the document is rebuilt from its integrated state, which
        drops whatever is still pending (legitimate clients only leave pending parts briefly).
        """
        state_vector = self._doc.get_state()
        try:
            leftover = guarded(lambda: pycrdt.get_update(update, state_vector))
            pending = _leaves_pending(leftover, decode_state_vector(state_vector))
        except ProtocolError:
            pending = True  # cannot tell: count it, the change itself is already committed
        if not pending:
            return
        self._pending_bytes += len(update)
        if self._pending_bytes <= self.limits.max_pending_bytes:
            return
        log.warning(
            "collab.update_rejected doc=%s reason=pending_overflow bytes=%d",
            self.doc_id,
            self._pending_bytes,
        )
        rebuilt: pycrdt.Doc[Any] = pycrdt.Doc()
        rebuilt.apply_update(self._doc.get_update())
        self._doc.unobserve(self._subscription)
        self._attach(rebuilt)
        self._pending_bytes = 0

    def _commit_captured(self, origin: _Source) -> None:
        """Relay and emit what the transaction actually changed (nothing for a duplicate)."""
        captured, self._captured = self._captured, []
        sender = None if isinstance(origin, str) else origin.peer_id
        via = None
        sender_state = self._peers.get(sender) if sender is not None else None
        if sender_state is not None and sender_state.assistant_next and captured:
            sender_state.assistant_next = False
            via = "assistant"
        for change in captured:
            message = encode_sync_update(change)  # encoded once, the same bytes to everyone
            for state in self._peers.values():
                if state.peer.peer_id != sender:
                    self._send(state, message)
            if origin == ORIGIN_REMOTE:
                continue  # already stored and published by the process it came from
            self._last_index += 1
            if self._on_update is not None:
                stored: Origin = ORIGIN_SERVER if isinstance(origin, str) else origin
                try:
                    self._on_update(AppliedUpdate(self.doc_id, self._last_index, change, stored, via))
                except Exception:
                    # The change is applied and relayed; failing the sender would not undo it.
                    log.exception("update hook failed doc=%s index=%d", self.doc_id, self._last_index)

    def _capture(self, event: pycrdt.TransactionEvent) -> None:
        update = event.update
        if update != EMPTY_UPDATE:
            self._captured.append(update)
            self._size_exact = False

    def _check_size(self, growth: int, trial: Callable[[pycrdt.Doc[Any]], None], *, can_shrink: bool = True) -> None:
        """Refuse a change that would push the encoded document past ``max_doc_bytes``.

        Encoding a document near the limit takes milliseconds, so a writer at the limit could
        stall the event loop with every refused frame: the measured size is remembered until the
        document changes, and a change that cannot shrink it is refused without a trial.
        """
        limit = self.limits.max_doc_bytes
        if self._size_estimate + growth <= limit:
            return
        current: bytes | None = None
        if not self._size_exact:
            current = self._doc.get_update()
            self._size_estimate, self._size_exact = len(current), True
            if len(current) + growth <= limit:
                return
        if not can_shrink:
            raise ProtocolError(CloseCode.MESSAGE_TOO_BIG, "doc_too_large")
        # Near the limit: measure exactly on a scratch copy (deletions may well shrink it).
        if current is None:
            current = self._doc.get_update()
        scratch: pycrdt.Doc[Any] = pycrdt.Doc()
        scratch.apply_update(current)
        guarded(lambda: trial(scratch))
        if len(scratch.get_update()) > limit:
            raise ProtocolError(CloseCode.MESSAGE_TOO_BIG, "doc_too_large")

    # ------------------------------------------------------------------ awareness

    def _receive_awareness(self, state: _PeerState, entries: tuple[AwarenessEntry, ...]) -> None:
        """Apply the entries this peer may set; drop the rest.

        Stock y-websocket clients re-send every awareness change they see, including other
        clients' states and their own time-outs of them, so entries about ids the peer does not
        own are dropped silently rather than treated as an attack. Everything is validated
        before anything changes, so a bad entry leaves no half-applied message behind.
        """
        accepted: list[tuple[AwarenessEntry, str | None]] = []
        claims: set[int] = set()
        for entry in entries:
            client_id = entry.client_id
            if client_id not in state.owned and client_id not in claims:
                if not self._may_claim(state, entry, len(claims)):
                    continue
                claims.add(client_id)
            accepted.append((entry, self._stamp(state.peer, entry)))
        state.owned |= claims
        for entry, stamped in accepted:
            self._note_assistant(state, entry.client_id, stamped)
        changed = [e.client_id for e, stamped in accepted if self._set_awareness(state, e, stamped)]
        if changed:
            self._broadcast_awareness(list(dict.fromkeys(changed)), publish=True)

    def _note_assistant(self, state: _PeerState, client_id: int, stamped: str | None) -> None:
        """Expect an assistant edit when a peer's state gains an ``assistant`` range.

        The editor sets ``assistant`` on the user's awareness right before applying the
        assistant's edit (one transaction, so one update frame) and keeps it for a few seconds;
        only the change that follows its appearance is credited to the assistant, so typing
        while the marker is still shown stays the user's own.
        """
        new = _assistant_field(stamped)
        if new is None:
            state.assistant_next = False  # the marker is gone: no edit of the assistant is coming
            return
        record = self._awareness.get(client_id)
        if _assistant_field(record.state_json if record is not None else None) is None:
            state.assistant_next = True

    def apply_remote_awareness(self, update: bytes, now: float) -> None:
        """Take awareness states that peers on another process set (stamped there).

        A state a local peer holds always wins; an entry is taken only with a clock newer than
        the one known here. Accepted states are sent to local peers and not published again.
        ``now`` (monotonic seconds) starts the expiry of each state: see
        :meth:`expire_remote_awareness`. Malformed entries are skipped.
        """
        self._ensure_open()
        owned = {client_id for state in self._peers.values() for client_id in state.owned}
        changed: list[int] = []
        for entry in decode_awareness_update(update):
            client_id = entry.client_id
            record = self._awareness.get(client_id)
            if client_id in owned or (record is not None and entry.clock <= record.clock):
                continue
            try:
                if len(entry.state_json.encode("utf-8")) > self.limits.max_awareness_state_bytes:
                    continue
                parsed = parse_awareness_state(entry.state_json)
            except ProtocolError:
                continue
            user = parsed.get("user") if parsed is not None else None
            user_id = user.get("id") if isinstance(user, dict) and isinstance(user.get("id"), str) else None
            if record is None:
                if parsed is None:
                    continue
                self._remember(client_id, _AwarenessRecord(entry.clock, entry.state_json, user_id, now))
            else:
                record.clock = entry.clock
                record.state_json = None if parsed is None else entry.state_json
                record.user_id = user_id or record.user_id
                record.remote_seen = None if parsed is None else now
            changed.append(client_id)
        if changed:
            self._broadcast_awareness(changed, publish=False)

    def expire_remote_awareness(self, now: float, max_age: float) -> int:
        """Remove remote states not renewed for ``max_age`` seconds (their process may be gone).

        Clients renew their state every 15 s; a process that died cannot say its peers left, so
        this is what clears their cursors here. Returns how many states were removed.
        """
        expired = []
        for client_id, record in self._awareness.items():
            if record.remote_seen is not None and now - record.remote_seen >= max_age:
                record.remote_seen = None
                record.state_json = None
                record.clock += 1
                expired.append(client_id)
        if expired and not self.closed:
            self._broadcast_awareness(expired, publish=False)
        return len(expired)

    def _may_claim(self, state: _PeerState, entry: AwarenessEntry, claiming: int) -> bool:
        """May this peer introduce ``entry.client_id``? Only an id nobody else holds or held."""
        client_id = entry.client_id
        seen = state.seen.get(client_id)
        if entry.removed or (seen is not None and entry.clock <= seen):
            return False  # removing a state it does not own, or an echo of what we sent it
        if any(client_id in other.owned for other in self._peers.values()):
            log.debug(
                "awareness id held by another peer, dropped doc=%s peer=%s",
                self.doc_id,
                state.peer.peer_id,
            )
            return False
        record = self._awareness.get(client_id)
        if record is not None and record.user_id != state.peer.user_id:
            return False  # another user's former id
        if len(state.owned) + claiming >= self.limits.max_awareness_ids_per_peer:
            log.info(
                "awareness id limit reached doc=%s user=%s peer=%s",
                self.doc_id,
                state.peer.user_id,
                state.peer.peer_id,
            )
            return False
        return True

    def _stamp(self, peer: Peer, entry: AwarenessEntry) -> str | None:
        """Validate a state and overwrite its ``user`` with the server's identity of the peer."""
        if len(entry.state_json.encode("utf-8")) > self.limits.max_awareness_state_bytes:
            raise ProtocolError(CloseCode.MESSAGE_TOO_BIG, "awareness_too_large")
        parsed = parse_awareness_state(entry.state_json)
        if parsed is None:
            return None
        parsed["user"] = {"id": peer.user_id, "name": peer.user_name, "color": peer.user_color}
        return json.dumps(parsed, separators=(",", ":"))

    def _set_awareness(self, state: _PeerState, entry: AwarenessEntry, stamped: str | None) -> bool:
        """Store an owned entry; True if other clients need to hear about it."""
        client_id = entry.client_id
        record = self._awareness.get(client_id)
        if record is None:
            if stamped is None:
                return False
            # Clients ignore clock 0 for an id they have never seen (Yjs compares against 0),
            # and a fresh Yjs awareness starts at 0: announce it as 1 so it shows up at once.
            clock = max(entry.clock, 1)
            self._remember(client_id, _AwarenessRecord(clock, stamped, state.peer.user_id))
            return True
        if entry.clock <= record.clock and stamped == record.state_json:
            return False  # a repeat, e.g. the client adopting the clock we sent it
        # Clients accept a state only with a newer clock than the last one we sent them.
        record.clock = max(record.clock + 1, entry.clock)
        record.state_json = stamped
        record.user_id = state.peer.user_id
        record.remote_seen = None
        return True

    def _remember(self, client_id: int, record: _AwarenessRecord) -> None:
        self._awareness[client_id] = record
        if len(self._awareness) > self.limits.max_awareness_history:
            for old_id in list(self._awareness):
                old = self._awareness[old_id]
                if old.state_json is None:
                    del self._awareness[old_id]
                    break

    def _encode_awareness(self, client_ids: list[int]) -> bytes:
        entries = []
        for client_id in client_ids:
            record = self._awareness[client_id]
            entries.append(AwarenessEntry(client_id, record.clock, record.state_json or "null"))
        return encode_awareness_update(entries)

    def _send_all_awareness(self, state: _PeerState, *, even_if_empty: bool) -> None:
        ids = [cid for cid, record in self._awareness.items() if record.state_json is not None]
        if ids or even_if_empty:
            self._send(state, encode_awareness(self._encode_awareness(ids)))
        for client_id in ids:
            if client_id not in state.owned:
                state.seen[client_id] = self._awareness[client_id].clock

    def _broadcast_awareness(self, client_ids: list[int], *, publish: bool) -> None:
        """Send changed states to every peer, the sender included; ``publish``: to other processes too.

        Echoing to the sender matters: stock y-websocket clients reconnect when they hear
        nothing for 30 s, and their own 15 s presence renewal is what they expect to hear.
        """
        update = self._encode_awareness(client_ids)
        if publish and self._on_awareness is not None:
            try:
                self._on_awareness(self.doc_id, update)
            except Exception:
                log.exception("awareness hook failed doc=%s", self.doc_id)
        message = encode_awareness(update)
        clocks = [(cid, self._awareness[cid].clock) for cid in client_ids]
        for state in self._peers.values():
            for client_id, clock in clocks:
                if client_id not in state.owned:
                    state.seen[client_id] = clock
            self._send(state, message)

    # ------------------------------------------------------------------ plumbing

    def _send(self, state: _PeerState, data: bytes) -> None:
        try:
            state.peer.send(data)
        except Exception:
            # One broken connection must not stop delivery to the others; its own loop closes it.
            log.exception("send failed doc=%s peer=%s", self.doc_id, state.peer.peer_id)

    def _ensure_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"room {self.doc_id!r} is closed")

    def close(self) -> None:
        """Detach from the Doc; the manager calls this after the final flush."""
        if not self.closed:
            self.closed = True
            self._doc.unobserve(self._subscription)


def _assistant_field(state_json: str | None) -> object | None:
    """The non-null ``assistant`` field of a stamped awareness state, if any."""
    if state_json is None or '"assistant"' not in state_json:
        return None
    try:
        parsed = json.loads(state_json)
    except ValueError:
        return None
    return parsed.get("assistant") if isinstance(parsed, dict) else None


def _leaves_pending(leftover: bytes, state_vector: dict[int, int]) -> bool:
    """Does the part of an update the document did not absorb wait on something missing?

    ``leftover`` is the update minus everything the document's state vector covers: any struct
    left in it is pending; otherwise it is a delete set, pending where it reaches past what the
    document knows of a client.
    """
    reader = Reader(leftover)
    if reader.read_var_uint() != 0:
        return True
    for _ in range(reader.read_var_uint()):
        known = state_vector.get(reader.read_var_uint(), 0)
        for _ in range(reader.read_var_uint()):
            clock = reader.read_var_uint()
            if clock + reader.read_var_uint() > known:
                return True
    return False
