"""Rate limits: GCRA buckets, in memory or on Redis, never unlimited.

A :class:`Rate` is a burst and a refill interval: ``Rate(burst=5, per=60)`` allows five requests
at once, then one more every minute. The Generic Cell Rate Algorithm keeps one number per key
(the "theoretical arrival time"), so a bucket costs a few bytes and a single atomic step.

``MemoryRateLimiter`` serves one process. ``RedisRateLimiter`` shares buckets between processes;
when Redis does not answer it falls back to its own in-memory buckets (fail closed: limits still
apply, per process) and tries Redis again a few seconds later. Keys are hashed, so attacker
controlled strings (login names, addresses) never reach Redis or grow memory unboundedly.

Features get the instance's limiter with :func:`limiter_for`; time comes from the injected clock,
so tests advance a fake clock instead of sleeping.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import Counter

from collabcode.clock import Clock

if TYPE_CHECKING:
    from collabcode.services import Services

log = logging.getLogger(__name__)

#: How long the Redis limiter uses its in-memory fallback after a failure before trying again.
REDIS_RETRY_SECONDS = 5.0
#: Redis must answer within this; a slow Redis must not stall logins.
REDIS_TIMEOUT_SECONDS = 0.5
#: The in-memory limiter forgets the oldest buckets once it holds this many live ones.
DEFAULT_MAX_KEYS = 100_000
#: The in-memory limiter drops expired buckets at least this often (seconds) while requests arrive.
PRUNE_SECONDS = 30.0

_EXTRAS_KEY = "ratelimit"

# KEYS[1] bucket key; ARGV: now (s), interval (s), burst, cost. Returns {allowed, number}:
# allowed=1 with the remaining count, or allowed=0 with the seconds until the next request fits.
_GCRA_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, tostring(allow_at - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {1, tostring((now - allow_at) / interval)}
"""


@dataclass(frozen=True)
class Rate:
    """``burst`` requests at once, then one more every ``per`` seconds."""

    burst: int
    per: float

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per <= 0:
            raise ValueError(f"a rate needs burst >= 1 and per > 0, got burst={self.burst} per={self.per}")


@dataclass(frozen=True)
class Decision:
    """The answer for one request: allowed, or how long to wait (``Retry-After``)."""

    allowed: bool
    retry_after: float = 0.0
    remaining: int = 0


class RateLimiter(Protocol):
    kind: str

    async def hit(self, bucket: str, key: str, rate: Rate, cost: int = 1) -> Decision:
        """Count a request against ``bucket``/``key``; denied requests are not counted."""
        ...

    async def close(self) -> None: ...


def bucket_key(bucket: str, key: str) -> str:
    """A short fixed-size key: the bucket name plus a hash of the (possibly hostile) key."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{bucket}:{digest}"


def gcra(tat: float | None, now: float, rate: Rate, cost: int) -> tuple[Decision, float | None]:
    """One GCRA step: the decision and the new arrival time to store (None: store nothing)."""
    start = now if tat is None or tat < now else tat
    new_tat = start + rate.per * cost
    allow_at = new_tat - rate.per * rate.burst
    if now < allow_at:
        return Decision(False, retry_after=allow_at - now), None
    return Decision(True, remaining=int((now - allow_at) / rate.per + 1e-9)), new_tat


class MemoryRateLimiter:
    """Buckets in this process's memory, bounded by ``max_keys``."""

    kind = "memory"

    def __init__(self, clock: Clock, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._tats: dict[str, float] = {}
        self._pruned_at = clock.monotonic()

    def __len__(self) -> int:
        return len(self._tats)

    def hit_now(self, bucket: str, key: str, rate: Rate, cost: int = 1) -> Decision:
        now = self._clock.monotonic()
        if now - self._pruned_at >= PRUNE_SECONDS:
            self._evict(now)
        name = bucket_key(bucket, key)
        decision, new_tat = gcra(self._tats.get(name), now, rate, cost)
        if new_tat is not None:
            self._tats[name] = new_tat
            if len(self._tats) > self._max_keys:
                self._evict(now)
        return decision

    async def hit(self, bucket: str, key: str, rate: Rate, cost: int = 1) -> Decision:
        return self.hit_now(bucket, key, rate, cost)

    def prune(self) -> int:
        """Drop expired buckets now; returns how many are left (the ``/metrics`` gauge)."""
        self._evict(self._clock.monotonic())
        return len(self._tats)

    def _evict(self, now: float) -> None:
        """Forget full buckets (their arrival time is past: the same as no bucket); then the
        oldest, if still too many. Without this, every key ever seen would stay in memory."""
        self._pruned_at = now
        self._tats = {k: v for k, v in self._tats.items() if v > now}
        overflow = len(self._tats) - self._max_keys
        if overflow > 0:
            for name in list(self._tats)[:overflow]:
                del self._tats[name]

    async def close(self) -> None:
        self._tats.clear()


class RedisRateLimiter:
    """Buckets shared through Redis; its own memory buckets while Redis is unreachable."""

    kind = "redis"

    def __init__(self, url: str, clock: Clock, *, key_prefix: str = "collabcode:rl:", client: Any = None) -> None:
        import redis.asyncio as aioredis

        self._clock = clock
        self._prefix = key_prefix
        self._client = client or aioredis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._script = self._client.register_script(_GCRA_LUA)
        self.fallback = MemoryRateLimiter(clock)
        self._down_until: float | None = None

    @property
    def degraded(self) -> bool:
        """True while limits are kept in memory because Redis failed recently."""
        return self._down_until is not None

    async def hit(self, bucket: str, key: str, rate: Rate, cost: int = 1) -> Decision:
        if self._down_until is not None and self._clock.monotonic() < self._down_until:
            return self.fallback.hit_now(bucket, key, rate, cost)
        try:
            allowed, number = await self._script(
                keys=[self._prefix + bucket_key(bucket, key)],
                args=[repr(self._clock.now()), repr(rate.per), rate.burst, cost],
            )
        except Exception as exc:  # any Redis failure: limits continue in memory (fail closed)
            if self._down_until is None:
                log.warning(
                    "Redis unreachable for rate limits (%s); limiting in memory per process",
                    type(exc).__name__,
                    extra={"event": "dependency.down", "dependency": "redis_ratelimit"},
                )
            self._down_until = self._clock.monotonic() + REDIS_RETRY_SECONDS
            return self.fallback.hit_now(bucket, key, rate, cost)
        if self._down_until is not None:
            self._down_until = None
            log.info(
                "Redis reachable again for rate limits",
                extra={"event": "dependency.up", "dependency": "redis_ratelimit"},
            )
        value = float(number.decode() if isinstance(number, bytes) else number)
        if int(allowed) == 1:
            return Decision(True, remaining=int(value + 1e-9))
        return Decision(False, retry_after=value)

    async def close(self) -> None:
        await self._client.aclose()
        await self.fallback.close()


def create_rate_limiter(redis_url: str | None, clock: Clock) -> RateLimiter:
    """Redis-backed when a URL is given (with an in-memory fallback), otherwise in memory."""
    if redis_url:
        return RedisRateLimiter(redis_url, clock)
    return MemoryRateLimiter(clock)


class CountingRateLimiter:
    """A limiter that counts refusals by bucket for /metrics (who is being throttled, and how often)."""

    def __init__(self, inner: RateLimiter, refused: Counter) -> None:
        self._inner = inner
        self._refused = refused
        self.kind = inner.kind

    @property
    def inner(self) -> RateLimiter:
        return self._inner

    def stats(self) -> dict[str, float]:
        """Buckets held in this process's memory (the Redis limiter's fallback), expired ones dropped."""
        inner = self._inner
        memory = inner.fallback if isinstance(inner, RedisRateLimiter) else inner
        return {"buckets": float(memory.prune())} if isinstance(memory, MemoryRateLimiter) else {}

    async def hit(self, bucket: str, key: str, rate: Rate, cost: int = 1) -> Decision:
        decision = await self._inner.hit(bucket, key, rate, cost)
        if not decision.allowed:
            self._refused.labels(bucket.split(":", 1)[0][:48]).inc()
        return decision

    async def close(self) -> None:
        await self._inner.close()


def limiter_for(services: Services) -> RateLimiter:
    """The instance's limiter, created on first use and closed at shutdown."""
    limiter: RateLimiter | None = services.extras.get(_EXTRAS_KEY)
    if limiter is None:
        refused = Counter(
            "collabcode_rate_limited",
            "Requests refused by a rate limit, by bucket.",
            ["bucket"],
            registry=services.metrics.registry,
        )
        limiter = CountingRateLimiter(create_rate_limiter(services.settings.redis_url, services.clock), refused)
        services.extras[_EXTRAS_KEY] = limiter
        services.shutdown_hooks.append(limiter.close)
        services.metrics.add_stats("collabcode_ratelimit", limiter.stats, "Rate-limit buckets in this process")
    return limiter


def retry_seconds(decision: Decision) -> int:
    """``Retry-After`` in whole seconds, at least 1."""
    return max(1, math.ceil(decision.retry_after))
