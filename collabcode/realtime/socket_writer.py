"""The sending side of a WebSocket, shared by the collaboration and the events sockets.

Everything a socket sends goes through one queue drained by one task, so frames leave in the
order they were queued and a slow reader never blocks whoever queued them (the room, the hub).
The queue is bounded in bytes: a client that does not read is closed with 1013 ``slow_consumer``
instead of growing the server's memory. A close asked for by the server drops what is queued
and is the last thing sent. :func:`run_socket` runs a socket's tasks until either side closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.websockets import WebSocketDisconnect

from collabcode.clock import Clock

__all__ = ["CLOSE_TRY_AGAIN_LATER", "SocketWriter", "TokenBucket", "run_socket"]

log = logging.getLogger(__name__)

#: RFC 6455 1013: the server is overloaded for this client (here: the client does not read).
CLOSE_TRY_AGAIN_LATER = 1013

T = TypeVar("T")


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; time comes from the injected clock."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock.monotonic()

    def take(self, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens: 0.0 when allowed, else the seconds until it would be."""
        now = self._clock.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if cost <= self._tokens:
            self._tokens -= cost
            return 0.0
        return (cost - self._tokens) / self._rate


@dataclass(slots=True)
class _Queued(Generic[T]):
    payload: T
    size: int
    sent: Callable[[], None] | None


class SocketWriter(Generic[T]):
    """A bounded outbox and the task that drains it into ``send``, then sends the close."""

    def __init__(
        self,
        send: Callable[[T], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        *,
        max_queued_bytes: int,
        close_timeout: float,
        describe: Callable[[], str],
    ) -> None:
        self._send = send
        self._close = close
        self._max_queued = max_queued_bytes
        self.close_timeout = close_timeout
        self._describe = describe
        self._outbox: deque[_Queued[T]] = deque()
        self.queued_bytes = 0
        self._wake = asyncio.Event()
        self.closing = asyncio.Event()
        self.finished = asyncio.Event()
        #: (code, reason) of the close this side asked for, or None.
        self.close_request: tuple[int, str] | None = None

    def __len__(self) -> int:
        return len(self._outbox)

    def put(self, payload: T, size: int, sent: Callable[[], None] | None = None) -> None:
        """Queue ``payload`` (``sent`` runs once it is out); past the byte bound, close 1013."""
        if self.close_request is not None:
            return
        self._outbox.append(_Queued(payload, size, sent))
        self.queued_bytes += size
        if self.queued_bytes > self._max_queued:
            log.warning("slow consumer closed %s queued=%d", self._describe(), self.queued_bytes)
            self.request_close(CLOSE_TRY_AGAIN_LATER, "slow_consumer")
            return
        self._wake.set()

    def request_close(self, code: int, reason: str) -> None:
        """Close with ``code``: queued frames are dropped; the writer sends the close frame."""
        if self.close_request is not None:
            return
        self.close_request = (int(code), reason)
        self._outbox.clear()
        self.queued_bytes = 0
        self.closing.set()
        self._wake.set()

    async def close(self, code: int, reason: str) -> None:
        """Close and wait (bounded) until the socket has finished: the registry's close callback."""
        self.request_close(code, reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.finished.wait(), self.close_timeout)

    async def run(self) -> None:
        """Send what is queued, as it comes, until a close is asked for; then send the close."""
        try:
            while True:
                while self._outbox and self.close_request is None:
                    item = self._outbox.popleft()
                    self.queued_bytes -= item.size
                    await self._send(item.payload)
                    if item.sent is not None:
                        item.sent()
                if self.close_request is not None:
                    break
                self._wake.clear()
                await self._wake.wait()
            code, reason = self.close_request
            await self._close(code, reason)
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the client is gone (or the socket was closed under us): nothing to send to


async def run_socket(
    writer: SocketWriter[Any],
    reader: Coroutine[Any, Any, None],
    helpers: dict[str, Coroutine[Any, Any, None]],
    *,
    name: str,
    also_cancel: Callable[[], set[asyncio.Task[Any]]] = set,
) -> None:
    """Run a socket until the reader ends, the writer ends or a close is asked for.

    After a close request the writer gets ``close_timeout`` to send the close frame. Then every
    task (``helpers`` and ``also_cancel()``'s too) is cancelled and awaited, and ``finished`` set.
    """
    read = asyncio.create_task(reader, name=f"{name}-read")
    write = asyncio.create_task(writer.run(), name=f"{name}-write")
    others = {asyncio.create_task(coro, name=f"{name}-{key}") for key, coro in helpers.items()}
    closing = asyncio.create_task(writer.closing.wait())
    tasks: set[asyncio.Task[Any]] = {read, write, closing, *others}
    try:
        await asyncio.wait({read, write, closing}, return_when=asyncio.FIRST_COMPLETED)
        if writer.close_request is not None and not write.done():
            await asyncio.wait({write}, timeout=writer.close_timeout)
    finally:
        extra = also_cancel()
        for task in tasks | extra:
            task.cancel()
        await asyncio.wait(tasks | extra)
        writer.finished.set()
        for task in (read, write, *others):
            if not task.cancelled() and task.exception() is not None:
                log.error("socket task %s failed", task.get_name(), exc_info=task.exception())
