"""The built-in STUN server: answers Binding requests on UDP with the sender's address.

A browser asks it "what address do you see me at?" while gathering ICE candidates, which is all a
call between two people on different networks needs when neither side is behind a symmetric
NAT. Binding only, no authentication (RFC 8489 section 6: a plain Binding needs none); anything
else is dropped without an answer. A response is 40 bytes (XOR-MAPPED-ADDRESS and FINGERPRINT,
no SOFTWARE), at most twice the smallest request, so the port is a poor amplifier for spoofed
traffic; on top of that each source IP may send
``rate.burst`` requests at once and then one every ``rate.per`` seconds; the rest are dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from aioice import stun

from collabcode.clock import Clock
from collabcode.ratelimit import MemoryRateLimiter, Rate

log = logging.getLogger(__name__)

#: Largest datagram looked at; a Binding request is 20 bytes plus a few attributes.
MAX_REQUEST_BYTES = 548
DEFAULT_RATE = Rate(burst=50, per=0.05)


class StunProtocol(asyncio.DatagramProtocol):
    """One UDP socket answering Binding requests."""

    def __init__(self, clock: Clock, rate: Rate = DEFAULT_RATE) -> None:
        self._limiter = MemoryRateLimiter(clock, max_keys=50_000)
        self._rate = rate
        self._transport: asyncio.DatagramTransport | None = None
        self.answered = 0
        self.dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        reply = self.answer(data, (str(addr[0]), int(addr[1])))
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def answer(self, data: bytes, addr: tuple[str, int]) -> bytes | None:
        """The response to one datagram from ``addr``, or None to drop it."""
        if len(data) < stun.HEADER_LENGTH or len(data) > MAX_REQUEST_BYTES:
            self.dropped += 1
            return None
        try:
            request = stun.parse_message(data)
        except (ValueError, KeyError, IndexError):
            self.dropped += 1
            return None
        if request.message_method != stun.Method.BINDING or request.message_class != stun.Class.REQUEST:
            self.dropped += 1
            return None
        if not self._limiter.hit_now("stun", addr[0], self._rate).allowed:
            self.dropped += 1
            return None
        response = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = addr
        response.add_fingerprint()
        self.answered += 1
        return bytes(response)

    def error_received(self, exc: Exception) -> None:
        log.debug("STUN socket error: %s", exc)


class StunServer:
    """The UDP endpoint of :class:`StunProtocol`, started and stopped with ``collabcode serve``."""

    def __init__(self, host: str, port: int, clock: Clock) -> None:
        self.host = host
        self.port = port
        self._clock = clock
        self._transport: asyncio.DatagramTransport | None = None
        self.protocol: StunProtocol | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: StunProtocol(self._clock), local_addr=(self.host, self.port)
        )
        self._transport = transport
        self.protocol = protocol
        sockname = transport.get_extra_info("sockname")
        if sockname:
            self.port = int(sockname[1])
        log.info("STUN server listening on udp %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
