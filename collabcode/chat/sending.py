"""Group commit for sends: messages that arrive while a write is in flight share the next one.

Each writer task (one per lane of conversations, see :class:`SendQueue`) writes batches one
after another. A batch is one transaction of a fixed handful of statements whatever its size:
look up retried ``client_id``s, take the sequence numbers of every conversation involved (one
``UPDATE ... RETURNING``, which also refuses conversations with a block in them), insert the
messages and their code references, move the stream cursors, store the events. Every sender
waits for the commit of its own batch: ``sent`` still means "in the database". After the commit
the frames go out in cursor order, so sockets rarely see a gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from collabcode.chat import store
from collabcode.chat.store import CodeRef, Message
from collabcode.clock import Clock, now_ms
from collabcode.db import Database
from collabcode.errors import ServiceUnavailable
from collabcode.realtime.store import NewEvent, StoredEvent, append_events

log = logging.getLogger(__name__)

#: Most sends written in one transaction.
MAX_BATCH = 200
#: PostgreSQL's "try again" states (deadlock, serialization failure) retry the batch this often.
RETRIES = 3
_RETRY_STATES = frozenset({"40P01", "40001"})


@dataclass(eq=False)
class Outgoing:
    """One send waiting for its batch."""

    sender_id: str
    peer_id: str
    conversation_id: str
    client_id: str
    request_hash: str
    body: str
    message_id: str
    #: The events socket the send came from, and the ``ref`` it gave: that socket is answered
    #: through the durable stream (``message.sent`` with the event's cursor).
    origin: str | None = None
    ref: str | None = None
    #: The anchored code reference (its ``message_id`` is this send's), stored with the message.
    code_ref: CodeRef | None = None
    result: asyncio.Future[Written] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def key(self) -> tuple[str, str]:
        return (self.sender_id, self.client_id)


@dataclass(frozen=True, slots=True)
class Written:
    """What became of a send: stored now (with its two events), found stored before, or refused."""

    message: Message | None
    created: bool
    events: tuple[StoredEvent, ...] = ()
    blocked: bool = False


class _Collision(Exception):
    """Another process stored one of this batch's (sender, client_id) keys meanwhile: redo."""


Announce = Callable[[list[tuple[Outgoing, Written]]], Awaitable[None]]


@dataclass(eq=False)
class _Lane:
    """One writer's queue: the sends of the conversations it owns, in the order queued."""

    queue: list[Outgoing] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class SendQueue:
    """Sends waiting for a transaction, and the tasks that write and announce them.

    Conversations are spread over ``writers`` lanes (one on SQLite, which has a single writer
    anyway; two on PostgreSQL, so one commit's flush does not hold up the next). A lane writes
    its sends in the order queued, so the messages of a conversation get their ``seq`` in the
    order they were sent. One more task announces committed batches in commit order.
    """

    def __init__(self, db: Database, clock: Clock, announce: Announce, *, writers: int | None = None) -> None:
        self._db = db
        self._clock = clock
        self._announce = announce
        count = writers if writers is not None else (1 if db.dialect == "sqlite" else 2)
        self._lanes = [_Lane() for _ in range(max(1, count))]
        self._announcements: asyncio.Queue[list[tuple[Outgoing, Written]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.batches = 0
        self.sent = 0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(lane), name=f"chat-send-{i}") for i, lane in enumerate(self._lanes)
        ]
        self._tasks.append(asyncio.create_task(self._announce_forever(), name="chat-send-announce"))

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for lane in self._lanes:
            for item in lane.queue:
                if not item.result.done():
                    item.result.set_exception(ServiceUnavailable("The server is shutting down; try again."))
            lane.queue.clear()

    def enqueue(self, item: Outgoing) -> asyncio.Future[Written]:
        """Queue a send; its future resolves after the commit."""
        if not self._tasks or any(task.done() for task in self._tasks):
            raise ServiceUnavailable("The server is shutting down; try again.")
        lane = self._lanes[int(item.conversation_id[:8], 16) % len(self._lanes)]
        lane.queue.append(item)
        lane.wake.set()
        return item.result

    async def submit(self, item: Outgoing) -> Written:
        return await self.enqueue(item)

    async def _run(self, lane: _Lane) -> None:
        while True:
            while not lane.queue:
                lane.wake.clear()
                await lane.wake.wait()
            batch, lane.queue = lane.queue[:MAX_BATCH], lane.queue[MAX_BATCH:]
            try:
                results = await self._write(batch)
            except BaseException as exc:
                for item in batch:
                    if not item.result.done():
                        if isinstance(exc, Exception):
                            item.result.set_exception(exc)
                        else:
                            item.result.cancel()
                if not isinstance(exc, Exception):
                    raise
                log.warning("a batch of %d sends failed: %s", len(batch), type(exc).__name__)
                continue
            self.batches += 1
            for item, written in results:
                if not item.result.done():
                    item.result.set_result(written)
            self._announcements.put_nowait([(item, written) for item, written in results if written.created])

    async def _announce_forever(self) -> None:
        while True:
            written = await self._announcements.get()
            try:
                await self._announce(written)
            except Exception:
                log.exception("announcing %d sent messages failed", len(written))

    async def _write(self, batch: list[Outgoing]) -> list[tuple[Outgoing, Written]]:
        for attempt in range(RETRIES):
            try:
                return await self._write_once(batch)
            except _Collision:
                continue
            except Exception as exc:
                if getattr(exc, "sqlstate", None) in _RETRY_STATES and attempt + 1 < RETRIES:
                    continue
                raise
        return await self._write_once(batch)

    async def _write_once(self, batch: list[Outgoing]) -> list[tuple[Outgoing, Written]]:
        now = now_ms(self._clock)
        first: dict[tuple[str, str], Outgoing] = {}
        for item in batch:
            first.setdefault(item.key, item)
        written: dict[tuple[str, str], Written] = {}
        async with self._db.transaction("chat.send") as tx:
            existing = await store.messages_by_client_ids(tx, list(first))
            for key, message in existing.items():
                written[key] = Written(message, created=False)
            fresh = [item for key, item in first.items() if key not in existing]
            counts: dict[str, int] = {}
            for item in fresh:
                counts[item.conversation_id] = counts.get(item.conversation_id, 0) + 1
            last = await store.reserve_seqs(tx, counts, now)
            next_seq = {cid: last[cid] - counts[cid] + 1 for cid in last}
            messages: list[tuple[Outgoing, Message]] = []
            for item in fresh:
                if item.conversation_id not in next_seq:
                    written[item.key] = Written(None, created=False, blocked=True)
                    continue
                seq = next_seq[item.conversation_id]
                next_seq[item.conversation_id] = seq + 1
                message = Message(
                    item.message_id,
                    item.conversation_id,
                    seq,
                    item.sender_id,
                    item.client_id,
                    item.request_hash,
                    item.body,
                    now,
                    None,
                    None,
                )
                messages.append((item, message))
            stored = await store.insert_messages(tx, [m for _, m in messages])
            if len(stored) != len(messages):
                raise _Collision
            await store.insert_code_refs(
                tx, [replace(item.code_ref, message_id=m.id) for item, m in messages if item.code_ref is not None]
            )
            events = await append_events(
                tx,
                [
                    NewEvent(user_id, "message", item.conversation_id, message.id, item.sender_id)
                    for item, message in messages
                    for user_id in (item.sender_id, item.peer_id)
                ],
                now=now,
            )
        for index, (item, message) in enumerate(messages):
            written[item.key] = Written(message, created=True, events=(events[2 * index], events[2 * index + 1]))
        self.sent += len(messages)
        results: list[tuple[Outgoing, Written]] = []
        for item in batch:
            outcome = written[item.key]
            if first[item.key] is not item and outcome.created:
                outcome = Written(outcome.message, created=False)  # the same send twice in one batch
            results.append((item, outcome))
        return results
