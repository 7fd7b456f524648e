"""Redis broker: how several collabcode processes reach each other.

Publishing goes through a small pool of ordinary connections. Receiving uses one subscriber
connection per process, read by one listener task and checked by a PING every second, so even an
idle process notices within about a second that Redis went away. A supervisor task owns that
connection: when it dies it reconnects with capped exponential backoff, subscribes everything
again, and only then reports healthy and runs the ``on_reconnect`` callbacks.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from collabcode.pubsub.base import DEFAULT_QUEUE_SIZE, BusBase, BusKind, Topic, stop_task

logger = logging.getLogger(__name__)

# What "the broker is unreachable" looks like: redis-py errors, socket errors, and timeouts
# (TimeoutError is an OSError).
_UNREACHABLE = (RedisError, OSError)
_URL_FORM = "redis://[[user]:password@]host[:port][/db], rediss://... or unix:///path"
_GLOB_SPECIAL = frozenset("*?[]\\")


def redis_address(url: str) -> str:
    """``host:port`` (or ``unix:/path``) of a Redis URL, without its credentials, for logs.

    Raises ValueError with one line saying what is wrong, never echoing a password.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"the Redis URL is empty; expected {_URL_FORM}")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid Redis URL: {exc}; expected {_URL_FORM}") from None
    scheme = parts.scheme.lower()
    if scheme in ("redis", "rediss"):
        host = parts.hostname
        if not host:
            raise ValueError(f"invalid Redis URL: no host; expected {_URL_FORM}")
        address = f"[{host}]:{port or 6379}" if ":" in host else f"{host}:{port or 6379}"
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ValueError(f"invalid Redis URL for {address}: the path must be a database number, got {db!r}")
    elif scheme == "unix":
        if not parts.path:
            raise ValueError(f"invalid Redis URL: no socket path; expected {_URL_FORM}")
        address = f"unix:{parts.path}"
    else:
        raise ValueError(
            f"invalid Redis URL: scheme {parts.scheme or '(none)'!r} is not redis, rediss or unix; expected {_URL_FORM}"
        )
    try:
        parse_url(url.strip())
    except ValueError as exc:
        raise ValueError(f"invalid Redis URL for {address}: {exc}") from None
    return address


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a PSUBSCRIBE pattern."""
    return "".join(f"\\{c}" if c in _GLOB_SPECIAL else c for c in text)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(eq=False)
class _Link:
    """One subscriber connection and what the server was asked to send on it."""

    pubsub: PubSub
    server_keys: set[tuple[str, str]] = field(default_factory=set)
    pending: dict[tuple[str, str], asyncio.Future[bool]] = field(default_factory=dict)
    pong: asyncio.Future[bool] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lost: asyncio.Event = field(default_factory=asyncio.Event)

    def settle(self, key: tuple[str, str], confirmed: bool) -> None:
        future = self.pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(confirmed)


class RedisBus(BusBase):
    """A bus on a Redis server shared by every collabcode process of one deployment.

    ``channel_prefix`` namespaces every channel on the server (several deployments, or test runs,
    on one Redis); handlers still see the channel names the features used.
    """

    kind: BusKind = "redis"

    def __init__(
        self,
        url: str,
        *,
        instance_id: str | None = None,
        channel_prefix: str = "",
        queue_size: int = DEFAULT_QUEUE_SIZE,
        ping_interval: float = 1.0,
        ping_timeout: float = 1.0,
        connect_timeout: float = 1.0,
        command_timeout: float = 2.0,
        max_backoff: float = 2.0,
        max_connections: int = 32,
    ) -> None:
        super().__init__(instance_id=instance_id, queue_size=queue_size)
        self.address = redis_address(url)
        self._url = url.strip()
        self._prefix = channel_prefix
        self._pattern_prefix = glob_escape(channel_prefix)
        self._anchor = f"{channel_prefix}__bus__:{self.instance_id}"
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._min_backoff = min(0.1, max_backoff)
        self._max_backoff = max_backoff
        self._max_connections = max_connections
        self._pool: BlockingConnectionPool | None = None
        self._client: Redis | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._link: _Link | None = None
        self._healthy = False
        self._in_outage = False
        self._first_attempt = asyncio.Event()

    def __repr__(self) -> str:
        return f"<RedisBus {self.instance_id} at {self.address} healthy={self._healthy}>"

    @property
    def healthy(self) -> bool:
        return self._healthy

    # -- lifecycle -----------------------------------------------------------------------------

    async def _open(self) -> None:
        self._pool = BlockingConnectionPool.from_url(
            self._url,
            max_connections=self._max_connections,
            timeout=self._command_timeout,
            socket_connect_timeout=self._connect_timeout,
            socket_timeout=self._command_timeout,
            # Reconnecting is the supervisor's job; redis-py's own retries would only make a
            # publish to a dead server slow.
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            client_name=f"collabcode:{self.instance_id}",
            protocol=2,
        )
        self._client = Redis(connection_pool=self._pool)
        self._supervisor = asyncio.create_task(self._supervise(), name=f"collabcode.pubsub.redis:{self.instance_id}")
        # Report the first attempt's outcome: healthy if Redis is up, otherwise keep trying.
        waited = asyncio.create_task(self._first_attempt.wait())
        await asyncio.wait(
            {waited, self._supervisor},
            timeout=self._connect_timeout + 2 * self._command_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        await stop_task(waited)

    async def _shutdown(self) -> None:
        self._healthy = False
        await stop_task(self._supervisor)
        self._supervisor = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    async def publish(self, channel: str, payload: bytes) -> bool:
        """True once Redis accepted the message; False, never an exception, when it is down."""
        if not self._check_can_publish(channel, payload):
            return False
        client = self._client
        if not self._healthy or client is None:
            return self._publish_failed(f"Redis at {self.address} is unreachable")
        try:
            await client.publish(self._prefix + channel, self._envelope_prefix + payload)
        except _UNREACHABLE as exc:
            return self._publish_failed(f"Redis at {self.address}: {_describe(exc)}")
        self._counters["published"] += 1
        return True

    # -- connection supervision ----------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = self._min_backoff
        while True:
            try:
                link = await self._connect()
            except Exception as exc:
                if not isinstance(exc, _UNREACHABLE):
                    logger.exception("unexpected error connecting to Redis at %s", self.address)
                self._went_down(exc)
                self._first_attempt.set()
                # Jitter keeps a fleet of processes from reconnecting in lockstep.
                await asyncio.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, self._max_backoff)
                continue
            delay = self._min_backoff
            await self._serve(link)

    async def _connect(self) -> _Link:
        """A subscriber connection with every wanted channel and pattern confirmed by Redis."""
        assert self._client is not None
        await asyncio.wait_for(self._client.ping(), self._connect_timeout + self._command_timeout)
        link = _Link(self._client.pubsub())
        try:
            await self._sync_subscriptions(link)
        except BaseException:
            await self._close_pubsub(link)
            raise
        return link

    def _wanted(self) -> set[tuple[str, str]]:
        return (
            {("channel", self._anchor)}
            | {("channel", self._prefix + key) for key in self._channels}
            | {("pattern", self._pattern_prefix + key) for key in self._patterns}
        )

    async def _sync_subscriptions(self, link: _Link) -> None:
        """Subscribe a fresh connection, reading the confirmations here (no listener runs yet).

        Loops until the server set equals the wanted set, because features may subscribe or
        unsubscribe while this awaits. The timeout is per reply, so thousands of channels are
        fine while a silent server still fails fast.
        """
        loop = asyncio.get_running_loop()
        while True:
            wanted = self._wanted()
            missing = wanted - link.server_keys
            extra = link.server_keys - wanted
            if not missing and not extra:
                return
            for key in missing:
                link.pending[key] = loop.create_future()
            channels = [name for kind, name in missing if kind == "channel"]
            patterns = [name for kind, name in missing if kind == "pattern"]
            if channels:
                await link.pubsub.subscribe(*channels)
            if patterns:
                await link.pubsub.psubscribe(*patterns)
            link.server_keys |= missing
            gone_channels = [name for kind, name in extra if kind == "channel"]
            gone_patterns = [name for kind, name in extra if kind == "pattern"]
            if gone_channels:
                await link.pubsub.unsubscribe(*gone_channels)
            if gone_patterns:
                await link.pubsub.punsubscribe(*gone_patterns)
            link.server_keys -= extra
            while link.pending:
                try:
                    message = await asyncio.wait_for(link.pubsub.get_message(timeout=None), self._command_timeout)
                except TimeoutError:
                    raise TimeoutError(f"no SUBSCRIBE confirmation within {self._command_timeout:g} s") from None
                if message is not None:
                    self._on_message(link, message)

    async def _serve(self, link: _Link) -> None:
        """Run one healthy connection until it is lost (or the bus closes)."""
        listener = asyncio.create_task(self._listen(link), name=f"collabcode.pubsub.listen:{self.instance_id}")
        heartbeat = asyncio.create_task(self._heartbeat(link), name=f"collabcode.pubsub.ping:{self.instance_id}")
        self._link = link
        try:
            recovered = self._went_up()
            self._first_attempt.set()
            if recovered:
                await self._run_reconnect_callbacks()
            await link.lost.wait()
        finally:
            self._link = None
            link.lost.set()
            for key in list(link.pending):
                link.settle(key, False)
            await stop_task(listener)
            await stop_task(heartbeat)
            await self._close_pubsub(link)

    async def _close_pubsub(self, link: _Link) -> None:
        try:
            await link.pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py lacks a hint
        except _UNREACHABLE as exc:
            logger.debug("closing the Redis subscriber connection failed: %s", _describe(exc))

    def _lose(self, link: _Link, reason: object) -> None:
        """Mark ``link`` dead (the supervisor reconnects) and the bus unhealthy, right now."""
        if link.lost.is_set():
            return
        link.lost.set()
        for key in list(link.pending):
            link.settle(key, False)
        self._went_down(reason)

    def _went_down(self, reason: object) -> None:
        self._healthy = False
        if self.closed:
            return
        text = _describe(reason) if isinstance(reason, BaseException) else str(reason)
        if self._in_outage:
            logger.debug("Redis at %s still unreachable: %s", self.address, text)
            return
        self._in_outage = True
        logger.warning(
            "Redis at %s is unreachable (%s); pub/sub paused, reconnecting",
            self.address,
            text,
            extra={"event": "dependency.down", "dependency": "redis", "address": self.address},
        )

    def _went_up(self) -> bool:
        """Report healthy; True when this ends an outage (so re-sync callbacks must run)."""
        self._healthy = True
        if not self._in_outage:
            return False
        self._in_outage = False
        self._counters["reconnects"] += 1
        logger.info(
            "Redis at %s is reachable again; pub/sub resumed",
            self.address,
            extra={"event": "dependency.up", "dependency": "redis", "address": self.address},
        )
        return True

    async def _listen(self, link: _Link) -> None:
        try:
            while not link.lost.is_set():
                message = await link.pubsub.get_message(timeout=None)
                if message is not None:
                    self._on_message(link, message)
        except _UNREACHABLE as exc:
            self._lose(link, exc)
        except Exception as exc:
            logger.exception("Redis subscriber for %s failed; reconnecting", self.address)
            self._lose(link, exc)

    async def _heartbeat(self, link: _Link) -> None:
        """PING on the subscriber connection itself: the one whose silence would go unnoticed."""
        loop = asyncio.get_running_loop()
        try:
            while not link.lost.is_set():
                await asyncio.sleep(self._ping_interval)
                link.pong = loop.create_future()
                await asyncio.wait_for(link.pubsub.ping(), self._ping_timeout)
                await asyncio.wait_for(link.pong, self._ping_timeout)
        except TimeoutError:
            self._lose(link, f"no reply to PING within {self._ping_timeout:g} s")
        except _UNREACHABLE as exc:
            self._lose(link, exc)

    def _on_message(self, link: _Link, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            raw = message["channel"].decode("utf-8", "replace")
            if raw.startswith(self._prefix) and raw != self._anchor:
                key = raw[len(self._prefix) :]
                topic = self._channels.get(key)
                if topic is not None:
                    self._receive(topic, key, message["data"])
        elif kind == "pmessage":
            pattern = message["pattern"].decode("utf-8", "replace")
            raw = message["channel"].decode("utf-8", "replace")
            topic = self._patterns.get(pattern[len(self._pattern_prefix) :])
            if topic is not None and raw.startswith(self._prefix):
                self._receive(topic, raw[len(self._prefix) :], message["data"])
        elif kind == "pong":
            if link.pong is not None and not link.pong.done():
                link.pong.set_result(True)
        elif kind in ("subscribe", "psubscribe"):
            name = message["channel"].decode("utf-8", "replace")
            link.settle(("channel" if kind == "subscribe" else "pattern", name), True)

    # -- subscriptions while connected ---------------------------------------------------------

    def _server_key(self, topic: Topic) -> tuple[str, str]:
        if topic.kind == "channel":
            return ("channel", self._prefix + topic.key)
        return ("pattern", self._pattern_prefix + topic.key)

    async def _broker_subscribe(self, topic: Topic) -> None:
        link = self._link
        if link is None or link.lost.is_set():
            return  # the next connection subscribes everything that is wanted by then
        key = self._server_key(topic)
        async with link.lock:
            if self._registry(topic.kind).get(topic.key) is not topic or key in link.server_keys:
                return
            if link.lost.is_set():
                return
            confirmed = link.pending[key] = asyncio.get_running_loop().create_future()
            try:
                if topic.kind == "channel":
                    await link.pubsub.subscribe(key[1])
                else:
                    await link.pubsub.psubscribe(key[1])
                link.server_keys.add(key)
                await asyncio.wait_for(confirmed, self._command_timeout)
            except TimeoutError:
                self._lose(link, f"no SUBSCRIBE confirmation within {self._command_timeout:g} s")
            except _UNREACHABLE as exc:
                self._lose(link, exc)
            finally:
                link.pending.pop(key, None)

    async def _broker_unsubscribe(self, topic: Topic) -> None:
        link = self._link
        if link is None or link.lost.is_set():
            return
        key = self._server_key(topic)
        async with link.lock:
            if topic.key in self._registry(topic.kind) or key not in link.server_keys:
                return
            if link.lost.is_set():
                return
            link.server_keys.discard(key)
            try:
                if topic.kind == "channel":
                    await link.pubsub.unsubscribe(key[1])
                else:
                    await link.pubsub.punsubscribe(key[1])
            except _UNREACHABLE as exc:
                self._lose(link, exc)
