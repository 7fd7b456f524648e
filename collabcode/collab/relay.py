"""Document changes between collabcode processes, over the broker.

Every document has a channel ``collab.<document id>``; each message is one byte of kind and a
body:

* ``0`` update: a v1 update this process applied and stores (or a sync answer);
* ``1`` awareness: an awareness update of this process's peers, already stamped by it;
* ``2`` sync request: the sender's instance id (one length byte, then ASCII) and a room's state
  vector; every process holding the room answers with the update the sender lacks (kind 0), its
  own peers' awareness (kind 1) and a sync reply addressed to the sender (kind 3);
* ``3`` sync reply: the addressee's instance id and the replying process's state vector; only
  the addressee answers, with the update the replier lacks (kind 0).
* ``4`` stored: 16-byte digests of updates (kind 0 bodies) the sender has just stored. A process
  keeps every update it receives until such a report names it, and stores it itself when none
  comes within a few seconds: the sender may have died between relaying and storing.

So one request makes the exchange go both ways, like a client's sync step 1 and step 2: a
state vector cannot tell whether the other side lacks deletions, so each side sends the other a
diff (diffs always carry the whole delete set) rather than comparing vectors.

The broker never hands a process its own messages back, and remote updates are applied with the
``remote`` origin (relayed to local peers, never published again), so nothing echoes. They are
stored by the process that made them; the receiver stores one itself only when no "stored"
report names it in time (custody, see ``RoomManager.sweep``), so a process killed between
relaying and storing loses nothing, at the price of rare duplicate rows (harmless for a CRDT).
The broker is lossy: a room asks for a sync after it loads and after every
broker outage (``RoomManager.resync``), which repairs whatever was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from enum import IntEnum
from typing import Final

from collabcode.collab.protocol import ProtocolError
from collabcode.collab.rooms import DIGEST_SIZE, RoomManager
from collabcode.pubsub import Bus, Subscription

__all__ = ["CHANNEL_PREFIX", "BusRelay", "RelayKind"]

log = logging.getLogger(__name__)

CHANNEL_PREFIX: Final = "collab."


class RelayKind(IntEnum):
    UPDATE = 0
    AWARENESS = 1
    SYNC_REQUEST = 2
    SYNC_REPLY = 3
    STORED = 4


class BusRelay:
    """Publishes a manager's changes in order from one task, and applies other processes' changes."""

    def __init__(self, bus: Bus, *, queue_size: int = 10_000) -> None:
        self._bus = bus
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queue_size = queue_size
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self.manager: RoomManager | None = None
        self.stats_counters = {"published": 0.0, "dropped": 0.0, "received": 0.0, "rejected": 0.0}

    # ------------------------------------------------------------------ RoomManager hooks (non-blocking)

    def publish_update(self, doc_id: str, update: bytes) -> None:
        self._enqueue(doc_id, RelayKind.UPDATE, update)

    def publish_stored(self, doc_id: str, digests: list[bytes]) -> None:
        self._enqueue(doc_id, RelayKind.STORED, b"".join(digests))

    def publish_awareness(self, doc_id: str, update: bytes) -> None:
        self._enqueue(doc_id, RelayKind.AWARENESS, update)

    def request_sync(self, doc_id: str, state_vector: bytes) -> None:
        self._enqueue(doc_id, RelayKind.SYNC_REQUEST, self._address(self._bus.instance_id) + state_vector)

    @staticmethod
    def _address(instance_id: str) -> bytes:
        name = instance_id.encode("ascii")
        return bytes((len(name),)) + name

    @staticmethod
    def _split_address(body: bytes) -> tuple[str, bytes]:
        if not body or len(body) < 1 + body[0]:
            raise ProtocolError(1007, "malformed_message")
        end = 1 + body[0]
        return body[1:end].decode("ascii", errors="replace"), body[end:]

    def _enqueue(self, doc_id: str, kind: RelayKind, body: bytes) -> None:
        if len(self._queue) >= self._queue_size:
            # The broker is lossy anyway; the resync after an outage repairs what is dropped here.
            self.stats_counters["dropped"] += 1
            return
        self._queue.append((CHANNEL_PREFIX + doc_id, bytes((kind,)) + body))
        self._drained.clear()
        self._wake.set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, manager: RoomManager) -> None:
        self.manager = manager
        self._task = asyncio.create_task(self._publish_forever(), name="collab-relay")
        self._subscription = await self._bus.psubscribe(CHANNEL_PREFIX + "*", self.handle)

    async def close(self) -> None:
        """Stop receiving; publish what is still queued (best effort), then stop."""
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), 2.0)
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                channel, payload = self._queue.popleft()
                try:
                    if await self._bus.publish(channel, payload):
                        self.stats_counters["published"] += 1
                    else:
                        self.stats_counters["dropped"] += 1
                except Exception:
                    self.stats_counters["dropped"] += 1
                    log.exception("collab relay publish failed on %s", channel)
            self._drained.set()

    # ------------------------------------------------------------------ incoming

    async def handle(self, channel: str, payload: bytes) -> None:
        """Apply one message from another process (the bus runs this in its dispatcher)."""
        manager = self.manager
        if manager is None or not channel.startswith(CHANNEL_PREFIX) or not payload:
            return
        self.stats_counters["received"] += 1
        doc_id = channel[len(CHANNEL_PREFIX) :]
        kind, body = payload[0], payload[1:]
        try:
            if kind == RelayKind.UPDATE:
                manager.apply_remote(doc_id, body)
            elif kind == RelayKind.AWARENESS:
                manager.apply_remote_awareness(doc_id, body)
            elif kind == RelayKind.SYNC_REQUEST:
                sender, state_vector = self._split_address(body)
                diff, awareness = manager.sync_answer(doc_id, state_vector)
                if diff is not None:
                    self.publish_update(doc_id, diff)
                if awareness is not None:
                    self.publish_awareness(doc_id, awareness)
                own = manager.state_vector(doc_id)
                if own is not None:
                    self._enqueue(doc_id, RelayKind.SYNC_REPLY, self._address(sender) + own)
            elif kind == RelayKind.STORED:
                if len(body) % DIGEST_SIZE:
                    raise ProtocolError(1007, "malformed_message")
                manager.confirm_stored(doc_id, (body[i : i + DIGEST_SIZE] for i in range(0, len(body), DIGEST_SIZE)))
            elif kind == RelayKind.SYNC_REPLY:
                addressee, state_vector = self._split_address(body)
                if addressee == self._bus.instance_id:
                    diff, _ = manager.sync_answer(doc_id, state_vector)
                    if diff is not None:
                        self.publish_update(doc_id, diff)
            else:
                self.stats_counters["rejected"] += 1
        except (ProtocolError, RuntimeError):
            # RuntimeError: the room closed between lookup and apply (shutdown).
            self.stats_counters["rejected"] += 1
            log.warning("collab relay rejected a message kind=%d doc=%s", kind, doc_id, exc_info=True)

    def stats(self) -> dict[str, float]:
        return {**self.stats_counters, "queued": float(len(self._queue))}
