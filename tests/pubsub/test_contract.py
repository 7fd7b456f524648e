"""The contract every bus keeps, run against the in-process hub and against Redis."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import warnings

import pytest

from collabcode.pubsub import Bus
from tests.fixtures_bus import Recorder

Pair = tuple[Bus, Bus]


async def test_publish_reaches_the_other_process(bus_pair: Pair) -> None:
    a, b = bus_pair
    got = Recorder()
    await b.subscribe("room:1", got)

    assert await a.publish("room:1", b"hello") is True

    assert await got.wait_for(1) == [("room:1", b"hello")]
    assert a.stats()["published"] == 1
    assert b.stats()["delivered"] == 1


async def test_a_bus_never_receives_its_own_messages(bus_pair: Pair) -> None:
    a, b = bus_pair
    on_a, on_b = Recorder(), Recorder()
    await a.subscribe("room:1", on_a)
    await b.subscribe("room:1", on_b)

    await a.publish("room:1", b"from a")
    await on_b.wait_for(1)
    await b.publish("room:1", b"from b")

    # Per-channel order holds, so had a seen its own message it would precede b's.
    assert await on_a.wait_for(1) == [("room:1", b"from b")]
    assert on_b.messages == [("room:1", b"from a")]
    assert a.stats()["ignored_own"] == 1
    assert b.stats()["ignored_own"] == 1


async def test_psubscribe_delivers_the_concrete_channel(bus_pair: Pair) -> None:
    a, b = bus_pair
    got = Recorder()
    await b.psubscribe("collab:*", got)

    for channel in ("collab:ws1:file1", "chat:42", "collabx", "collab:"):
        await a.publish(channel, channel.encode())

    assert await got.wait_for(2) == [
        ("collab:ws1:file1", b"collab:ws1:file1"),
        ("collab:", b"collab:"),
    ]


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        ("u?er", ["user", "uxer"], ["uer", "usser"]),
        ("h[ae]llo", ["hallo", "hello"], ["hillo", "hllo"]),
        ("h[^e]llo", ["hallo", "h-llo"], ["hello"]),
        ("v[a-c]", ["va", "vc"], ["vd", "v-"]),
        ("w[c-a]", ["wb"], ["wd"]),
        ("lit\\*x", ["lit*x"], ["litax"]),
        ("k[\\]]", ["k]"], ["k\\"]),
        ("m[ab", ["ma", "mb"], ["m", "mab", "mc"]),
        ("n[^]", ["nx", "n]"], ["n", "nxy"]),
        ("e[]", [], ["e", "e]"]),
    ],
)
async def test_glob_patterns_match_like_redis(
    bus_pair: Pair, pattern: str, matching: list[str], other: list[str]
) -> None:
    a, b = bus_pair
    got, end = Recorder(), Recorder()
    await b.psubscribe(pattern, got)
    await b.subscribe("end", end)

    for channel in [*other, *matching]:
        await a.publish(channel, b"x")
    await a.publish("end", b"")
    await end.wait_for(1)

    # One bus reads one ordered stream, so everything published before "end" has arrived.
    assert [channel for channel, _ in got.messages] == matching


async def test_channel_and_pattern_subscriptions_each_get_a_copy(bus_pair: Pair) -> None:
    a, b = bus_pair
    exact, pattern = Recorder(), Recorder()
    await b.subscribe("room:1", exact)
    await b.psubscribe("room:*", pattern)

    await a.publish("room:1", b"m")

    assert await exact.wait_for(1) == [("room:1", b"m")]
    assert await pattern.wait_for(1) == [("room:1", b"m")]


async def test_unsubscribe_stops_delivery(bus_pair: Pair) -> None:
    a, b = bus_pair
    first, second, other = Recorder(), Recorder(), Recorder()
    sub_first = await b.subscribe("room:1", first)
    sub_second = await b.subscribe("room:1", second)
    await a.publish("room:1", b"1")
    await second.wait_for(1)

    await sub_first.unsubscribe()
    await sub_first.unsubscribe()  # a second call is harmless
    await a.publish("room:1", b"2")
    # Handlers run in subscription order, so first would have had "2" before second.
    assert await second.wait_for(2) == [("room:1", b"1"), ("room:1", b"2")]
    assert first.payloads == [b"1"]

    # With the last subscription gone the broker stops sending the channel altogether.
    await sub_second.unsubscribe()
    await b.subscribe("room:2", other)
    await a.publish("room:1", b"3")
    await a.publish("room:2", b"4")
    assert await other.wait_for(1) == [("room:2", b"4")]
    assert second.payloads == [b"1", b"2"]
    assert b.stats()["subscriptions"] == 1


async def test_pattern_unsubscribe_stops_delivery(bus_pair: Pair) -> None:
    a, b = bus_pair
    pattern, end = Recorder(), Recorder()
    sub = await b.psubscribe("room:*", pattern)
    await b.subscribe("end", end)
    await sub.unsubscribe()

    await a.publish("room:1", b"x")
    await a.publish("end", b"")
    await end.wait_for(1)

    assert pattern.messages == []


async def test_order_is_preserved_for_a_thousand_messages(bus_pair: Pair) -> None:
    a, b = bus_pair
    got = Recorder()
    await b.subscribe("doc", got)
    sent = [i.to_bytes(4, "big") for i in range(1000)]

    for payload in sent:
        assert await a.publish("doc", payload)

    await got.wait_for(1000, timeout=10)
    assert got.payloads == sent
    assert b.stats()["dropped"] == 0


async def test_a_failing_handler_does_not_stop_the_others(bus_pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    a, b = bus_pair
    failing, healthy, elsewhere = Recorder(fail=True), Recorder(), Recorder()
    await b.subscribe("room:1", failing)
    await b.subscribe("room:1", healthy)
    await b.subscribe("room:2", elsewhere)

    with caplog.at_level(logging.ERROR, logger="collabcode.pubsub"):
        await a.publish("room:1", b"1")
        await a.publish("room:1", b"2")
        await a.publish("room:2", b"3")
        await elsewhere.wait_for(1)

    assert healthy.payloads == [b"1", b"2"]
    assert failing.payloads == [b"1", b"2"]
    assert b.stats()["handler_errors"] == 2
    failures = [r for r in caplog.records if "handler" in r.getMessage()]
    assert failures, "a failing handler must be logged"
    assert failures[0].exc_info is not None


async def test_binary_payloads_arrive_byte_for_byte(bus_pair: Pair) -> None:
    a, b = bus_pair
    got = Recorder()
    await b.subscribe("bin", got)
    payloads = [
        b"",
        bytes(range(256)),
        b"\x00" * 17,
        b"\x01\x20" + b"looks-like-an-envelope",
        b"\r\n$3\r\nfoo\r\n",
        os.urandom(256 * 1024),
    ]

    for payload in payloads:
        await a.publish("bin", payload)

    await got.wait_for(len(payloads))
    assert got.payloads == payloads


async def test_unicode_channel_names(bus_pair: Pair) -> None:
    a, b = bus_pair
    exact, pattern = Recorder(), Recorder()
    await b.subscribe("room:ünïcødé:✓", exact)
    await b.psubscribe("room:ü*", pattern)

    await a.publish("room:ünïcødé:✓", b"x")

    assert await exact.wait_for(1) == [("room:ünïcødé:✓", b"x")]
    assert await pattern.wait_for(1) == [("room:ünïcødé:✓", b"x")]


async def test_concurrent_subscribers_are_ready_when_subscribe_returns(bus_pair: Pair) -> None:
    a, b = bus_pair
    recorders = [Recorder() for _ in range(5)]

    await asyncio.gather(*(b.subscribe("room:1", r) for r in recorders))
    await a.publish("room:1", b"x")

    for recorder in recorders:
        assert await recorder.wait_for(1) == [("room:1", b"x")]


async def test_bad_arguments_are_programming_errors(bus_pair: Pair) -> None:
    a, _ = bus_pair
    with pytest.raises(TypeError, match="payload must be bytes"):
        await a.publish("room:1", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channel must be a non-empty string"):
        await a.publish("", b"x")
    with pytest.raises(ValueError, match="pattern must be a non-empty string"):
        await a.psubscribe("", Recorder())


async def test_close_is_clean_and_final(bus_pair: Pair) -> None:
    a, b = bus_pair
    got = Recorder()
    await b.subscribe("room:1", got)
    await a.publish("room:1", b"x")
    await got.wait_for(1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await a.close()
        await b.close()
        await a.close()  # idempotent
        gc.collect()
        await asyncio.sleep(0)  # let transports finish closing
        gc.collect()

    assert [str(w.message) for w in caught] == []
    ours = [t for t in asyncio.all_tasks() if t.get_name().startswith("collabcode.pubsub") and not t.done()]
    assert ours == []
    assert await a.publish("room:1", b"late") is False
    with pytest.raises(RuntimeError, match="closed"):
        await b.subscribe("room:1", got)
    with pytest.raises(RuntimeError, match="closed"):
        await b.start()
