"""CollabConnection without a network: slow consumers, rate buckets, connection caps."""

from __future__ import annotations

import asyncio
from typing import Any

from collabcode.clock import FakeClock
from collabcode.collab.connection import CollabConnection, SocketHub, SocketLimits, TokenBucket
from collabcode.collab.room import Room
from tests.collab.testauth import RoleRule, identity_for


class StuckWebSocket:
    """A client that never reads: every send blocks, as on a full TCP window."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.never = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.never.wait()
        return {"type": "websocket.disconnect", "code": 1006}

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)
        await self.never.wait()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self.never.wait()


async def always_alive(session_id: str) -> bool:
    return True


def connection(ws: StuckWebSocket, limits: SocketLimits) -> CollabConnection:
    return CollabConnection(
        ws,  # type: ignore[arg-type]
        identity=identity_for("slow"),
        workspace_id="ws",
        file_id="f",
        access="write",
        wants_saved=False,
        limits=limits,
        clock=FakeClock(),
        authorizer=RoleRule(),
        session_alive=always_alive,
    )


async def test_a_client_that_stops_reading_is_dropped_with_1013_and_its_queue_freed() -> None:
    ws = StuckWebSocket()
    limits = SocketLimits(outbox_bytes=64 * 1024, close_timeout=0.2)
    conn = connection(ws, limits)
    room = Room("ws/f")
    room.add_peer(conn)
    serving = asyncio.create_task(conn.serve(room))
    frame = b"\x00\x02" + b"x" * 1000
    for _ in range(100):  # 100 KB for a client whose socket accepts nothing
        conn.send(frame)
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await serving
    assert conn.close_request == (1013, "slow_consumer")
    assert len(ws.sent) == 1  # the first frame is stuck in the socket; nothing else was attempted
    conn.send(frame)  # the room may still call send until the peer leaves: dropped, not queued
    assert conn._writer.queued_bytes == 0 and len(conn._writer) == 0


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert [bucket.take(1) for _ in range(5)] == [0.0] * 5
    assert bucket.take(1) == 0.1
    clock.advance(0.5)
    assert [bucket.take(1) for _ in range(5)] == [0.0] * 5
    assert bucket.take(3) == 0.3


def test_connection_caps_count_per_user_and_per_ip() -> None:
    hub = SocketHub()
    limits = SocketLimits(max_per_user=2, max_per_ip=3)
    assert hub.reserve("u1", "1.1.1.1", limits) and hub.reserve("u1", "1.1.1.1", limits)
    assert not hub.reserve("u1", "2.2.2.2", limits)  # user cap
    assert hub.reserve("u2", "1.1.1.1", limits)
    assert not hub.reserve("u3", "1.1.1.1", limits)  # IP cap
    hub.release("u1", "1.1.1.1")
    assert hub.reserve("u3", "1.1.1.1", limits)
