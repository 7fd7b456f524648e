"""The soak (benchmarks/soak.py), short: two small waves on one real server, then everything the
process held for those people (sockets, rooms, hub and presence entries, rate-limit buckets,
calls, typing throttles, file descriptors) must be back at the warm-up baseline.

People keep the token made with their account (no ``POST /api/auth/login``, whose buckets live
60 s) and end every call themselves (no 20 s hang-up grace), so it settles in seconds; the
15-minute run in docs/performance.md does both.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import soak  # noqa: E402

from collabcode.clock import FakeClock  # noqa: E402
from collabcode.ratelimit import PRUNE_SECONDS, MemoryRateLimiter, Rate  # noqa: E402

CONFIG = soak.SoakConfig(
    minutes=0.25,
    pairs=(3, 4),
    wave_seconds=6.0,
    settle_timeout=30.0,
    http_sign_in=False,
    abandon_last_call=False,
    call_hold=1.2,
    call_pause=1.0,
    typing_interval=1.0,
)


async def test_state_returns_to_baseline_after_people_leave() -> None:
    started = time.monotonic()
    result = await soak.run(CONFIG, log=lambda _line: None)
    report = soak.table(result) + "\n" + soak.summary(result)

    assert not result.grew, report
    assert result.counts.waves == 2 and not result.counts.errors, report
    assert result.counts.calls >= 4 and result.counts.messages > 0 and result.counts.edits > 0, report
    rows = {row.name: row for row in result.rows}
    # The load really held state: these rose above their baseline while people were there (the
    # short-lived ones, live calls, signaling buckets and typing throttles, may fall between two
    # samples, so they are only compared after the people left).
    exercised = [
        "open fds",
        "events sockets open",
        "collab sockets open",
        "rooms loaded",
        "hub sockets",
        "hub bus subscriptions",
        "presence sockets",
        "rate-limit buckets",
    ]
    assert all(rows[name].seen > rows[name].baseline for name in exercised), report
    assert all(rows[name].after == rows[name].baseline for name in exercised if name != "open fds"), report
    assert time.monotonic() - started < 120, report


async def test_memory_limiter_forgets_expired_buckets_while_requests_arrive() -> None:
    """Buckets of people who went away are dropped by later requests, not kept until 100,000 keys."""
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    for person in range(50):
        assert (await limiter.hit("login", f"person-{person}", Rate(burst=5, per=1.0))).allowed
    assert len(limiter) == 50
    clock.advance(PRUNE_SECONDS)
    assert (await limiter.hit("login", "someone-new", Rate(burst=5, per=1.0))).allowed
    assert len(limiter) == 1


async def test_memory_limiter_prune_keeps_live_buckets() -> None:
    """A bucket still limiting someone survives the prune (forgetting it would reset the limit)."""
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    slow = Rate(burst=1, per=60.0)
    assert (await limiter.hit("signup", "a", slow)).allowed
    assert (await limiter.hit("ws", "b", Rate(burst=1, per=1.0))).allowed
    clock.advance(2.0)
    assert limiter.prune() == 1
    assert not (await limiter.hit("signup", "a", slow)).allowed
