"""Time as an injected dependency, so tests advance it instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch (token expiry, timestamps)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (timeouts, debounce, rate limits)."""


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._mono = 1000.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds


def now_ms(clock: Clock) -> int:
    """Milliseconds since the epoch: how the database stores times."""
    return int(clock.now() * 1000)
