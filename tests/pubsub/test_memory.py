"""The in-process broker and create_bus: what the contract tests cannot show on both brokers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from collabcode.pubsub import MemoryBus, MemoryHub, create_bus
from collabcode.pubsub.memory import glob_to_regex
from tests.fixtures_bus import Recorder


@pytest.fixture
async def hub_pair() -> AsyncIterator[tuple[MemoryHub, MemoryBus, MemoryBus]]:
    hub = MemoryHub()
    a, b = MemoryBus(hub, instance_id="a"), MemoryBus(hub, instance_id="b")
    await a.start()
    await b.start()
    try:
        yield hub, a, b
    finally:
        await a.close()
        await b.close()


def test_create_bus_without_url_is_a_private_memory_bus() -> None:
    one, two = create_bus(None), create_bus(None, instance_id="worker-1")

    assert isinstance(one, MemoryBus) and isinstance(two, MemoryBus)
    assert one.kind == "memory"
    assert two.instance_id == "worker-1"
    assert len(one.instance_id) == 32 and one.instance_id != create_bus(None).instance_id
    assert one.hub is not two.hub
    assert one.healthy


def test_create_bus_with_url_builds_an_unstarted_redis_bus() -> None:
    bus = create_bus("redis://:s3cret@127.0.0.1:6390/2", instance_id="w1")

    assert bus.kind == "redis"
    assert bus.instance_id == "w1"
    assert not bus.healthy
    assert "s3cret" not in repr(bus)
    assert "127.0.0.1:6390" in repr(bus)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("http://s3cret@example.com", "scheme 'http'"),
        ("localhost:6379", "scheme 'localhost'"),
        ("redis://:s3cret@127.0.0.1:notaport/0", "Port could not be cast"),
        ("redis://:s3cret@127.0.0.1:99999/0", "Port out of range"),
        ("redis://:s3cret@/0", "no host"),
        ("redis://:s3cret@127.0.0.1/zero", "database number"),
        ("redis://:s3cret@127.0.0.1/0?socket_timeout=soon", "socket_timeout"),
        ("unix://", "no socket path"),
    ],
)
def test_invalid_redis_urls_fail_with_one_line(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match="Redis URL") as caught:
        create_bus(url)

    message = str(caught.value)
    assert reason in message
    assert "\n" not in message
    assert "s3cret" not in message


@pytest.mark.parametrize("instance_id", ["", "has space", "x" * 256, "ünï"])
def test_instance_ids_must_fit_the_envelope(instance_id: str) -> None:
    with pytest.raises(ValueError, match="instance_id"):
        MemoryBus(instance_id=instance_id)


async def test_publish_before_start_is_a_programming_error() -> None:
    bus = MemoryBus()
    with pytest.raises(RuntimeError, match=r"start\(\)"):
        await bus.publish("room:1", b"x")
    await bus.close()


async def test_subscriptions_made_before_start_deliver_after_start() -> None:
    hub = MemoryHub()
    a, b = MemoryBus(hub), MemoryBus(hub)
    got = Recorder()
    await b.subscribe("room:1", got)
    await a.start()
    await b.start()
    try:
        await a.publish("room:1", b"x")
        assert await got.wait_for(1) == [("room:1", b"x")]
    finally:
        await a.close()
        await b.close()


async def test_hub_outage_pauses_delivery_and_runs_reconnect_callbacks(
    hub_pair: tuple[MemoryHub, MemoryBus, MemoryBus],
) -> None:
    hub, a, b = hub_pair
    got = Recorder()
    await b.subscribe("room:1", got)
    calls: list[str] = []

    async def resync_a() -> None:
        calls.append(f"a healthy={a.healthy}")

    async def broken() -> None:
        raise RuntimeError("re-sync failed")

    async def resync_b() -> None:
        calls.append(f"b healthy={b.healthy}")

    a.on_reconnect(resync_a)
    b.on_reconnect(broken)
    b.on_reconnect(resync_b)

    await hub.set_reachable(False)
    assert not a.healthy and not b.healthy
    assert await a.publish("room:1", b"lost") is False
    assert a.stats()["publish_failed"] == 1
    assert a.stats()["healthy"] == 0.0

    await hub.set_reachable(True)
    assert calls == ["a healthy=True", "b healthy=True"]
    assert a.stats()["reconnects"] == 1
    assert await a.publish("room:1", b"after") is True
    assert await got.wait_for(1) == [("room:1", b"after")]


async def test_a_full_queue_drops_and_counts_instead_of_growing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = MemoryHub()
    a, b = MemoryBus(hub), MemoryBus(hub, queue_size=3)
    gate = asyncio.Event()
    got = Recorder()

    async def slow(channel: str, payload: bytes) -> None:
        await gate.wait()
        await got(channel, payload)

    await a.start()
    await b.start()
    try:
        await b.subscribe("room:1", slow)
        with caplog.at_level(logging.WARNING, logger="collabcode.pubsub"):
            for i in range(10):
                assert await a.publish("room:1", bytes([i]))
        gate.set()

        assert await got.wait_for(3) == [("room:1", bytes([i])) for i in range(3)]
        stats = b.stats()
        assert stats["received"] == 10
        assert stats["dropped"] == 7
        overflow = [r for r in caplog.records if getattr(r, "event", "") == "pubsub.overflow"]
        assert len(overflow) == 1, "a flood must be logged once, not per message"
    finally:
        await a.close()
        await b.close()


async def test_stats_report_the_lag_and_depth(
    hub_pair: tuple[MemoryHub, MemoryBus, MemoryBus],
) -> None:
    _, a, b = hub_pair
    got = Recorder()
    await b.subscribe("room:1", got)
    await a.publish("room:1", b"x")
    await got.wait_for(1)

    stats = b.stats()
    assert stats["last_lag_seconds"] >= 0.0
    assert stats["queue_depth"] == 0.0
    assert stats["subscriptions"] == 1.0
    assert set(stats) >= {"published", "delivered", "dropped", "reconnects", "last_lag_seconds"}


@pytest.mark.parametrize(
    ("pattern", "channel", "matches"),
    [
        ("a*", "a", True),
        ("a*", "a\nb", True),
        ("*", "", True),
        ("a?", "a", False),
        ("[abc", "b", True),  # an unterminated class ends with the pattern, as in Redis
        ("x[^]", "xy", True),
        ("x[]", "x", False),
        ("trail\\", "trail\\", True),
        ("a.b", "axb", False),
        ("(a)", "(a)", True),
    ],
)
def test_glob_edge_cases(pattern: str, channel: str, matches: bool) -> None:
    assert bool(glob_to_regex(pattern).fullmatch(channel)) is matches
