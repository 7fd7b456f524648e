"""The sending side both sockets share: order, the byte bound (1013), closing and its deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from collabcode.realtime.socket_writer import SocketWriter, run_socket


class FakeSocket:
    """Records what is sent; ``stuck`` makes every send block, as on a full TCP window."""

    def __init__(self, stuck: bool = False) -> None:
        self.stuck = stuck
        self.log: list[object] = []
        self.never = asyncio.Event()

    async def send(self, payload: str) -> None:
        self.log.append(payload)
        if self.stuck:
            await self.never.wait()

    async def close(self, code: int, reason: str) -> None:
        self.log.append((code, reason))
        if self.stuck:
            await self.never.wait()


def writer_for(socket: FakeSocket, max_queued_bytes: int = 1000, close_timeout: float = 0.2) -> SocketWriter[str]:
    return SocketWriter(
        socket.send,
        socket.close,
        max_queued_bytes=max_queued_bytes,
        close_timeout=close_timeout,
        describe=lambda: "test socket",
    )


async def test_frames_leave_in_order_and_each_sent_callback_runs_after_its_frame() -> None:
    socket = FakeSocket()
    writer = writer_for(socket)
    running = asyncio.create_task(writer.run())
    def sent(n: int) -> Callable[[], None]:
        return lambda: socket.log.append(f"sent {n}")

    for n in range(5):
        writer.put(f"frame {n}", 7, sent(n))
    await asyncio.sleep(0.01)
    expected = [entry for n in range(5) for entry in (f"frame {n}", f"sent {n}")]
    assert socket.log == expected
    await writer.close(1000, "bye")
    await running
    assert socket.log[-1] == (1000, "bye")


async def test_a_client_that_does_not_read_is_closed_1013_and_its_queue_freed() -> None:
    socket = FakeSocket(stuck=True)
    writer = writer_for(socket, max_queued_bytes=100)
    running = asyncio.create_task(writer.run())
    for _ in range(20):
        writer.put("x" * 10, 10)
        await asyncio.sleep(0)
    assert writer.close_request == (1013, "slow_consumer")
    assert writer.queued_bytes == 0 and len(writer) == 0
    writer.put("after", 5)  # nothing is queued once closing
    assert len(writer) == 0
    running.cancel()


async def test_a_close_drops_what_is_queued_and_is_the_last_frame() -> None:
    socket = FakeSocket()
    writer = writer_for(socket)
    for n in range(3):
        writer.put(f"frame {n}", 7)
    writer.request_close(4429, "rate_limited:5")
    writer.request_close(1000, "later")  # the first close wins
    await writer.run()
    assert socket.log == [(4429, "rate_limited:5")]


async def test_run_socket_ends_with_the_reader_and_cancels_the_helpers() -> None:
    socket = FakeSocket()
    writer = writer_for(socket)
    helper_cancelled = asyncio.Event()

    async def reader() -> None:
        await asyncio.sleep(0.01)  # the client disconnects

    async def helper() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            helper_cancelled.set()

    await asyncio.wait_for(run_socket(writer, reader(), {"helper": helper()}, name="test"), 2)
    assert helper_cancelled.is_set() and writer.finished.is_set()


async def test_closing_a_socket_that_never_reads_takes_at_most_the_close_timeout() -> None:
    socket = FakeSocket(stuck=True)
    writer = writer_for(socket, close_timeout=0.2)

    async def reader() -> None:
        await asyncio.Event().wait()  # the client keeps the connection open and reads nothing

    serving = asyncio.create_task(run_socket(writer, reader(), {}, name="test"))
    writer.put("stuck", 5)
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await writer.close(1001, "going_away")
    assert loop.time() - started < 1.0
    await asyncio.wait_for(serving, 2)
    assert writer.finished.is_set()
