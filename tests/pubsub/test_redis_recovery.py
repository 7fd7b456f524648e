"""Redis going away and coming back, on a private redis-server the tests may stop and start."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from collabcode.pubsub.redis import RedisBus
from tests import services
from tests.fixtures_bus import Recorder, RedisServer, eventually

pytestmark = pytest.mark.redis

MakeBus = Callable[..., Awaitable[RedisBus]]


@pytest.fixture
async def make_bus() -> AsyncIterator[MakeBus]:
    made: list[RedisBus] = []

    async def make(url: str, **options: Any) -> RedisBus:
        bus = RedisBus(url, **options)
        made.append(bus)
        await bus.start()
        return bus

    try:
        yield make
    finally:
        for bus in made:
            await bus.close()


def watch_reconnects(bus: RedisBus) -> tuple[asyncio.Event, list[bool]]:
    """An event set by an on_reconnect callback, and the health it saw when called."""
    ran = asyncio.Event()
    seen: list[bool] = []

    async def resync() -> None:
        seen.append(bus.healthy)
        ran.set()

    bus.on_reconnect(resync)
    return ran, seen


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == name]


async def test_outage_and_recovery(
    redis_server: RedisServer, make_bus: MakeBus, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="collabcode.pubsub")
    a = await make_bus(redis_server.url)
    b = await make_bus(redis_server.url)
    got, by_pattern = Recorder(), Recorder()
    await b.subscribe("room:1", got)
    await b.psubscribe("doc:*", by_pattern)
    a_ran, a_seen = watch_reconnects(a)
    b_ran, b_seen = watch_reconnects(b)
    await a.publish("room:1", b"before")
    await got.wait_for(1)

    redis_server.stop()
    assert await a.publish("room:1", b"while going down") is False
    took = await eventually(lambda: not a.healthy and not b.healthy, 3, "buses report unhealthy")
    assert took < 3
    assert await a.publish("room:1", b"while down") is False
    assert a.stats()["publish_failed"] == 2
    late = Recorder()
    await b.subscribe("room:2", late)  # returns at once; the reconnect subscribes it

    redis_server.start()
    await eventually(lambda: a.healthy and b.healthy, 10, "buses healthy again")
    async with asyncio.timeout(5):
        await a_ran.wait()
        await b_ran.wait()
    assert a_seen == [True] and b_seen == [True]
    assert a.stats()["reconnects"] == 1

    await a.publish("room:1", b"after")
    await a.publish("doc:7", b"patterns too")
    await a.publish("room:2", b"new subscription")
    assert await got.wait_for(2) == [("room:1", b"before"), ("room:1", b"after")]
    assert await by_pattern.wait_for(1) == [("doc:7", b"patterns too")]
    assert await late.wait_for(1) == [("room:2", b"new subscription")]

    downs, ups = events(caplog, "dependency.down"), events(caplog, "dependency.up")
    assert len(downs) == 2, "each bus logs the outage once, not once per retry"
    assert len(ups) == 2
    assert all(r.levelno == logging.WARNING for r in downs)
    assert all(getattr(r, "dependency", None) == "redis" for r in downs)


async def test_a_hung_server_is_noticed_by_the_ping(redis_server: RedisServer, make_bus: MakeBus) -> None:
    bus = await make_bus(redis_server.url)
    ran, _ = watch_reconnects(bus)

    redis_server.pause()  # sockets stay open, nothing answers: only the PING can tell
    try:
        took = await eventually(lambda: not bus.healthy, 3, "bus notices the hung server")
        assert took < 3
        assert await bus.publish("room:1", b"x") is False
    finally:
        redis_server.resume()

    await eventually(lambda: bus.healthy, 10, "bus healthy after the server resumed")
    async with asyncio.timeout(5):
        await ran.wait()


async def test_a_bus_started_while_redis_is_down_connects_later(redis_server: RedisServer, make_bus: MakeBus) -> None:
    redis_server.stop()
    started = time.monotonic()
    late = await make_bus(redis_server.url)
    assert time.monotonic() - started < 3, "start() must not wait for Redis"
    assert not late.healthy
    ran, seen = watch_reconnects(late)
    got = Recorder()
    await late.subscribe("room:1", got)
    assert await late.publish("room:1", b"x") is False

    redis_server.start()
    await eventually(lambda: late.healthy, 10, "bus healthy once Redis is up")
    async with asyncio.timeout(5):
        await ran.wait()
    assert seen == [True]

    other = await make_bus(redis_server.url)
    await other.publish("room:1", b"hello")
    assert await got.wait_for(1) == [("room:1", b"hello")]


async def test_publish_never_raises_while_redis_goes_away(redis_server: RedisServer, make_bus: MakeBus) -> None:
    bus = await make_bus(redis_server.url)
    results: list[bool] = []

    async def keep_publishing() -> None:
        for i in range(400):
            results.append(await bus.publish("room:1", str(i).encode()))

    publisher = asyncio.create_task(keep_publishing())
    await eventually(lambda: len(results) >= 50, 5, "publishing started")
    redis_server.stop()
    await asyncio.wait_for(publisher, 10)

    assert len(results) == 400
    assert results[0] is True and results[-1] is False
    assert bus.stats()["published"] + bus.stats()["publish_failed"] == 400


async def test_close_while_redis_is_down_is_clean(redis_server: RedisServer, make_bus: MakeBus) -> None:
    redis_server.stop()
    bus = await make_bus(redis_server.url)
    await bus.subscribe("room:1", Recorder())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with asyncio.timeout(2):
            await bus.close()
        gc.collect()
        await asyncio.sleep(0)
        gc.collect()

    assert [str(w.message) for w in caught] == []
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("collabcode.pubsub")]


async def test_the_password_never_reaches_the_logs(make_bus: MakeBus, caplog: pytest.LogCaptureFixture) -> None:
    port = services.free_port()  # nothing listens there
    caplog.set_level(logging.DEBUG, logger="collabcode.pubsub")

    bus = await make_bus(f"redis://admin:s3cret-pw@127.0.0.1:{port}/0")
    assert await bus.publish("room:1", b"x") is False

    assert not bus.healthy
    assert f"127.0.0.1:{port}" in caplog.text
    assert "s3cret-pw" not in caplog.text
    assert "s3cret-pw" not in repr(bus)
    assert "s3cret-pw" not in str(bus.stats())
