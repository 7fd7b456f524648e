"""The built-in STUN server: Binding requests get the sender's address; everything else is dropped."""

from __future__ import annotations

import asyncio
import socket

from aioice import stun

from collabcode.calls.stun import StunProtocol, StunServer
from collabcode.clock import FakeClock
from collabcode.ratelimit import Rate


def binding_request() -> stun.Message:
    return stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)


async def exchange(port: int, payload: bytes, timeout: float = 1.0) -> tuple[bytes | None, tuple[str, int]]:
    """Send one datagram from a fresh socket; the answer (or None) and the socket's own address."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    try:
        await loop.sock_sendto(sock, payload, ("127.0.0.1", port))
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout)
        except TimeoutError:
            data = None
        return data, sock.getsockname()
    finally:
        sock.close()


async def test_binding_request_gets_the_mapped_address() -> None:
    server = StunServer("127.0.0.1", 0, FakeClock())
    await server.start()
    try:
        request = binding_request()
        data, own = await exchange(server.port, bytes(request))
        assert data is not None
        response = stun.parse_message(data)
        assert response.message_method == stun.Method.BINDING
        assert response.message_class == stun.Class.RESPONSE
        assert response.transaction_id == request.transaction_id
        assert response.attributes["XOR-MAPPED-ADDRESS"] == own
        assert "FINGERPRINT" in response.attributes and len(data) == 40

        # Not a Binding request, not STUN, too short: no answer at all.
        indication = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.INDICATION)
        allocate = stun.Message(message_method=stun.Method.ALLOCATE, message_class=stun.Class.REQUEST)
        for payload in (bytes(indication), bytes(allocate), b"hello world, not stun at all", b"\x00\x01", b"x" * 2000):
            assert (await exchange(server.port, payload, timeout=0.2))[0] is None
    finally:
        await server.stop()


def test_requests_are_rate_limited_per_source_ip() -> None:
    clock = FakeClock()
    protocol = StunProtocol(clock, Rate(burst=5, per=1.0))
    payload = bytes(binding_request())
    answers = [protocol.answer(payload, ("192.0.2.1", 4000 + i)) for i in range(8)]
    assert sum(a is not None for a in answers) == 5
    assert protocol.answer(payload, ("192.0.2.2", 4000)) is not None  # another address has its own budget
    clock.advance(2)
    assert protocol.answer(payload, ("192.0.2.1", 4000)) is not None
    assert protocol.dropped == 3


def test_mapped_address_for_ipv6_senders() -> None:
    protocol = StunProtocol(FakeClock())
    data = protocol.answer(bytes(binding_request()), ("2001:db8::7", 5000))
    assert data is not None
    assert stun.parse_message(data).attributes["XOR-MAPPED-ADDRESS"] == ("2001:db8::7", 5000)
