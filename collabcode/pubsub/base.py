"""The bus interface features code against, and the machinery both brokers share.

Pub/sub is a lossy, at-most-once notification channel between processes: durable state lives in
the database, and a process that may have missed messages re-syncs from there when
``on_reconnect`` fires. A bus never hands a process its own messages back (every payload travels
in a small envelope naming the instance that sent it), because local delivery is each feature's
job and an echo would apply the same change twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

logger = logging.getLogger(__name__)

Handler = Callable[[str, bytes], Awaitable[None]]
"""Receives ``(channel, payload)``; for a pattern subscription, the concrete channel."""

ReconnectCallback = Callable[[], Awaitable[None]]
BusKind = Literal["memory", "redis"]
SubscriptionKind = Literal["channel", "pattern"]

DEFAULT_QUEUE_SIZE = 10_000
ENVELOPE_VERSION = 1

_INSTANCE_ID = re.compile(r"[!-~]{1,255}")
_COUNTERS = (
    "published",
    "publish_failed",
    "received",
    "delivered",
    "dropped",
    "handler_errors",
    "ignored_own",
    "malformed",
    "reconnects",
)


class Subscription(Protocol):
    async def unsubscribe(self) -> None: ...


class Bus(Protocol):
    kind: BusKind
    instance_id: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> bool: ...

    async def subscribe(self, channel: str, handler: Handler) -> Subscription: ...

    async def psubscribe(self, pattern: str, handler: Handler) -> Subscription: ...

    @property
    def healthy(self) -> bool: ...

    def on_reconnect(self, callback: ReconnectCallback) -> None: ...

    def stats(self) -> dict[str, float]: ...


def check_instance_id(instance_id: str | None) -> str:
    """A fresh id when none is given; otherwise one that fits the envelope's one-byte length."""
    if instance_id is None:
        return uuid.uuid4().hex
    if not isinstance(instance_id, str) or not _INSTANCE_ID.fullmatch(instance_id):
        raise ValueError(f"instance_id must be 1-255 printable ASCII characters without spaces, got {instance_id!r}")
    return instance_id


def split_envelope(data: bytes) -> tuple[bytes, bytes] | None:
    """``(origin, payload)`` from a wire message, or None when it is not one of ours."""
    if len(data) < 2 or data[0] != ENVELOPE_VERSION:
        return None
    end = 2 + data[1]
    if data[1] == 0 or len(data) < end:
        return None
    return data[2:end], data[end:]


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _check_payload(payload: bytes) -> None:
    if not isinstance(payload, bytes):
        raise TypeError(f"payload must be bytes, got {type(payload).__name__}")


class Throttle:
    """Lets one log line through per interval and counts the rest, so a flood logs once."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next = 0.0
        self._suppressed = 0

    def ready(self) -> int | None:
        """How many lines were held back since the last one, or None to hold this one back."""
        now = time.monotonic()
        if now < self._next:
            self._suppressed += 1
            return None
        self._next = now + self._interval
        suppressed, self._suppressed = self._suppressed, 0
        return suppressed


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it, without swallowing a cancellation aimed at the caller."""
    if task is None or task is asyncio.current_task():
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        logger.error("pub/sub task %s failed", task.get_name(), exc_info=task.exception())


class Topic:
    """Everything one bus delivers for one channel or one pattern."""

    __slots__ = ("key", "kind", "ready", "subs")

    def __init__(self, kind: SubscriptionKind, key: str) -> None:
        self.kind = kind
        self.key = key
        self.subs: list[_Subscription] = []
        self.ready = asyncio.Event()


class _Subscription:
    __slots__ = ("_bus", "active", "handler", "topic")

    def __init__(self, bus: BusBase, topic: Topic, handler: Handler) -> None:
        self._bus = bus
        self.topic = topic
        self.handler = handler
        self.active = True

    async def unsubscribe(self) -> None:
        """Stops delivery at once, even for messages already queued; safe to call twice."""
        if self.active:
            await self._bus._remove(self)

    def __repr__(self) -> str:
        return f"<Subscription {self.topic.kind} {self.topic.key!r} active={self.active}>"


_Delivery = tuple[Topic, str, bytes, float]


class BusBase:
    """Subscriptions, the dispatcher, echo filtering and counters, shared by both brokers.

    Subclasses move bytes: they call ``_receive`` for every message the broker hands them and
    implement ``healthy``, ``publish``, ``_open``, ``_shutdown`` and the broker-side
    (un)subscribe calls.
    """

    kind: BusKind
    instance_id: str

    def __init__(self, *, instance_id: str | None, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.instance_id = check_instance_id(instance_id)
        origin = self.instance_id.encode("ascii")
        self._envelope_prefix = bytes((ENVELOPE_VERSION, len(origin))) + origin
        self._queue: asyncio.Queue[_Delivery] = asyncio.Queue(queue_size)
        self._channels: dict[str, Topic] = {}
        self._patterns: dict[str, Topic] = {}
        self._reconnect_callbacks: list[ReconnectCallback] = []
        self._dispatcher: asyncio.Task[None] | None = None
        self._state: Literal["new", "started", "closed"] = "new"
        self._counters = dict.fromkeys(_COUNTERS, 0)
        self._last_lag = 0.0
        self._publish_log = Throttle(10.0)
        self._overflow_log = Throttle(10.0)
        self._handler_log = Throttle(1.0)

    # -- what subclasses provide -------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        raise NotImplementedError

    async def publish(self, channel: str, payload: bytes) -> bool:
        raise NotImplementedError

    async def _open(self) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    async def _broker_subscribe(self, topic: Topic) -> None:
        """Ask the broker for ``topic``; returns once it will deliver (or is unreachable)."""

    async def _broker_unsubscribe(self, topic: Topic) -> None:
        """Tell the broker ``topic`` is no longer wanted."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start dispatching and connect; never raises because the broker is down."""
        if self._state == "closed":
            raise RuntimeError(f"{self.kind} bus {self.instance_id} is closed and cannot restart")
        if self._state == "started":
            return
        self._state = "started"
        self._dispatcher = asyncio.create_task(
            self._dispatch_forever(), name=f"collabcode.pubsub.dispatch:{self.instance_id}"
        )
        await self._open()

    async def close(self) -> None:
        """Stop receiving, drop what is still queued and release every connection; idempotent."""
        if self._state == "closed":
            return
        self._state = "closed"
        try:
            await self._shutdown()
        finally:
            await stop_task(self._dispatcher)
            self._dispatcher = None
            for topic in (*self._channels.values(), *self._patterns.values()):
                for sub in topic.subs:
                    sub.active = False
            self._channels.clear()
            self._patterns.clear()

    @property
    def closed(self) -> bool:
        return self._state == "closed"

    def _check_can_publish(self, channel: str, payload: bytes) -> bool:
        """Validate arguments; False when the bus is already closed (a shutdown race, not a bug)."""
        _check_name(channel, "channel")
        _check_payload(payload)
        if self._state == "new":
            raise RuntimeError(f"start() the {self.kind} bus before publishing")
        if self._state == "closed":
            self._counters["publish_failed"] += 1
            return False
        return True

    def _publish_failed(self, reason: str) -> bool:
        """Count a publish the broker did not take, and say so at most every 10 s."""
        self._counters["publish_failed"] += 1
        suppressed = self._publish_log.ready()
        if suppressed is not None:
            logger.warning(
                "pub/sub publish dropped: %s (%d more dropped since the last report)",
                reason,
                suppressed,
                extra={"event": "pubsub.publish_failed", "bus": self.kind},
            )
        return False

    # -- subscriptions -------------------------------------------------------------------------

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        """Deliver messages other processes publish on ``channel``; ready when this returns."""
        return await self._add("channel", _check_name(channel, "channel"), handler)

    async def psubscribe(self, pattern: str, handler: Handler) -> Subscription:
        """Deliver messages on every channel matching the Redis-style glob ``pattern``."""
        return await self._add("pattern", _check_name(pattern, "pattern"), handler)

    def _registry(self, kind: SubscriptionKind) -> dict[str, Topic]:
        return self._channels if kind == "channel" else self._patterns

    async def _add(self, kind: SubscriptionKind, key: str, handler: Handler) -> Subscription:
        if self._state == "closed":
            raise RuntimeError(f"{self.kind} bus {self.instance_id} is closed")
        registry = self._registry(kind)
        topic = registry.get(key)
        first = topic is None
        if topic is None:
            topic = registry[key] = Topic(kind, key)
        sub = _Subscription(self, topic, handler)
        topic.subs.append(sub)
        try:
            if first:
                await self._broker_subscribe(topic)
            else:
                # A second subscriber must not return before the broker confirmed the first.
                await topic.ready.wait()
        except BaseException:
            self._discard(sub)
            raise
        finally:
            if first:
                topic.ready.set()
        return sub

    def _discard(self, sub: _Subscription) -> bool:
        """Forget ``sub``; True when it was the topic's last, so the broker can stop sending."""
        sub.active = False
        topic = sub.topic
        if sub in topic.subs:
            topic.subs.remove(sub)
        registry = self._registry(topic.kind)
        if not topic.subs and registry.get(topic.key) is topic:
            del registry[topic.key]
            return True
        return False

    async def _remove(self, sub: _Subscription) -> None:
        if self._discard(sub):
            await self._broker_unsubscribe(sub.topic)

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        """Run ``callback`` each time the broker is reachable again after an outage."""
        self._reconnect_callbacks.append(callback)

    async def _run_reconnect_callbacks(self) -> None:
        for callback in list(self._reconnect_callbacks):
            try:
                await callback()
            except Exception:
                logger.exception("pub/sub on_reconnect callback %r failed", callback)

    # -- delivery ------------------------------------------------------------------------------

    def _receive(self, topic: Topic, channel: str, data: bytes) -> None:
        """Queue one broker message for ``topic``; never blocks the connection reading it."""
        if data.startswith(self._envelope_prefix):
            self._counters["ignored_own"] += 1
            return
        parts = split_envelope(data)
        if parts is None:
            self._counters["malformed"] += 1
            return
        self._counters["received"] += 1
        try:
            self._queue.put_nowait((topic, channel, parts[1], time.monotonic()))
        except asyncio.QueueFull:
            self._counters["dropped"] += 1
            suppressed = self._overflow_log.ready()
            if suppressed is not None:
                logger.warning(
                    "pub/sub queue of %s bus %s is full (%d messages); dropped a message on %s "
                    "(%d more dropped since the last report)",
                    self.kind,
                    self.instance_id,
                    self._queue.maxsize,
                    channel,
                    suppressed,
                    extra={"event": "pubsub.overflow", "bus": self.kind},
                )

    async def _dispatch_forever(self) -> None:
        """One task per bus runs the handlers in turn, which keeps per-channel order."""
        queue = self._queue
        counters = self._counters
        while True:
            topic, channel, payload, received_at = await queue.get()
            self._last_lag = time.monotonic() - received_at
            for sub in tuple(topic.subs):
                if not sub.active:
                    continue
                try:
                    await sub.handler(channel, payload)
                except Exception:
                    counters["handler_errors"] += 1
                    suppressed = self._handler_log.ready()
                    if suppressed is not None:
                        logger.exception(
                            "pub/sub handler %r failed on channel %s (%d more failures since the last report)",
                            sub.handler,
                            channel,
                            suppressed,
                        )
                else:
                    counters["delivered"] += 1

    def stats(self) -> dict[str, float]:
        """Counters since start, for /metrics and the admin doctor."""
        result = {name: float(value) for name, value in self._counters.items()}
        result["last_lag_seconds"] = self._last_lag
        result["queue_depth"] = float(self._queue.qsize())
        result["subscriptions"] = float(sum(len(t.subs) for t in (*self._channels.values(), *self._patterns.values())))
        result["healthy"] = 1.0 if self.healthy else 0.0
        return result
