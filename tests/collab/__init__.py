"""Test doubles for the collaboration core: peers, simulated Yjs clients, gated stores."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pycrdt

from collabcode.collab.protocol import (
    AwarenessMessage,
    MessageType,
    Saved,
    decode_message,
    encode_awareness,
    encode_sync_step1,
    encode_sync_update,
)
from collabcode.collab.room import Room
from collabcode.collab.store import MemoryDocumentStore


@dataclass(eq=False)
class FakePeer:
    """A connection that records what the room sends it."""

    peer_id: str
    user_id: str = "u-1"
    user_name: str = "Ada"
    user_color: str = "#123456"
    can_write: bool = True
    wants_saved: bool = False
    sent: list[bytes] = field(default_factory=list)

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def saved(self) -> list[int]:
        return [m.receipt for m in map(decode_message, self.sent) if isinstance(m, Saved)]

    def awareness(self) -> list[AwarenessMessage]:
        return [m for m in map(decode_message, self.sent) if isinstance(m, AwarenessMessage)]


class SimClient:
    """A pycrdt client behaving like stock y-websocket: it answers sync step 1, sends every
    local doc change, and re-sends every awareness change it sees (its own and others')."""

    def __init__(
        self,
        name: str,
        *,
        user_id: str | None = None,
        can_write: bool = True,
        wants_saved: bool = False,
    ) -> None:
        self.peer_id = f"conn-{name}"
        self.user_id = user_id or f"user-{name}"
        self.user_name = name
        self.user_color = "#00ff00"
        self.can_write = can_write
        self.wants_saved = wants_saved
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = self.doc.get("content", type=pycrdt.Text)
        self.awareness = pycrdt.Awareness(self.doc)
        self.inbox: list[bytes] = []  # server -> client
        self.outbox: list[bytes] = []  # client -> server
        self.saved: list[int] = []
        self._applying = False
        self.doc.observe(self._on_doc_update)
        self.awareness.observe(self._on_awareness)

    # Peer protocol
    def send(self, data: bytes) -> None:
        self.inbox.append(data)

    def connect(self) -> None:
        """What y-websocket does on open: sync step 1, then its own awareness state."""
        self.outbox.append(encode_sync_step1(self.doc.get_state()))
        own = self.awareness.encode_awareness_update([self.awareness.client_id])
        self.outbox.append(encode_awareness(own))

    def _on_doc_update(self, event: pycrdt.TransactionEvent) -> None:
        if not self._applying:
            self.outbox.append(encode_sync_update(event.update))

    def _on_awareness(self, topic: str, changes: tuple[dict[str, Any], Any]) -> None:
        if topic != "update":
            return
        delta = changes[0]
        ids = delta["added"] + delta["updated"] + delta["removed"]
        self.outbox.append(encode_awareness(self.awareness.encode_awareness_update(ids)))

    def process_inbox(self) -> None:
        inbox, self.inbox = self.inbox, []
        for message in inbox:
            kind = message[0]
            if kind == MessageType.SYNC:
                self._applying = True
                try:
                    reply = pycrdt.handle_sync_message(message[1:], self.doc)
                finally:
                    self._applying = False
                if reply is not None:
                    self.outbox.append(reply)
            elif kind == MessageType.AWARENESS:
                payload = pycrdt.read_message(message[1:])
                self.awareness.apply_awareness_update(payload, "remote")
            elif kind == MessageType.SAVED:
                decoded = decode_message(message)
                assert isinstance(decoded, Saved)
                self.saved.append(decoded.receipt)
            else:
                raise AssertionError(f"unexpected message type {kind}")


def pump(room: Room, *clients: SimClient, max_rounds: int = 50) -> int:
    """Deliver messages both ways until everyone is quiet; returns the rounds it took.

    Fails if the exchange never settles (an awareness or sync loop)."""
    for rounds in range(max_rounds):
        busy = False
        for client in clients:
            outbox, client.outbox = client.outbox, []
            for data in outbox:
                busy = True
                room.receive(client, data)
        for client in clients:
            if client.inbox:
                busy = True
                client.process_inbox()
        if not busy:
            return rounds
    raise AssertionError(f"messages still flowing after {max_rounds} rounds")


class GatedStore(MemoryDocumentStore):
    """A memory store whose loads and appends wait until the test opens a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.load_gate = asyncio.Event()
        self.load_gate.set()
        self.append_gate = asyncio.Event()
        self.append_gate.set()
        self.load_started = asyncio.Event()
        self.append_started = asyncio.Event()
        self.fail_appends = 0
        self.fail_loads = 0

    async def load_since(self, doc_id: str, after_seq: int) -> tuple[bytes | None, int]:
        self.load_started.set()
        await self.load_gate.wait()
        if self.fail_loads:
            self.fail_loads -= 1
            self.load_calls += 1
            raise OSError("database unavailable")
        return await super().load_since(doc_id, after_seq)

    async def append(self, doc_id: str, update: bytes) -> int:
        self.append_started.set()
        await self.append_gate.wait()
        if self.fail_appends:
            self.fail_appends -= 1
            raise OSError("database unavailable")
        return await super().append(doc_id, update)


def text_update(text: str, *, client_id: int | None = None) -> bytes:
    """A standalone v1 update inserting ``text`` into the ``content`` root."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


def text_of(update: bytes | None) -> str:
    """The ``content`` text of a stored document state (empty for None)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    if update:
        doc.apply_update(update)
    return str(doc.get("content", type=pycrdt.Text))
