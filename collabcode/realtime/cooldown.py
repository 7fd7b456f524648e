"""After a socket is closed for its rate (4429), its user waits before opening another one.

Socket rate limits are token buckets per socket, so without this a client could close a
socket the moment its burst is spent and open a fresh one with a full burst, again and again:
the sustained rate would be one burst per handshake instead of the configured rate. Until the
cool-down ends (at least the time the burst takes to refill) the user's handshakes are refused
(HTTP 403, ``ws.handshake_rejected{reason=rate_limited}``); one per process, per endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collabcode.clock import Clock

if TYPE_CHECKING:
    from collabcode.services import Services

__all__ = ["Cooldowns", "cooldowns_for"]

#: Entries kept before expired ones are dropped.
_PRUNE_AT = 10_000


class Cooldowns:
    """User id -> monotonic time until which that user may not open a socket."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._started = 0
        self._refused = 0

    def start(self, user_id: str, seconds: float) -> None:
        now = self._clock.monotonic()
        if len(self._until) >= _PRUNE_AT:
            self._until = {user: until for user, until in self._until.items() if until > now}
        self._until[user_id] = max(now + seconds, self._until.get(user_id, 0.0))
        self._started += 1

    def remaining(self, user_id: str) -> float:
        """Seconds until ``user_id`` may open a socket again (0.0: now)."""
        until = self._until.get(user_id)
        if until is None:
            return 0.0
        left = until - self._clock.monotonic()
        if left <= 0:
            del self._until[user_id]
            return 0.0
        self._refused += 1
        return left

    def stats(self) -> dict[str, float]:
        """For /metrics: users cooling down now, cool-downs started and handshakes refused."""
        now = self._clock.monotonic()
        active = sum(1 for until in self._until.values() if until > now)
        return {"active": active, "started": self._started, "refused": self._refused}


def cooldowns_for(services: Services, endpoint: str) -> Cooldowns:
    """The process's cool-downs of ``endpoint`` (kept in ``services.extras``, shown in /metrics)."""
    key = f"cooldowns:{endpoint}"
    found = services.extras.get(key)
    if not isinstance(found, Cooldowns):
        found = services.extras[key] = Cooldowns(services.clock)
        services.metrics.add_stats(
            f"collabcode_{endpoint}_socket_cooldowns", found.stats, f"Cool-downs after 4429 on /ws/{endpoint}"
        )
    return found
