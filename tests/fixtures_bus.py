"""Pytest plugin with the pub/sub fixtures: a pair of buses per broker, and a private Redis.

``bus_pair`` runs a test once per broker with two started buses that behave like two processes.
``redis_server`` is a redis-server of the test's own, which chaos tests may stop and start
without disturbing the shared server other tests use.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from collabcode.pubsub import Bus, MemoryBus, MemoryHub
from tests import services


class Recorder:
    """A bus handler that remembers what it got, so a test can wait for deliveries."""

    def __init__(self, *, fail: bool = False) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._fail = fail
        self._arrived = asyncio.Event()

    async def __call__(self, channel: str, payload: bytes) -> None:
        self.messages.append((channel, payload))
        self._arrived.set()
        if self._fail:
            raise RuntimeError(f"handler failing on purpose for {channel}")

    @property
    def payloads(self) -> list[bytes]:
        return [payload for _, payload in self.messages]

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        """Wait until at least ``count`` messages arrived; fail with what did arrive."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.messages) < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            pytest.fail(
                f"expected {count} messages within {timeout} s, got {len(self.messages)}: {self.messages[:5]!r}"
            )
        return list(self.messages)


async def eventually(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll a condition that has no event to wait on (a health flag); seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not true within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
async def bus_pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Bus, Bus]]:
    """Two started buses that see each other's messages like two processes would.

    On Redis both use a random channel prefix, so tests can use plain channel names without
    meeting another test's (or another run's) messages on the shared server.
    """
    buses: list[Bus]
    if request.param == "memory":
        hub = MemoryHub()
        buses = [
            MemoryBus(hub, instance_id=f"a-{uuid.uuid4().hex}"),
            MemoryBus(hub, instance_id=f"b-{uuid.uuid4().hex}"),
        ]
    else:
        from collabcode.pubsub.redis import RedisBus

        url = services.require_redis()
        prefix = f"test-{uuid.uuid4().hex[:12]}:"
        buses = [
            RedisBus(url, instance_id=f"a-{uuid.uuid4().hex}", channel_prefix=prefix),
            RedisBus(url, instance_id=f"b-{uuid.uuid4().hex}", channel_prefix=prefix),
        ]
    try:
        for bus in buses:
            await bus.start()
            assert bus.healthy, f"{bus!r} did not connect"
        yield buses[0], buses[1]
    finally:
        for bus in buses:
            await bus.close()


class RedisServer:
    """One redis-server process on a fixed port that a test can stop and start again."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _options(self) -> dict[str, str]:
        # No RDB or AOF: a restart must come back empty, like a fresh Redis after a crash.
        return {
            "--port": str(self.port),
            "--bind": "127.0.0.1",
            "--save": "",
            "--appendonly": "no",
            "--dir": str(self._workdir),
            "--daemonize": "no",
        }

    def start(self, timeout: float = 10.0) -> None:
        """Start on the same port as before and return once it accepts connections."""
        if self.running:
            return
        log = (self._workdir / "redis.log").open("ab")
        try:
            self._process = subprocess.Popen(
                ["redis-server", *(arg for pair in self._options().items() for arg in pair)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"redis-server on port {self.port} exited with {self._process.returncode}; "
                    f"see {self._workdir / 'redis.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not start in {timeout} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 5 s) and wait until the process has exited."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused server must be able to act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets open but answers nothing, like a hung host."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: undo ``pause``."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private, started redis-server on a free port; stopped at the end of the test."""
    services.require(shutil.which("redis-server") is not None, "redis-server")
    server = RedisServer(services.free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
