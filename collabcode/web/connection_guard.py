"""Connection-level limits uvicorn lacks: a header deadline and size cap, a per-IP cap, fair parsing.

uvicorn starts no timer on a fresh connection and cancels its keep-alive timer as soon as a byte
arrives, and its httptools parser buffers a header of any size. So a client that sends headers a
byte at a time (Slowloris), or opens thousands of sockets and sends nothing, would hold them for
ever, and one endless header would grow without bound. These protocol classes wrap uvicorn's:

* a request's headers must be complete within ``request_header_timeout`` seconds of the
  connection opening (or of the previous response on a kept-alive connection); otherwise the
  connection is closed, with a 408 if part of a request had arrived;
* a request's headers may take at most :data:`MAX_HEADER_BYTES`; more gets 431 and a close;
* a request body may pause at most ``request_body_timeout`` seconds between two pieces (time
  the app is not reading, with uvicorn's flow control paused, does not count); then 408 and a
  close, as nginx's ``client_body_timeout`` does;
* one peer address may hold at most ``max_connections_per_ip`` open connections (HTTP and
  WebSocket) per process; one more is answered 429 and closed at once. Trusted proxies are
  exempt: behind one, every client shares its address, so the proxy enforces per-client caps.

A WebSocket upgrade is an ordinary request until its headers are complete, so the deadline covers
the handshake too; after the upgrade, frames are parsed a slice at a time (see
:class:`GuardedWebSocketProtocol`). Each refusal logs a security event (aggregated by the log
flood guard).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from collabcode.auth.events import ClientInfo, security_event

__all__ = ["MAX_HEADER_BYTES", "ConnectionGuard", "protocol_classes"]

#: Largest request head (request line and headers) accepted; the same as the h11 parser's limit.
MAX_HEADER_BYTES = 64 * 1024

#: Why the guard ended a connection: the keys of ``refused`` in :meth:`ConnectionGuard.stats`.
REFUSAL_REASONS = ("connections_per_ip", "headers_too_large", "header_deadline", "idle", "body_deadline")

#: Seconds a refused client is told to wait before opening another connection.
RETRY_AFTER_SECONDS = 10
#: Bytes of a WebSocket handed to the frame parser per event-loop turn (a few hundred tiny frames).
WS_PARSE_SLICE = 4096
#: Bytes a WebSocket peer may send after the server's close that are still parsed.
WS_AFTER_CLOSE_BYTES = 64 * 1024


def _canned(status: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\n" + extra + b"connection: close\r\n\r\n"


_TIMEOUT_RESPONSE = _canned(b"408 Request Timeout")
_HEADERS_TOO_LARGE_RESPONSE = _canned(b"431 Request Header Fields Too Large")
_TOO_MANY_RESPONSE = _canned(b"429 Too Many Requests", b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS)


class ConnectionGuard:
    """Counts open connections per peer address and holds the limits; one per server process."""

    def __init__(
        self,
        header_timeout: float,
        max_per_ip: int,
        trusted_proxies: tuple[str, ...] = (),
        *,
        body_timeout: float = 60.0,
    ) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_per_ip = max_per_ip
        self._trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        self._open: dict[str, set[asyncio.BaseTransport]] = {}
        self._ip_of: dict[asyncio.BaseTransport, str] = {}
        #: Connections ended by a limit, by reason (see :meth:`stats`).
        self.refused: Counter[str] = Counter()

    def stats(self) -> dict[str, float]:
        """For /metrics: connections counted per address now, and those each limit ended."""
        counts: dict[str, float] = {"open": len(self._ip_of), "addresses": len(self._open)}
        for reason in REFUSAL_REASONS:
            counts[f"refused_{reason}"] = self.refused[reason]
        return counts

    def _exempt(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return True  # a Unix socket: there is no address to count
        return any(address in network for network in self._trusted)

    def admit(self, ip: str, transport: asyncio.BaseTransport) -> bool:
        """Count a new connection; False when its address already holds the most allowed."""
        if self._exempt(ip):
            return True
        open_here = self._open.setdefault(ip, set())
        if len(open_here) >= self.max_per_ip:
            for stale in [t for t in open_here if t.is_closing()]:
                self.release(stale)
            open_here = self._open.setdefault(ip, set())
            if len(open_here) >= self.max_per_ip:
                return False
        open_here.add(transport)
        self._ip_of[transport] = ip
        return True

    def release(self, transport: asyncio.BaseTransport) -> None:
        ip = self._ip_of.pop(transport, None)
        if ip is None:
            return
        open_here = self._open.get(ip)
        if open_here is not None:
            open_here.discard(transport)
            if not open_here:
                del self._open[ip]


def _peer_ip(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


class _Deadline:
    """One pending timer that can be (re)started and stopped; ``armed`` while it runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float, expired: Callable[[], None]) -> None:
        self._loop, self._seconds, self._expired = loop, seconds, expired
        self._handle: asyncio.TimerHandle | None = None

    @property
    def armed(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        self.stop()
        self._handle = self._loop.call_later(self._seconds, self._fire)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._expired()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus the header deadline, header size cap and per-IP cap."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ip = ""
        self._head_deadline = _Deadline(self.loop, self.guard.header_timeout, self._headers_too_slow)
        self._body_deadline = _Deadline(self.loop, self.guard.body_timeout, self._body_too_slow)
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._ip = _peer_ip(transport)
        if not self.guard.admit(self._ip, transport):
            security_event(
                "ratelimit.hit",
                "too many connections from one address",
                client=ClientInfo(self._ip),
                level=logging.WARNING,
                bucket="connections_per_ip",
                limit=self.guard.max_per_ip,
            )
            self.guard.refused["connections_per_ip"] += 1
            self._refuse(_TOO_MANY_RESPONSE)
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_deadline.stop()
        self._body_deadline.stop()
        self.guard.release(self.transport)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_deadline.armed:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_deadline.armed and self._head_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
            self._head_deadline.stop()
            security_event(
                "input.rejected",
                "request headers too large",
                client=ClientInfo(self._ip),
                level=logging.WARNING,
                field="request_headers",
                rule="max_bytes",
            )
            self.guard.refused["headers_too_large"] += 1
            self._refuse(_HEADERS_TOO_LARGE_RESPONSE)

    def on_headers_complete(self) -> None:
        self._head_deadline.stop()
        super().on_headers_complete()
        if not self.parser.should_upgrade():
            self._body_deadline.start()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self._body_deadline.armed:
            self._body_deadline.start()

    def on_message_complete(self) -> None:
        self._body_deadline.stop()
        super().on_message_complete()

    def _body_too_slow(self) -> None:
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        if self.flow.read_paused:
            self._body_deadline.start()  # the app is not reading: the client is not the slow one
            return
        security_event(
            "input.rejected",
            "request body not received in time",
            client=ClientInfo(self._ip),
            level=logging.WARNING,
            field="request_body",
            rule="receipt_deadline",
        )
        self.guard.refused["body_deadline"] += 1
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            self._refuse(_TIMEOUT_RESPONSE)
        else:
            self.transport.close()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        """Start the header deadline for the next request."""
        self._head_bytes = 0
        self._head_deadline.start()

    def _headers_too_slow(self) -> None:
        if self.transport.is_closing():
            return
        started = self._head_bytes > 0
        security_event(
            "input.rejected",
            "request headers not received in time" if started else "idle connection sent no request",
            client=ClientInfo(self._ip),
            level=logging.WARNING if started else logging.INFO,
            field="request_headers",
            rule="receipt_deadline",
            received=self._head_bytes,
        )
        self.guard.refused["header_deadline" if started else "idle"] += 1
        if started:
            self._refuse(_TIMEOUT_RESPONSE)
        else:
            self.transport.close()

    def _refuse(self, response: bytes) -> None:
        self.transport.write(response)
        self.transport.close()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, parsing a socket read a slice per event-loop turn.

    uvicorn hands each socket read (up to 256 KiB) to the frame parser at once: a read full of
    tiny frames (some 25,000) holds the event loop for a quarter of a second or more, before any
    rate limit can see them. Here the parser gets :data:`WS_PARSE_SLICE` bytes per turn, and
    only while the app keeps up (uvicorn's own flow control). Once the server has sent its
    close, at most :data:`WS_AFTER_CLOSE_BYTES` more are parsed (room for the peer's close
    reply); the rest is dropped unread until uvicorn's close timer ends the connection. The
    connection is given back to the per-IP count when it ends.
    """

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unparsed = bytearray()
        self._feed_scheduled = False
        self._after_close = 0

    def connection_lost(self, exc: Exception | None) -> None:
        self._unparsed.clear()
        self.guard.release(self.transport)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.close_sent:
            self._after_close += len(data)
            if self._after_close > WS_AFTER_CLOSE_BYTES:
                self._unparsed.clear()
                return
        self._unparsed += data
        if not self._feed_scheduled:
            self._feed()

    async def receive(self) -> Any:
        message = await super().receive()
        if self._unparsed and not self._feed_scheduled:
            self._schedule_feed(0.0)
        return message

    def _may_parse(self) -> bool:
        return self.close_sent or not self.read_paused

    def _feed(self) -> None:
        self._feed_scheduled = False
        if self.transport.is_closing():
            self._unparsed.clear()
            return
        if self._unparsed and self._may_parse():
            piece = bytes(self._unparsed[:WS_PARSE_SLICE])
            del self._unparsed[:WS_PARSE_SLICE]
            super().data_received(piece)
            if self.transport.is_closing():
                self._unparsed.clear()
                return
        if self._unparsed:
            self.transport.pause_reading()
            # The app has not taken what was parsed yet: look again shortly (receive() also does).
            self._schedule_feed(0.0 if self._may_parse() else 0.05)
        elif not self.read_paused:
            self.transport.resume_reading()

    def _schedule_feed(self, delay: float) -> None:
        self._feed_scheduled = True
        if delay:
            self.loop.call_later(delay, self._feed)
        else:
            self.loop.call_soon(self._feed)


def protocol_classes(guard: ConnectionGuard) -> tuple[type[asyncio.Protocol], type[asyncio.Protocol]]:
    """HTTP and WebSocket protocol classes for uvicorn's ``http=`` and ``ws=``, bound to ``guard``."""
    http = type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"guard": guard})
    ws = type("GuardedWebSocketProtocol", (GuardedWebSocketProtocol,), {"guard": guard})
    return http, ws
