"""GCRA buckets in memory and on Redis, and the fail-closed fallback when Redis is down."""

from __future__ import annotations

import uuid

import pytest

from collabcode.clock import FakeClock
from collabcode.ratelimit import MemoryRateLimiter, Rate, RateLimiter, RedisRateLimiter, retry_seconds
from tests.services import require_redis


async def _burst(limiter: RateLimiter, rate: Rate, key: str = "k", count: int = 10) -> list[bool]:
    return [(await limiter.hit("test", key, rate)).allowed for _ in range(count)]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest):
    clock = FakeClock()
    if request.param == "memory":
        made: RateLimiter = MemoryRateLimiter(clock)
    else:
        made = RedisRateLimiter(require_redis(), clock, key_prefix=f"test-{uuid.uuid4().hex}:")
    yield made, clock
    await made.close()


async def test_burst_then_denied_with_retry_after(limiter) -> None:
    rl, _clock = limiter
    rate = Rate(burst=5, per=60)
    assert await _burst(rl, rate, count=6) == [True] * 5 + [False]
    denied = await rl.hit("test", "k", rate)
    assert not denied.allowed and 59 <= denied.retry_after <= 60
    assert retry_seconds(denied) == 60


async def test_refills_one_per_interval_as_the_clock_moves(limiter) -> None:
    rl, clock = limiter
    rate = Rate(burst=2, per=10)
    assert await _burst(rl, rate, count=3) == [True, True, False]
    clock.advance(10)
    assert await _burst(rl, rate, count=2) == [True, False]
    clock.advance(25)
    assert await _burst(rl, rate, count=3) == [True, True, False]


async def test_keys_and_buckets_are_independent(limiter) -> None:
    rl, _clock = limiter
    rate = Rate(burst=1, per=60)
    assert (await rl.hit("a", "x", rate)).allowed
    assert not (await rl.hit("a", "x", rate)).allowed
    assert (await rl.hit("a", "y", rate)).allowed
    assert (await rl.hit("b", "x", rate)).allowed


async def test_denied_requests_are_not_counted(limiter) -> None:
    rl, clock = limiter
    rate = Rate(burst=1, per=10)
    assert (await rl.hit("t", "k", rate)).allowed
    for _ in range(20):
        assert not (await rl.hit("t", "k", rate)).allowed
    clock.advance(10)
    assert (await rl.hit("t", "k", rate)).allowed


async def test_memory_limiter_stays_bounded() -> None:
    clock = FakeClock()
    rl = MemoryRateLimiter(clock, max_keys=100)
    rate = Rate(burst=1, per=3600)
    for i in range(1000):
        await rl.hit("t", f"key-{i}", rate)
    assert len(rl) <= 100


async def test_redis_down_falls_back_to_memory_and_still_limits() -> None:
    clock = FakeClock()
    rl = RedisRateLimiter("redis://127.0.0.1:1/0", clock)
    try:
        rate = Rate(burst=3, per=60)
        assert await _burst(rl, rate, count=4) == [True, True, True, False]
        assert rl.degraded
        clock.advance(10)  # past the retry pause: Redis is tried again, fails, memory still limits
        assert await _burst(rl, rate, count=2) == [False, False]
    finally:
        await rl.close()


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="burst"):
        Rate(burst=0, per=1)
    with pytest.raises(ValueError, match="per"):
        Rate(burst=1, per=0)
