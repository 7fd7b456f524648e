"""The rules of 1:1 messaging: who may see and do what, idempotent sends, receipts, discovery.

Never imports Starlette. Every method takes the caller's user id from the server-side identity;
a conversation the caller is not in is :class:`NotFound`, exactly like one that does not exist.
Changes commit first and are announced after: a sender is told ``sent`` only once the message
is in the database, and every durable frame carries the cursor of the event appended in the
same transaction (``collabcode.realtime.store``), so a client that missed a frame gets it on
reconnect. Delivery marks are recorded in small batches when a message frame has been written to
a recipient's socket (or the recipient fetched it), read marks when the recipient says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from collabcode.auth.events import ClientInfo, security_event
from collabcode.chat import phones, store
from collabcode.chat.code_refs import CodeRefs, Resolver, request_key
from collabcode.chat.schemas import CodeRefIn
from collabcode.chat.sending import Outgoing, SendQueue, Written
from collabcode.chat.store import CodeRef, Member, Message, Pair
from collabcode.chat.views import message_json, person_json, presence_json, read_frame, receipt_frame
from collabcode.clock import Clock, now_ms
from collabcode.db import Database
from collabcode.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from collabcode.ratelimit import Rate, RateLimiter
from collabcode.realtime.hub import EventsHub, Frame
from collabcode.realtime.presence import PresenceView, iso
from collabcode.realtime.store import NewEvent, StoredEvent, append_events, presence_prefs

log = logging.getLogger(__name__)

SERVICE_KEY = "chat"

#: Typing throttles of people who stopped typing are dropped at least this often (seconds).
TYPING_PRUNE_SECONDS = 30.0
#: Stream event kinds chat appends (and renders back into frames).
EVENT_KINDS = ("message", "message.updated", "receipt", "read", "conversation")


@dataclass(frozen=True, slots=True)
class ChatLimits:
    """Chat's limits and quotas (docs/chat.md)."""

    #: A sender may edit a message this long after sending it.
    edit_window_seconds: float = 15 * 60
    default_page: int = 50
    max_page: int = 100
    max_conversations: int = 200
    #: At most one typing frame per conversation per user this often (per process); clients
    #: hide the indicator ``typing_ttl`` seconds after the last one.
    typing_interval: float = 2.0
    typing_ttl: float = 5.0
    #: Phone numbers one user, and one address, may look up per day (a rolling 24 h).
    discovery_per_user_per_day: int = 1000
    discovery_per_ip_per_day: int = 3000
    #: Username searches: a burst, then one every ``search_per`` seconds.
    search_burst: int = 30
    search_per: float = 2.0
    max_search_results: int = 20
    #: How long delivery marks are gathered before they are written together.
    delivery_batch_seconds: float = 0.02


def new_id() -> str:
    return uuid.uuid4().hex


def _request_hash(conversation_id: str, body: str, code_ref: CodeRefIn | None = None) -> str:
    """A send without a code reference hashes as before references existed."""
    ref = request_key(code_ref)
    return hashlib.sha256(f"{conversation_id}\n{body}{chr(10) + ref if ref else ''}".encode()).hexdigest()


def blocked_error() -> Forbidden:
    return Forbidden("A block stands between you and this person.", code="blocked")


@dataclass(frozen=True, slots=True)
class Sent:
    """The answer to a send: the message as its sender sees it, and whether this call stored it."""

    message: dict[str, Any]
    created: bool


class ChatService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        hub: EventsHub,
        limiter: RateLimiter,
        hash_key: str,
        limits: ChatLimits | None = None,
        code_refs: CodeRefs | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.hub = hub
        self.limiter = limiter
        self.limits = limits or ChatLimits()
        self._hash_key = hash_key
        self._pairs: OrderedDict[str, Pair] = OrderedDict()
        self._typing: dict[tuple[str, str], float] = {}
        self._typing_pruned_at = clock.monotonic()
        self._delivered: dict[tuple[str, str], int] = {}
        self._delivery_wake = asyncio.Event()
        self._delivery_task: asyncio.Task[None] | None = None
        self._sends = SendQueue(db, clock, self._announce_sent)
        self.code_refs = code_refs or CodeRefs(db, None, limiter)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._sends.start()
        self._delivery_task = asyncio.create_task(self._delivery_loop(), name="chat-delivery")

    def stats(self) -> dict[str, float]:
        """Counters for /metrics: messages stored since start, and typing throttles held (expired
        ones dropped first: 0 once nobody typed for ``typing_interval``)."""
        self._prune_typing(self.clock.monotonic())
        return {"messages_sent_total": float(self._sends.sent), "typing_entries": float(len(self._typing))}

    async def close(self) -> None:
        await self._sends.close()
        task, self._delivery_task = self._delivery_task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        if self._delivered:
            try:
                await self._record_delivered(self._take_delivered())
            except Exception:
                log.warning("delivery marks not recorded at shutdown", exc_info=True)

    def _now(self) -> int:
        return now_ms(self.clock)

    # -- access ----------------------------------------------------------------------------------

    async def _pair(self, user_id: str, conversation_id: str, action: str = "read") -> Pair:
        """The conversation's two members; 404 unless ``user_id`` is one of them."""
        pair = self._pairs.get(conversation_id)
        if pair is None:
            pair = await store.pair_of(self.db, conversation_id)
            if pair is None:
                raise NotFound()
            self._pairs[conversation_id] = pair
            if len(self._pairs) > 100_000:
                self._pairs.popitem(last=False)
        if not pair.has(user_id):
            security_event(
                "authz.denied",
                "conversation access denied",
                level=logging.WARNING,
                user_id=user_id,
                resource="conversation",
                action=action,
            )
            raise NotFound()
        return pair

    async def _receipts_visible(self, user_a: str, user_b: str) -> bool:
        settings = await store.settings_of(self.db, [user_a, user_b])
        return settings[user_a].read_receipts and settings[user_b].read_receipts

    # -- conversations -----------------------------------------------------------------------------

    async def list_conversations(self, user_id: str) -> tuple[list[dict[str, Any]], int]:
        """The user's conversations (newest first) and the stream cursor read before them."""
        cursor = await self.hub.current_cursor(user_id)
        rows = await store.conversation_rows(self.db, user_id, limit=self.limits.max_conversations)
        return await self._summaries(user_id, rows), cursor

    async def get_conversation(self, user_id: str, conversation_id: str) -> dict[str, Any]:
        await self._pair(user_id, conversation_id)
        row = await store.conversation_row(self.db, user_id, conversation_id)
        if row is None:
            raise NotFound()
        return (await self._summaries(user_id, [row]))[0]

    async def _summaries(self, user_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return []
        peer_ids = [str(row["peer_id"]) for row in rows]
        settings = await store.settings_of(self.db, [user_id, *peer_ids])
        mine, theirs = await store.block_relations(self.db, user_id)
        views = await self.hub.presence.views(peer_ids)
        lasts = [m for m in (store.last_message_of(row) for row in rows) if m is not None]
        refs = await self._ref_views(user_id, lasts)
        out: list[dict[str, Any]] = []
        for row in rows:
            peer_id = str(row["peer_id"])
            visible = settings[user_id].read_receipts and settings[peer_id].read_receipts
            peer = Member(str(row["id"]), peer_id, user_id, int(row["peer_delivered_seq"]), int(row["peer_read_seq"]))
            last = store.last_message_of(row)
            hidden = peer_id in mine or peer_id in theirs
            if last is not None and last.sender_id == peer_id and last.deleted_at is None:
                # The list shows the other person's last message: it has reached this person.
                self.note_delivered(user_id, str(row["id"]), last.seq)
            out.append(
                {
                    "id": str(row["id"]),
                    "peer": person_json(
                        {
                            "id": peer_id,
                            "username": row["peer_username"],
                            "display_name": row["peer_display_name"],
                            "avatar_color": row["peer_avatar_color"],
                        }
                    ),
                    "created_at": _iso(row["created_at"]),
                    "updated_at": _iso(row["updated_at"]),
                    "last_seq": int(row["last_seq"]),
                    "last_message": None
                    if last is None
                    else message_json(last, user_id, peer, visible, refs.get(last.id)),
                    "unread_count": int(row["unread_count"]),
                    "read_seq": int(row["read_seq"]),
                    "peer_delivered_seq": peer.delivered_seq,
                    "peer_read_seq": peer.read_seq if visible else None,
                    "presence": None if hidden else presence_json(views.get(peer_id)),
                    "blocked": peer_id in mine,
                }
            )
        return out

    async def open_conversation(self, user_id: str, username: str) -> tuple[dict[str, Any], bool]:
        """The conversation with ``username`` (created on first use); True when this call made it."""
        row = await store.user_by_username(self.db, username)
        if row is None or int(row["disabled"]) == 1:
            raise NotFound()
        peer_id = str(row["id"])
        if peer_id == user_id:
            raise ValidationFailed(
                "username: you cannot open a conversation with yourself",
                code="cannot_message_self",
                details={"field": "username", "rule": "self"},
            )
        if await store.blocked_between(self.db, user_id, peer_id):
            raise blocked_error()
        user_a, user_b = sorted((user_id, peer_id))
        conversation_id = await store.conversation_for_pair(self.db, user_a, user_b)
        created = False
        if conversation_id is None:
            now = self._now()
            candidate = new_id()
            async with self.db.transaction("chat.open") as tx:
                created = await store.insert_conversation(
                    tx, conversation_id=candidate, user_a=user_a, user_b=user_b, created_by=user_id, now=now
                )
                events = (
                    await append_events(tx, [NewEvent(user_id, "conversation", candidate, None, user_id)], now=now)
                    if created
                    else []
                )
            conversation_id = candidate if created else await store.conversation_for_pair(self.db, user_a, user_b)
            if conversation_id is None:  # pragma: no cover - the winner's row is committed
                raise NotFound()
            summary = await self.get_conversation(user_id, conversation_id)
            for event in events:
                await self.hub.send_to_user(
                    user_id, {"type": "conversation", "cursor": event.cursor, "conversation": summary}
                )
            return summary, created
        return await self.get_conversation(user_id, conversation_id), created

    # -- messages --------------------------------------------------------------------------------

    async def list_messages(
        self, user_id: str, conversation_id: str, *, before: int | None, after: int | None, limit: int | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of messages in seq order, and whether there are more in the paging direction."""
        pair = await self._pair(user_id, conversation_id)
        size = min(max(limit or self.limits.default_page, 1), self.limits.max_page)
        messages = await store.page(self.db, conversation_id, before=before, after=after, limit=size + 1)
        more = len(messages) > size
        messages = messages[:size] if after is not None else messages[-size:]
        peer_id = pair.peer_of(user_id)
        peers = await store.members(self.db, [conversation_id])
        visible = await self._receipts_visible(user_id, peer_id)
        peer = peers.get((conversation_id, peer_id))
        received = [m.seq for m in messages if m.sender_id != user_id]
        if received:
            self.note_delivered(user_id, conversation_id, max(received))
        refs = await self._ref_views(user_id, messages)
        return [message_json(m, user_id, peer, visible, refs.get(m.id)) for m in messages], more

    async def send_message(
        self,
        user_id: str,
        conversation_id: str,
        body: str,
        client_id: str,
        *,
        origin: str | None = None,
        ref: str | None = None,
        code_ref: CodeRefIn | None = None,
    ) -> Sent:
        """Store a message (idempotent on ``client_id``), then announce it to both people.

        A send from an events socket (``origin``) that stores a new message is answered on that
        socket by ``message.sent`` carrying the event's cursor, in place of the ``message``
        frame the user's other sockets get.
        """
        return await (
            await self.start_send(user_id, conversation_id, body, client_id, origin=origin, ref=ref, code_ref=code_ref)
        )

    async def start_send(
        self,
        user_id: str,
        conversation_id: str,
        body: str,
        client_id: str,
        *,
        origin: str | None = None,
        ref: str | None = None,
        code_ref: CodeRefIn | None = None,
    ) -> Awaitable[Sent]:
        """Check access and queue the send (sends are stored in the order queued); the returned
        awaitable gives the answer once it is committed. A ``code_ref`` is checked against the
        sender's access and anchored now, before the send is queued (a retry of a stored send is
        answered from the store, even if the sender has lost access to the file since)."""
        pair = await self._pair(user_id, conversation_id, "post")
        peer_id = pair.peer_of(user_id)
        request_hash = _request_hash(conversation_id, body, code_ref)
        anchored = None
        if code_ref is not None and not await store.messages_by_client_ids(self.db, [(user_id, client_id)]):
            # A retry of a stored send is answered from the store (the hash covers the reference).
            anchored = await self.code_refs.make(user_id, code_ref)
        item = Outgoing(
            user_id, peer_id, conversation_id, client_id, request_hash, body, new_id(), origin, ref, anchored
        )
        return self._sent(item, self._sends.enqueue(item))

    async def _sent(self, item: Outgoing, result: Awaitable[Written]) -> Sent:
        written = await result
        if written.blocked:
            raise blocked_error()
        message = written.message
        assert message is not None
        if written.created:
            created = await self._ref_views(item.sender_id, [message], known=_known(item, message))
            return Sent(message_json(message, item.sender_id, None, False, created.get(message.id)), True)
        if message.conversation_id != item.conversation_id or message.request_hash != item.request_hash:
            raise Conflict(
                "This client_id was already used for a different message.",
                code="client_id_reused",
                details={"field": "client_id", "rule": "reused"},
            )
        cid, peer_id = item.conversation_id, item.peer_id
        peer = (await store.members(self.db, [cid])).get((cid, peer_id))
        visible = await self._receipts_visible(item.sender_id, peer_id)
        refs = await self._ref_views(item.sender_id, [message])
        return Sent(message_json(message, item.sender_id, peer, visible, refs.get(message.id)), False)

    async def _announce_sent(self, written: list[tuple[Outgoing, Written]]) -> None:
        """After a batch commits: each new message to both people, in cursor order (each sees
        the message's code reference as their own access allows)."""
        resolver = self.code_refs.resolver()
        for item, outcome in written:
            message = outcome.message
            assert message is not None
            for event in outcome.events:
                refs = await self._ref_views(event.user_id, [message], known=_known(item, message), resolver=resolver)
                view = message_json(message, event.user_id, None, False, refs.get(message.id))
                frame = {
                    "type": "message",
                    "cursor": event.cursor,
                    "conversation_id": item.conversation_id,
                    "message": view,
                }
                instead = None
                if item.origin is not None and event.user_id == item.sender_id:
                    ack = {"type": "message.sent", "cursor": event.cursor, "ref": item.ref}
                    instead = {item.origin: {**ack, "client_id": item.client_id, "created": True, "message": view}}
                await self.hub.send_to_user(event.user_id, frame, instead=instead)

    async def _own_message(
        self, user_id: str, conversation_id: str, message_id: str, action: str
    ) -> tuple[Pair, Message]:
        pair = await self._pair(user_id, conversation_id, action)
        message = await store.message_in(self.db, conversation_id, message_id)
        if message is None:
            raise NotFound()
        if message.sender_id != user_id:
            raise Forbidden("Only the sender can change a message.", code="not_sender")
        return pair, message

    async def edit_message(self, user_id: str, conversation_id: str, message_id: str, body: str) -> dict[str, Any]:
        pair, message = await self._own_message(user_id, conversation_id, message_id, "edit")
        if message.deleted_at is not None:
            raise Conflict("This message was deleted.", code="message_deleted")
        now = self._now()
        if now - message.created_at > self.limits.edit_window_seconds * 1000:
            raise Forbidden("Messages can be edited only in the first 15 minutes.", code="edit_window_closed")
        peer_id = pair.peer_of(user_id)
        if await store.blocked_between(self.db, user_id, peer_id):
            raise blocked_error()
        if message.body == body:
            return await self._message_view(user_id, pair, message)
        async with self.db.transaction("chat.edit") as tx:
            if not await store.edit_message(tx, message_id, body, now):
                raise Conflict("This message was deleted.", code="message_deleted")
            events = await append_events(tx, self._both(pair, "message.updated", message_id, user_id), now=now)
        updated = replace(message, body=body, edited_at=now)
        return await self._announce_update(user_id, pair, updated, events)

    async def delete_message(self, user_id: str, conversation_id: str, message_id: str) -> dict[str, Any]:
        """Delete for everyone: a stub (``deleted``, empty body) stays in its place. Idempotent."""
        pair, message = await self._own_message(user_id, conversation_id, message_id, "delete")
        if message.deleted_at is not None:
            return await self._message_view(user_id, pair, message)
        now = self._now()
        async with self.db.transaction("chat.delete") as tx:
            deleted = await store.delete_message(tx, message_id, now)
            events = (
                await append_events(tx, self._both(pair, "message.updated", message_id, user_id), now=now)
                if deleted
                else []
            )
        stub = replace(message, body="", deleted_at=message.deleted_at or now)
        if not events:
            return await self._message_view(user_id, pair, stub)
        return await self._announce_update(user_id, pair, stub, events)

    @staticmethod
    def _both(pair: Pair, kind: str, item_id: str | None, actor_id: str) -> list[NewEvent]:
        return [
            NewEvent(pair.user_a, kind, pair.conversation_id, item_id, actor_id),
            NewEvent(pair.user_b, kind, pair.conversation_id, item_id, actor_id),
        ]

    async def _message_view(self, user_id: str, pair: Pair, message: Message) -> dict[str, Any]:
        peer_id = pair.peer_of(user_id)
        peer = (await store.members(self.db, [pair.conversation_id])).get((pair.conversation_id, peer_id))
        refs = await self._ref_views(user_id, [message])
        visible = await self._receipts_visible(user_id, peer_id)
        return message_json(message, user_id, peer, visible, refs.get(message.id))

    async def _ref_views(
        self,
        viewer_id: str,
        messages: Sequence[Message],
        *,
        known: dict[str, CodeRef] | None = None,
        resolver: Resolver | None = None,
    ) -> dict[str, dict[str, Any]]:
        """``code_ref`` of each of ``messages`` that has one, for ``viewer_id`` (deleted ones have none).

        ``known`` saves the read when the references are at hand (a message just stored).
        """
        live = [m.id for m in messages if m.deleted_at is None]
        if not live:
            return {}
        refs = known if known is not None else await store.code_refs_of(self.db, live)
        if not refs:
            return {}
        return await (resolver or self.code_refs.resolver()).views(viewer_id, refs)

    async def _announce_update(
        self, user_id: str, pair: Pair, message: Message, events: list[StoredEvent]
    ) -> dict[str, Any]:
        members = await store.members(self.db, [pair.conversation_id])
        visible = await self._receipts_visible(pair.user_a, pair.user_b)
        stored = {} if message.deleted_at is not None else await store.code_refs_of(self.db, [message.id])
        resolver = self.code_refs.resolver()
        answer: dict[str, Any] = {}
        for event in events:
            viewer = event.user_id
            peer = members.get((pair.conversation_id, pair.peer_of(viewer)))
            refs = await self._ref_views(viewer, [message], known=stored, resolver=resolver)
            view = message_json(message, viewer, peer, visible, refs.get(message.id))
            if viewer == user_id:
                answer = view
            await self.hub.send_to_user(
                viewer,
                {
                    "type": "message.updated",
                    "cursor": event.cursor,
                    "conversation_id": pair.conversation_id,
                    "message": view,
                },
            )
        return answer

    # -- receipts --------------------------------------------------------------------------------

    async def mark_read(self, user_id: str, conversation_id: str, message_id: str) -> dict[str, Any]:
        """Everything up to ``message_id`` is read (marks never go back)."""
        pair = await self._pair(user_id, conversation_id, "mark_read")
        message = await store.message_in(self.db, conversation_id, message_id)
        if message is None:
            raise NotFound()
        peer_id = pair.peer_of(user_id)
        visible = await self._receipts_visible(user_id, peer_id)
        now = self._now()
        events: list[StoredEvent] = []
        async with self.db.transaction("chat.read") as tx:
            before = (await store.members(tx, [conversation_id])).get((conversation_id, user_id))
            member = await store.advance_read(tx, conversation_id, user_id, message.seq)
            if member is not None:
                wanted = [NewEvent(user_id, "read", conversation_id, None, user_id)]
                if visible or (before is not None and before.delivered_seq < member.delivered_seq):
                    wanted.append(NewEvent(peer_id, "receipt", conversation_id, None, user_id))
                events = await append_events(tx, wanted, now=now)
        unread = await store.unread_count(self.db, conversation_id, user_id)
        if member is None:
            current = (await store.members(self.db, [conversation_id]))[(conversation_id, user_id)]
            return {"conversation_id": conversation_id, "read_seq": current.read_seq, "unread_count": unread}
        for event in events:
            if event.kind == "read":
                await self.hub.send_to_user(user_id, read_frame(event.cursor, member, unread))
            else:
                await self.hub.send_to_user(peer_id, receipt_frame(event.cursor, member, visible))
        return {"conversation_id": conversation_id, "read_seq": member.read_seq, "unread_count": unread}

    def note_delivered(self, user_id: str, conversation_id: str, seq: int) -> None:
        """``user_id`` has received every message of the conversation up to ``seq`` (recorded soon)."""
        key = (conversation_id, user_id)
        if self._delivered.get(key, 0) < seq:
            self._delivered[key] = seq
            self._delivery_wake.set()

    def on_frame_written(self, user_id: str, frame: Frame) -> None:
        """Hub hook: a ``message`` frame went out on one of ``user_id``'s sockets."""
        message = frame.get("message")
        if not isinstance(message, dict) or message.get("sender_id") == user_id:
            return
        seq, conversation_id = message.get("seq"), frame.get("conversation_id")
        if isinstance(seq, int) and isinstance(conversation_id, str) and message.get("deleted") is False:
            self.note_delivered(user_id, conversation_id, seq)

    def _take_delivered(self) -> dict[tuple[str, str], int]:
        batch, self._delivered = self._delivered, {}
        self._delivery_wake.clear()
        return batch

    async def _delivery_loop(self) -> None:
        while True:
            await self._delivery_wake.wait()
            await asyncio.sleep(self.limits.delivery_batch_seconds)
            batch = self._take_delivered()
            try:
                await self._record_delivered(batch)
            except Exception:
                log.warning("delivery marks not recorded (%d conversations)", len(batch), exc_info=True)

    async def _record_delivered(self, marks: dict[tuple[str, str], int]) -> None:
        keys = sorted(marks)
        for start in range(0, len(keys), 500):
            await self._record_delivered_chunk({key: marks[key] for key in keys[start : start + 500]})

    async def _record_delivered_chunk(self, batch: dict[tuple[str, str], int]) -> None:
        now = self._now()
        async with self.db.transaction("chat.delivered") as tx:
            changed = await store.advance_delivered_many(tx, batch)
            events = await append_events(
                tx, [NewEvent(m.peer_id, "receipt", m.conversation_id, None, m.user_id) for m in changed], now=now
            )
        if not changed:
            return
        settings = await store.settings_of(self.db, [u for m in changed for u in (m.user_id, m.peer_id)])
        for member, event in zip(changed, events, strict=True):
            visible = settings[member.user_id].read_receipts and settings[member.peer_id].read_receipts
            await self.hub.send_to_user(member.peer_id, receipt_frame(event.cursor, member, visible))

    # -- typing ----------------------------------------------------------------------------------

    def _prune_typing(self, now: float) -> None:
        """Forget throttle times older than ``typing_interval`` (they no longer throttle anything)."""
        self._typing_pruned_at = now
        cutoff = now - self.limits.typing_interval
        self._typing = {k: t for k, t in self._typing.items() if t > cutoff}

    async def typing(self, user_id: str, conversation_id: str, active: bool) -> None:
        """Forward a typing hint to the other person (throttled, never stored)."""
        pair = await self._pair(user_id, conversation_id, "typing")
        key = (user_id, conversation_id)
        now = self.clock.monotonic()
        if active:
            last = self._typing.get(key)
            if last is not None and now - last < self.limits.typing_interval:
                return
            self._typing[key] = now
            if len(self._typing) > 100_000 or now - self._typing_pruned_at >= TYPING_PRUNE_SECONDS:
                self._prune_typing(now)
        else:
            self._typing.pop(key, None)
        peer_id = pair.peer_of(user_id)
        if await store.blocked_between(self.db, user_id, peer_id):
            return
        await self.hub.send_to_user(
            peer_id,
            {
                "type": "typing",
                "conversation_id": conversation_id,
                "user_id": user_id,
                "expires_in": self.limits.typing_ttl if active else 0,
            },
        )

    # -- replay ----------------------------------------------------------------------------------

    async def render(self, viewer_id: str, events: list[StoredEvent]) -> dict[int, Frame]:
        """Frames for stored events, from the current state (a deleted message replays as a stub)."""
        latest: dict[tuple[str, str | None], StoredEvent] = {}
        for event in events:
            if event.kind in ("receipt", "read"):
                latest[(event.kind, event.topic_id)] = event
        wanted = [e for e in events if e.kind not in ("receipt", "read") or latest[(e.kind, e.topic_id)] is e]
        conversation_ids = [e.topic_id for e in wanted if e.topic_id]
        messages = await store.messages_by_ids(self.db, [e.item_id for e in wanted if e.item_id])
        stored = await store.code_refs_of(self.db, [m.id for m in messages.values() if m.deleted_at is None])
        resolver = self.code_refs.resolver()
        members = await store.members(self.db, conversation_ids)
        people = {m.user_id for m in members.values()}
        settings = await store.settings_of(self.db, sorted(people | {viewer_id}))
        frames: dict[int, Frame] = {}
        for event in wanted:
            cid = event.topic_id
            if cid is None:
                continue
            mine = members.get((cid, viewer_id))
            if mine is None:
                continue
            peer = members.get((cid, mine.peer_id))
            visible = settings[viewer_id].read_receipts and settings[mine.peer_id].read_receipts
            if event.kind in ("message", "message.updated"):
                message = messages.get(event.item_id or "")
                if message is None:
                    continue
                known = {message.id: stored[message.id]} if message.id in stored else {}
                refs = await self._ref_views(viewer_id, [message], known=known, resolver=resolver)
                frames[event.cursor] = {
                    "type": event.kind,
                    "cursor": event.cursor,
                    "conversation_id": cid,
                    "message": message_json(message, viewer_id, peer, visible, refs.get(message.id)),
                }
            elif event.kind == "receipt" and peer is not None:
                frames[event.cursor] = receipt_frame(event.cursor, peer, visible)
            elif event.kind == "read":
                frames[event.cursor] = read_frame(event.cursor, mine, await store.unread_count(self.db, cid, viewer_id))
            elif event.kind == "conversation":
                try:
                    summary = await self.get_conversation(viewer_id, cid)
                except NotFound:
                    continue
                frames[event.cursor] = {"type": "conversation", "cursor": event.cursor, "conversation": summary}
        return frames

    # -- presence audience -----------------------------------------------------------------------

    async def audience(self, user_id: str) -> set[str]:
        """Chat's part of ``presence_audience``: everyone who shares a conversation with the user."""
        return await store.peers_of(self.db, user_id)

    async def without_blocked(self, user_id: str, audience: set[str]) -> set[str]:
        """Nobody on either side of a block sees the other's presence."""
        mine, theirs = await store.block_relations(self.db, user_id)
        return audience - mine - theirs

    # -- blocks ----------------------------------------------------------------------------------

    async def _person(self, username: str) -> dict[str, Any]:
        row = await store.user_by_username(self.db, username)
        if row is None or int(row["disabled"]) == 1:
            raise NotFound()
        return row

    async def block(self, user_id: str, username: str) -> None:
        row = await self._person(username)
        other = str(row["id"])
        if other == user_id:
            raise ValidationFailed(
                "username: you cannot block yourself",
                code="cannot_block_self",
                details={"field": "username", "rule": "self"},
            )
        if await store.block(self.db, user_id, other, self._now()):
            await self._hide_presence(user_id, other)

    async def unblock(self, user_id: str, username: str) -> None:
        row = await self._person(username)
        other = str(row["id"])
        if await store.unblock(self.db, user_id, other):
            for viewer, subject in ((user_id, other), (other, user_id)):
                if viewer in await self.hub.presence.presence_audience(subject):
                    view = (await self.hub.presence.views([subject]))[subject]
                    await self.hub.send_to_user(viewer, {"type": "presence", **view.as_frame_fields()})

    async def _hide_presence(self, user_a: str, user_b: str) -> None:
        """After a block each side is shown the other as offline, with no last-seen time."""
        for viewer, subject in ((user_a, user_b), (user_b, user_a)):
            hidden = PresenceView(subject, "offline", None)
            await self.hub.send_to_user(viewer, {"type": "presence", **hidden.as_frame_fields()})

    async def list_blocks(self, user_id: str) -> list[dict[str, Any]]:
        rows = await store.blocked_by_me(self.db, user_id)
        return [{**person_json(row), "blocked_at": _iso(row["blocked_at"])} for row in rows]

    # -- people ----------------------------------------------------------------------------------

    async def search_users(self, user_id: str, prefix: str) -> list[dict[str, Any]]:
        decision = await self.limiter.hit(
            "user_search", user_id, Rate(burst=self.limits.search_burst, per=self.limits.search_per)
        )
        if not decision.allowed:
            raise RateLimited(decision.retry_after)
        rows = await store.search_users(self.db, prefix, exclude=user_id, limit=self.limits.max_search_results)
        return [person_json(row) for row in rows]

    async def discover(
        self, user_id: str, numbers: Sequence[str], region: str | None, client: ClientInfo
    ) -> list[dict[str, Any]]:
        """Opted-in, verified people among ``numbers``; each number counts against daily quotas."""
        normalized: dict[str, str] = {}
        for index, text in enumerate(numbers):
            try:
                e164 = phones.normalize(text, region)
            except phones.InvalidPhoneNumber as exc:
                raise ValidationFailed(
                    f"phone_numbers.{index}: {exc.message}",
                    details={"field": f"phone_numbers.{index}", "rule": exc.rule},
                ) from None
            normalized.setdefault(phones.phone_hash(self._hash_key, e164), e164)
        cost = len(normalized)
        limits = self.limits
        for bucket, key, per_day in (
            ("discovery_user", user_id, limits.discovery_per_user_per_day),
            ("discovery_ip", client.ip, limits.discovery_per_ip_per_day),
        ):
            decision = await self.limiter.hit(bucket, key, Rate(burst=per_day, per=86400 / per_day), cost=cost)
            if not decision.allowed:
                security_event(
                    "discovery.quota_exceeded",
                    "phone discovery quota used up",
                    client=client,
                    level=logging.WARNING,
                    user_id=user_id,
                    bucket=bucket,
                    requested=cost,
                )
                raise RateLimited(decision.retry_after, "The daily lookup quota is used up; try again later.")
        rows = await store.discoverable_by_hashes(self.db, sorted(normalized), exclude=user_id)
        return [{"phone_number": normalized[str(row["phone_hash"])], "user": person_json(row)} for row in rows]

    # -- privacy settings ------------------------------------------------------------------------

    async def privacy(self, user_id: str) -> dict[str, Any]:
        settings = (await store.settings_of(self.db, [user_id]))[user_id]
        prefs = await self._presence_prefs(user_id)
        return {
            "phone_number_hint": settings.phone_hint,
            "discoverable": settings.discoverable,
            "read_receipts": settings.read_receipts,
            "invisible": prefs,
        }

    async def _presence_prefs(self, user_id: str) -> bool:
        prefs = (await presence_prefs(self.db, [user_id])).get(user_id)
        return bool(prefs and prefs.invisible)

    async def update_privacy(self, user_id: str, changes: dict[str, Any], region: str | None) -> dict[str, Any]:
        current = (await store.settings_of(self.db, [user_id]))[user_id]
        updated = current
        if "phone_number" in changes:
            text = changes["phone_number"]
            if text is None:
                updated = replace(updated, phone_hash=None, phone_hint=None)
            else:
                try:
                    e164 = phones.normalize(text, region)
                except phones.InvalidPhoneNumber as exc:
                    raise ValidationFailed(
                        f"phone_number: {exc.message}", details={"field": "phone_number", "rule": exc.rule}
                    ) from None
                updated = replace(
                    updated, phone_hash=phones.phone_hash(self._hash_key, e164), phone_hint=phones.hint(e164)
                )
        if changes.get("discoverable") is not None:
            updated = replace(updated, discoverable=bool(changes["discoverable"]))
        if changes.get("read_receipts") is not None:
            updated = replace(updated, read_receipts=bool(changes["read_receipts"]))
        if updated != current:
            await store.save_settings(self.db, user_id, updated, self._now())
        invisible = changes.get("invisible")
        if invisible is not None and bool(invisible) != await self._presence_prefs(user_id):
            await self.hub.presence.set_invisible(user_id, bool(invisible))
        return await self.privacy(user_id)


def _known(item: Outgoing, message: Message) -> dict[str, CodeRef]:
    """The code reference of a message just stored from ``item`` (no need to read it back)."""
    return {} if item.code_ref is None else {message.id: replace(item.code_ref, message_id=message.id)}


def _iso(ms: Any) -> str | None:
    return iso(None if ms is None else int(ms))


def chat_service(services: Any) -> ChatService:
    """The running instance's ChatService (built by ``collabcode.chat.feature``)."""
    service = services.extras.get(SERVICE_KEY)
    if not isinstance(service, ChatService):
        raise RuntimeError("the chat feature has not started: add collabcode.chat.feature")
    return service
