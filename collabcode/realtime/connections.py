"""Every open WebSocket of this process, so shutdown and revocation can reach them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CloseFn = Callable[[int, str], Awaitable[None]]


@dataclass(eq=False)
class OpenSocket:
    endpoint: str
    user_id: str | None
    session_id: str | None
    close: CloseFn
    tags: dict[str, str] = field(default_factory=dict)


class ConnectionRegistry:
    """Tracks open sockets by user and session; closes them on shutdown or revocation."""

    def __init__(self) -> None:
        self._sockets: set[OpenSocket] = set()

    def add(self, sock: OpenSocket) -> OpenSocket:
        self._sockets.add(sock)
        return sock

    def discard(self, sock: OpenSocket) -> None:
        self._sockets.discard(sock)

    def count(self, endpoint: str | None = None) -> int:
        return sum(1 for s in self._sockets if endpoint is None or s.endpoint == endpoint)

    def for_user(self, user_id: str) -> list[OpenSocket]:
        return [s for s in self._sockets if s.user_id == user_id]

    async def close_where(self, predicate: Callable[[OpenSocket], bool], code: int, reason: str) -> int:
        """Close matching sockets concurrently; returns how many were closed."""
        targets = [s for s in list(self._sockets) if predicate(s)]
        if targets:
            results = await asyncio.gather(*(s.close(code, reason) for s in targets), return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    log.debug("closing a socket failed: %s", result)
        return len(targets)

    async def close_all(self, code: int = 1001, reason: str = "going_away") -> int:
        return await self.close_where(lambda _s: True, code, reason)
