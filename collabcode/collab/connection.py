"""One collaboration socket after the handshake: the peer a Room sees, its outbox, its limits.

The Room calls :meth:`CollabConnection.send` without waiting; frames go into a bounded outbox that
one writer task drains, so a slow client never blocks the room or the other peers. A client
that lets more than ``SocketLimits.outbox_bytes`` pile up is closed with 1013 ``slow_consumer``.
The read loop feeds the room, enforcing the frame size and a token-bucket rate limit, and a
watchdog re-checks the session and the permission every ``recheck_seconds`` (or at once when
asked), so a revoked session or a downgraded role takes effect within seconds. All sends and the
close frame go through the writer task; anything may *request* a close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from starlette.websockets import WebSocket

from collabcode.auth.events import ClientInfo, security_event
from collabcode.auth.identity import Identity
from collabcode.clock import Clock
from collabcode.collab.authorization import Access, DocumentAuthorizer
from collabcode.collab.protocol import DEFAULT_MAX_MESSAGE_BYTES, CloseCode, ProtocolError
from collabcode.collab.room import Room
from collabcode.realtime.socket_writer import SocketWriter, TokenBucket, run_socket

__all__ = [
    "CLOSE_RATE_LIMITED",
    "CLOSE_SESSION_REVOKED",
    "CollabConnection",
    "SessionCheck",
    "SocketHub",
    "SocketLimits",
    "TokenBucket",
]

log = logging.getLogger(__name__)

CLOSE_SESSION_REVOKED: Final = 4401
CLOSE_RATE_LIMITED: Final = 4429
CLOSE_UNSUPPORTED_DATA: Final = 1003

#: Is this session still live? (auth's ``session_alive`` bound to the app's services)
SessionCheck = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class SocketLimits:
    """Per-socket and per-client limits of the collaboration endpoint (docs/protocol.md)."""

    #: Largest frame accepted; larger ones close the socket with 1009.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    #: Bytes queued for a client that does not read before it is closed with 1013.
    outbox_bytes: int = 16 * 1024 * 1024
    #: Sustained frames per second, and the burst allowed above it.
    messages_per_second: float = 100.0
    message_burst: int = 500
    #: Sustained bytes per second, and the burst (room for a full-size document on reconnect).
    bytes_per_second: float = 1024 * 1024
    byte_burst: int = 12 * 1024 * 1024
    #: Open collaboration sockets per user and per client IP, in this process.
    max_per_user: int = 50
    max_per_ip: int = 200
    #: How often the session and the permission are checked again on an open socket.
    recheck_seconds: float = 4.0
    #: How long a close may take before the socket is dropped without one.
    close_timeout: float = 2.0


class SocketHub:
    """Open collaboration sockets of this process: connection caps and permission re-checks."""

    def __init__(self) -> None:
        self._by_user: Counter[str] = Counter()
        self._by_ip: Counter[str] = Counter()
        self._open: set[CollabConnection] = set()

    def reserve(self, user_id: str, ip: str, limits: SocketLimits) -> bool:
        """Count a new socket against the caps; False (and nothing counted) when over."""
        if self._by_user[user_id] >= limits.max_per_user or self._by_ip[ip] >= limits.max_per_ip:
            return False
        self._by_user[user_id] += 1
        self._by_ip[ip] += 1
        return True

    def release(self, user_id: str, ip: str) -> None:
        for counter, key in ((self._by_user, user_id), (self._by_ip, ip)):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]

    def add(self, connection: CollabConnection) -> None:
        self._open.add(connection)

    def discard(self, connection: CollabConnection) -> None:
        self._open.discard(connection)

    def recheck(self, *, user_id: str | None = None, workspace_id: str | None = None) -> int:
        """Re-check session and permission now on matching sockets; returns how many."""
        matched = [
            c
            for c in self._open
            if (user_id is None or c.user_id == user_id) and (workspace_id is None or c.workspace_id == workspace_id)
        ]
        for connection in matched:
            connection.recheck_now()
        return len(matched)

    def open_documents(self) -> list[tuple[str, str, str]]:
        """(user id, workspace id, file id) of every open socket: what people have open right now."""
        return [(c.user_id, c.workspace_id, c.file_id) for c in self._open]

    def __len__(self) -> int:
        return len(self._open)


class CollabConnection:
    """A Peer backed by a WebSocket (see :class:`collabcode.collab.room.Peer`)."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        identity: Identity,
        workspace_id: str,
        file_id: str,
        access: Access,
        wants_saved: bool,
        limits: SocketLimits,
        clock: Clock,
        authorizer: DocumentAuthorizer,
        session_alive: SessionCheck,
        client: ClientInfo | None = None,
    ) -> None:
        self._ws = websocket
        self._client = client
        self.identity = identity
        self.workspace_id = workspace_id
        self.file_id = file_id
        self.peer_id = uuid.uuid4().hex
        self.user_id = identity.user_id
        self.user_name = identity.display_name or identity.username
        self.user_color = identity.avatar_color
        self.can_write = access == "write"
        self.wants_saved = wants_saved
        self._limits = limits
        self._authorizer = authorizer
        self._session_alive = session_alive
        self._messages = TokenBucket(limits.messages_per_second, limits.message_burst, clock)
        self._bytes = TokenBucket(limits.bytes_per_second, limits.byte_burst, clock)
        self._writer: SocketWriter[bytes] = SocketWriter(
            websocket.send_bytes,
            websocket.close,
            max_queued_bytes=limits.outbox_bytes,
            close_timeout=limits.close_timeout,
            describe=lambda: f"collab user={self.user_id} peer={self.peer_id}",
        )
        self._recheck = asyncio.Event()
        #: Seconds its user must wait before another socket, when closed for its rate (4429).
        self.rate_limited_for: float | None = None
        #: What the client sent when it closed first.
        self.client_close: int | None = None

    # ------------------------------------------------------------------ Peer

    def send(self, data: bytes) -> None:
        self._writer.put(data, len(data))

    # ------------------------------------------------------------------ control

    @property
    def close_request(self) -> tuple[int, str] | None:
        """(code, reason) of the close this side asked for, or None."""
        return self._writer.close_request

    def request_close(self, code: int, reason: str) -> None:
        """Close with ``code``: queued frames are dropped; the writer sends the close frame."""
        self._writer.request_close(code, reason)

    async def close(self, code: int, reason: str) -> None:
        """Close and wait (bounded) until the close frame is out: the registry's close callback."""
        await self._writer.close(code, reason)

    def recheck_now(self) -> None:
        self._recheck.set()

    # ------------------------------------------------------------------ running

    async def serve(self, room: Room) -> None:
        """Run until the socket is closed by either side (the room is joined already)."""
        await run_socket(
            self._writer, self._read_loop(room), {"watch": self._watch()}, name=f"collab:{self.peer_id}"
        )

    async def _read_loop(self, room: Room) -> None:
        limits = self._limits
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                self.client_close = int(message.get("code") or 1005)
                return
            if self.close_request is not None:
                return
            data = message.get("bytes")
            if data is None:
                self.request_close(CLOSE_UNSUPPORTED_DATA, "binary_only")
                return
            if len(data) > limits.max_message_bytes:
                self.request_close(CloseCode.MESSAGE_TOO_BIG, "message_too_large")
                return
            wait = max(self._messages.take(1), self._bytes.take(len(data)))
            if wait > 0:
                # Not before the burst has refilled: a fresh socket must not bring a fresh burst sooner.
                retry = max(1, math.ceil(wait), math.ceil(limits.message_burst / limits.messages_per_second))
                self.rate_limited_for = float(retry)
                security_event(
                    "ratelimit.hit",
                    "collaboration socket over its rate",
                    client=self._client,
                    level=logging.WARNING,
                    bucket="collab_socket",
                    user_id=self.user_id,
                    session_id=self.identity.session_id,
                    retry_after=retry,
                )
                self.request_close(CLOSE_RATE_LIMITED, f"rate_limited:{retry}")
                return
            try:
                room.receive(self, data)
            except ProtocolError as exc:
                self.request_close(exc.close_code, exc.reason)
                return
            except Exception:
                log.exception("collab frame failed doc=%s peer=%s", room.doc_id, self.peer_id)
                self.request_close(CloseCode.INTERNAL_ERROR, "internal_error")
                return
            # Frames already received are handed over without a pause; yield after each so one
            # socket's burst cannot hold the event loop while other people's requests wait.
            await asyncio.sleep(0)

    async def _watch(self) -> None:
        """Re-check the session and the permission now and then, or when asked."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._recheck.wait(), self._limits.recheck_seconds)
            self._recheck.clear()
            try:
                if not await self._session_alive(self.identity.session_id):
                    self.request_close(CLOSE_SESSION_REVOKED, "session_revoked")
                    return
                access = await self._authorizer.access(self.identity, self.workspace_id, self.file_id)
            except Exception:
                # Cannot tell right now (database down): keep the current permission, try again.
                log.warning("collab permission re-check failed peer=%s", self.peer_id, exc_info=True)
                continue
            if access == "none":
                self.request_close(CloseCode.POLICY_VIOLATION, "access_revoked")
                return
            self.can_write = access == "write"
