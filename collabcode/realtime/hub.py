"""The per-user events hub: frames for a user reach every one of that user's sockets, in any process.

Other features use three calls::

    hub = events_hub(services)
    await hub.send_to_user(user_id, frame)          # frame: a JSON-able dict with a "type"
    await hub.send_to_users(user_ids, frame)
    if await hub.is_online(user_id): ...

Delivery: a frame goes straight to this process's sockets of the user, and is published on the
bus channel ``user.<id>`` for the other processes (the bus never hands a process its own
messages back, so nothing arrives twice). The bus is lossy, so a frame that must not be missed
is a *durable* frame: its event was appended to the user's stream in the database first
(:mod:`collabcode.realtime.store`) and the frame carries that event's ``cursor``. Each socket
writes durable frames in cursor order without gaps; when it sees a gap it reads what is missing
from the database (``add_renderer`` turns stored events back into frames). Frames without a
``cursor`` (typing, presence) are ephemeral: delivered at most once, never replayed.

Features also register the client frames they serve (:meth:`EventsHub.add_handler`) and may ask
to hear when a frame type was written to a socket (:meth:`EventsHub.on_written`; chat records
"delivered" that way).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from collabcode.db import Database
from collabcode.pubsub import Bus, Subscription
from collabcode.realtime import store
from collabcode.realtime.frames import FrameHandler, encode
from collabcode.realtime.presence import Presence
from collabcode.realtime.store import StoredEvent

if TYPE_CHECKING:
    from collabcode.services import Services

log = logging.getLogger(__name__)

HUB_KEY = "events_hub"
CHANNEL_PREFIX = "user."
MAX_BUS_FRAME_BYTES = 1 << 20

Frame = dict[str, Any]
#: ``renderer(viewer_id, events)`` → frames by cursor; events it cannot render any more are left out.
Renderer = Callable[[str, list[StoredEvent]], Awaitable[dict[int, Frame]]]
#: ``hook(user_id, frame)``, called after a frame of a watched type went out on a socket of ``user_id``.
WrittenHook = Callable[[str, Frame], None]


class LocalSocket(Protocol):
    """What the hub needs of an open events socket (``collabcode.realtime.socket.EventsConnection``)."""

    socket_id: str
    user_id: str

    def deliver(self, text: str, frame: Frame) -> None: ...


@dataclass(frozen=True, slots=True)
class Replay:
    """Frames read back from the stream, and the cursors of the first and last event read."""

    frames: list[tuple[int, Frame]]
    first: int | None
    last: int | None


def channel(user_id: str) -> str:
    return CHANNEL_PREFIX + user_id


class EventsHub:
    """Sockets of this process by user, bus relay, frame handlers and event renderers."""

    def __init__(self, *, bus: Bus, db: Database, presence: Presence) -> None:
        self._bus = bus
        self._db = db
        self.presence = presence
        self._local: dict[str, set[LocalSocket]] = defaultdict(set)
        self._subscriptions: dict[str, Subscription] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.handlers: dict[str, tuple[type[BaseModel], FrameHandler]] = {}
        self._renderers: dict[str, Renderer] = {}
        self._written: dict[str, list[WrittenHook]] = defaultdict(list)
        presence.bind(self)

    # -- public API for features --------------------------------------------------------------

    async def send_to_user(self, user_id: str, frame: Frame, *, instead: dict[str, Frame] | None = None) -> None:
        """Deliver ``frame`` to every socket of ``user_id`` (this process now, others via the bus).

        ``instead`` maps socket ids of this process to another frame they get in its place (a
        durable frame must keep its ``cursor``): how the socket that asked for a change gets
        its answer in stream order.
        """
        text = encode(frame)
        if instead:
            for sock in tuple(self._local.get(user_id, ())):
                other = instead.get(sock.socket_id)
                if other is None:
                    sock.deliver(text, frame)
                else:
                    sock.deliver(encode(other), other)
        else:
            self._deliver_local(user_id, text, frame)
        await self._bus.publish(channel(user_id), text.encode("utf-8"))

    async def send_to_users(self, user_ids: Iterable[str], frame: Frame) -> None:
        text = encode(frame)
        payload = text.encode("utf-8")
        for user_id in dict.fromkeys(user_ids):
            self._deliver_local(user_id, text, frame)
            await self._bus.publish(channel(user_id), payload)

    async def is_online(self, user_id: str) -> bool:
        """Whether ``user_id`` has a live events socket anywhere (invisible users included)."""
        status = await self.presence.raw_status([user_id])
        return status.get(user_id, "offline") != "offline"

    def add_handler(self, frame_type: str, model: type[BaseModel], handler: FrameHandler) -> None:
        """Serve client frames of ``frame_type``: validated with ``model``, then ``handler(ctx, frame)``."""
        if frame_type in self.handlers:
            raise ValueError(f"a handler for {frame_type!r} is already registered")
        self.handlers[frame_type] = (model, handler)

    def add_renderer(self, kinds: Sequence[str], renderer: Renderer) -> None:
        """Turn stored events of ``kinds`` back into frames when a socket replays them."""
        for kind in kinds:
            self._renderers[kind] = renderer

    def on_written(self, frame_type: str, hook: WrittenHook) -> None:
        self._written[frame_type].append(hook)

    # -- sockets of this process ----------------------------------------------------------------

    def local_count(self, user_id: str) -> int:
        return len(self._local.get(user_id, ()))

    @property
    def socket_count(self) -> int:
        return sum(len(s) for s in self._local.values())

    def stats(self) -> dict[str, float]:
        """What the hub holds for this process's sockets (``/metrics``; all 0 once everyone left)."""
        return {
            "sockets": float(self.socket_count),
            "users": float(len(self._local)),
            "subscriptions": float(len(self._subscriptions)),
            "locks": float(len(self._locks)),
        }

    async def attach(self, sock: LocalSocket) -> None:
        """Start delivering to ``sock``; subscribes the user's channel on the first socket."""
        user_id = sock.user_id
        self._local[user_id].add(sock)
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            if user_id not in self._subscriptions and self._local.get(user_id):
                self._subscriptions[user_id] = await self._bus.subscribe(channel(user_id), self._on_bus)

    async def detach(self, sock: LocalSocket) -> None:
        user_id = sock.user_id
        sockets = self._local.get(user_id)
        if sockets is not None:
            sockets.discard(sock)
            if not sockets:
                del self._local[user_id]
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            if not self._local.get(user_id):
                subscription = self._subscriptions.pop(user_id, None)
                if subscription is not None:
                    try:
                        await subscription.unsubscribe()
                    except Exception:
                        log.debug("unsubscribing user channel failed", exc_info=True)
                if self._locks.get(user_id) is lock and not self._local.get(user_id):
                    del self._locks[user_id]

    def frame_written(self, user_id: str, frame: Frame) -> None:
        for hook in self._written.get(str(frame.get("type")), ()):
            try:
                hook(user_id, frame)
            except Exception:
                log.exception("frame-written hook failed type=%s", frame.get("type"))

    def _deliver_local(self, user_id: str, text: str, frame: Frame) -> None:
        for sock in tuple(self._local.get(user_id, ())):
            sock.deliver(text, frame)

    async def _on_bus(self, channel_name: str, payload: bytes) -> None:
        user_id = channel_name[len(CHANNEL_PREFIX) :]
        if not self._local.get(user_id) or len(payload) > MAX_BUS_FRAME_BYTES:
            return
        try:
            text = payload.decode("utf-8")
            frame = json.loads(text)
        except ValueError:
            log.warning("malformed frame on %s ignored", channel_name)
            return
        if isinstance(frame, dict):
            self._deliver_local(user_id, text, frame)

    # -- the durable stream -----------------------------------------------------------------------

    async def current_cursor(self, user_id: str) -> int:
        return await store.current_cursor(self._db, user_id)

    async def replay(self, user_id: str, after: int, limit: int) -> Replay:
        """Frames for ``user_id``'s events after ``after`` (at most ``limit`` events).

        Events no renderer knows any more (their object is gone) are skipped but still counted
        in ``first``/``last``.
        """
        events = await store.events_after(self._db, user_id, after, limit)
        if not events:
            return Replay([], None, None)
        by_renderer: dict[int, tuple[Renderer, list[StoredEvent]]] = {}
        for event in events:
            renderer = self._renderers.get(event.kind)
            if renderer is None:
                continue
            by_renderer.setdefault(id(renderer), (renderer, []))[1].append(event)
        frames: dict[int, Frame] = {}
        for renderer, group in by_renderer.values():
            frames.update(await renderer(user_id, group))
        ordered = [(cursor, frames[cursor]) for cursor in sorted(frames)]
        return Replay(ordered, events[0].cursor, events[-1].cursor)


def events_hub(services: Services) -> EventsHub:
    """The running instance's events hub (built by ``collabcode.realtime.feature``)."""
    hub = services.extras.get(HUB_KEY)
    if not isinstance(hub, EventsHub):
        raise RuntimeError("the realtime feature has not started: add collabcode.realtime.feature")
    return hub
