"""Presence: online, away or offline, counted over every open events socket in every process.

Each ``/ws/events`` socket registers itself with a state (``online``, or ``away`` when its tab
is hidden or idle, a hint the client gives about its own socket only) and a time-to-live that
its heartbeat renews. A user is ``online`` if any live socket is online, ``away`` if all live
sockets are away, ``offline`` if none is live. A process that dies without saying goodbye
leaves sockets that expire after :data:`SOCKET_TTL`; a sweep then reports the user offline.

Two stores behind one small interface: :class:`MemoryPresence` (one process; also shared by
every ``MemoryBus`` on one ``MemoryHub``, which is how tests run "two processes" without Redis)
and :class:`RedisPresence` (a hash of live sockets per user plus one sorted set of expiry
times, changed only by Lua scripts, so a transition is computed atomically across processes).

:class:`Presence` turns transitions into ``presence`` frames for the people allowed to see them
(:meth:`Presence.presence_audience`), stores last-seen times and honours the invisible setting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from collabcode.clock import Clock, now_ms
from collabcode.db import Database
from collabcode.realtime import store

if TYPE_CHECKING:
    from collabcode.realtime.hub import EventsHub

log = logging.getLogger(__name__)

SocketState = Literal["online", "away"]
Status = Literal["online", "away", "offline"]

#: A socket not renewed for this long counts as gone (its process probably died).
SOCKET_TTL = 60.0
#: How often an open socket renews its registration (and its session is checked again).
HEARTBEAT_SECONDS = 10.0
#: How often each process looks for sockets that expired.
SWEEP_SECONDS = 5.0


def aggregate(states: Iterable[str]) -> Status:
    best: Status = "offline"
    for state in states:
        if state == "online":
            return "online"
        if state == "away":
            best = "away"
    return best


@dataclass(frozen=True, slots=True)
class Transition:
    user_id: str
    before: Status
    after: Status


class PresenceStore(Protocol):
    kind: str

    async def update(self, user_id: str, socket_id: str, state: SocketState | None, now: float) -> Transition:
        """Register or renew a socket (``state``) or remove it (``None``); the user's before/after."""
        ...

    async def status(self, user_ids: Sequence[str], now: float) -> dict[str, Status]: ...

    async def sweep(self, now: float) -> list[Transition]:
        """Drop expired sockets; the users whose status changed because of it."""
        ...

    async def close(self) -> None: ...


class MemoryPresence:
    """Live sockets in this process's memory (or in the memory of a shared ``MemoryHub``)."""

    kind = "memory"

    def __init__(self, ttl: float = SOCKET_TTL) -> None:
        self._ttl = ttl
        self._sockets: dict[str, dict[str, tuple[str, float]]] = {}

    def _live(self, user_id: str, now: float) -> list[str]:
        return [state for state, expires in self._sockets.get(user_id, {}).values() if expires > now]

    async def update(self, user_id: str, socket_id: str, state: SocketState | None, now: float) -> Transition:
        before = aggregate(self._live(user_id, now))
        sockets = self._sockets.setdefault(user_id, {})
        if state is None:
            sockets.pop(socket_id, None)
        else:
            sockets[socket_id] = (state, now + self._ttl)
        if not sockets:
            del self._sockets[user_id]
        return Transition(user_id, before, aggregate(self._live(user_id, now)))

    async def status(self, user_ids: Sequence[str], now: float) -> dict[str, Status]:
        return {user_id: aggregate(self._live(user_id, now)) for user_id in user_ids}

    async def sweep(self, now: float) -> list[Transition]:
        changes: list[Transition] = []
        for user_id in list(self._sockets):
            sockets = self._sockets[user_id]
            expired = [sid for sid, (_, expires) in sockets.items() if expires <= now]
            if not expired:
                continue
            before = aggregate(state for sid, (state, expires) in sockets.items() if expires > now or sid in expired)
            for sid in expired:
                del sockets[sid]
            after = aggregate(state for state, expires in sockets.values() if expires > now)
            if not sockets:
                del self._sockets[user_id]
            if before != after:
                changes.append(Transition(user_id, before, after))
        return changes

    async def close(self) -> None:
        return None

    def stats(self) -> dict[str, float]:
        """Users and sockets registered here (``/metrics``; all 0 once everyone left)."""
        return {"users": float(len(self._sockets)), "sockets": float(sum(len(s) for s in self._sockets.values()))}


_STATUS_LUA = """
local function status(key, now, extra)
  local best = 'offline'
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local v = all[i + 1]
    local sep = string.find(v, '|', 1, true)
    local state = string.sub(v, 1, sep - 1)
    if tonumber(string.sub(v, sep + 1)) > now or all[i] == extra then
      if state == 'online' then return 'online' end
      best = 'away'
    end
  end
  return best
end
"""

# KEYS[1] the user's hash, KEYS[2] the expiry set; ARGV: socket id, state ('' removes), now ms,
# ttl ms, user id. Fields are "<state>|<expires ms>". Returns {before, after}.
_UPDATE_LUA = (
    _STATUS_LUA
    + """
local now = tonumber(ARGV[3])
local before = status(KEYS[1], now, false)
local member = ARGV[5] .. '|' .. ARGV[1]
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], member)
else
  local expires = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. expires)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
  redis.call('ZADD', KEYS[2], expires, member)
end
return {before, status(KEYS[1], now, false)}
"""
)

# KEYS[1] the expiry set; ARGV: now ms, user key prefix, batch size. Returns a flat list of
# user, before, after for each user whose status changed.
_SWEEP_LUA = (
    _STATUS_LUA
    + """
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local sep = string.find(member, '|', 1, true)
  local user = string.sub(member, 1, sep - 1)
  local socket = string.sub(member, sep + 1)
  local key = ARGV[2] .. user
  local v = redis.call('HGET', key, socket)
  if v then
    local vsep = string.find(v, '|', 1, true)
    if tonumber(string.sub(v, vsep + 1)) <= now then
      local before = status(key, now, socket)
      redis.call('HDEL', key, socket)
      local after = status(key, now, false)
      if before ~= after then
        table.insert(out, user)
        table.insert(out, before)
        table.insert(out, after)
      end
    end
  end
end
return out
"""
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _status(value: Any) -> Status:
    text = _text(value)
    return "online" if text == "online" else "away" if text == "away" else "offline"


class RedisPresence:
    """Live sockets in Redis, shared by every process of a deployment."""

    kind = "redis"

    def __init__(
        self, url: str, *, key_prefix: str = "collabcode:presence:", ttl: float = SOCKET_TTL, client: Any = None
    ) -> None:
        import redis.asyncio as aioredis

        self._prefix = key_prefix
        self._expiry_key = key_prefix + "expiry"
        self._ttl_ms = int(ttl * 1000)
        self._client = client or aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._update = self._client.register_script(_UPDATE_LUA)
        self._sweep = self._client.register_script(_SWEEP_LUA)

    def _key(self, user_id: str) -> str:
        return self._prefix + "u:" + user_id

    async def update(self, user_id: str, socket_id: str, state: SocketState | None, now: float) -> Transition:
        before, after = await self._update(
            keys=[self._key(user_id), self._expiry_key],
            args=[socket_id, state or "", int(now * 1000), self._ttl_ms, user_id],
        )
        return Transition(user_id, _status(before), _status(after))

    async def status(self, user_ids: Sequence[str], now: float) -> dict[str, Status]:
        if not user_ids:
            return {}
        now_ms_ = int(now * 1000)
        async with self._client.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hvals(self._key(user_id))
            results = await pipe.execute()
        statuses: dict[str, Status] = {}
        for user_id, values in zip(user_ids, results, strict=True):
            live = []
            for raw in values:
                state, _, expires = _text(raw).partition("|")
                if expires and int(expires) > now_ms_:
                    live.append(state)
            statuses[user_id] = aggregate(live)
        return statuses

    async def sweep(self, now: float) -> list[Transition]:
        flat = await self._sweep(keys=[self._expiry_key], args=[int(now * 1000), self._prefix + "u:", 500])
        items = [_text(v) for v in flat]
        return [Transition(items[i], _status(items[i + 1]), _status(items[i + 2])) for i in range(0, len(items) - 2, 3)]

    async def close(self) -> None:
        await self._client.aclose()


class FallbackPresence:
    """A Redis store that keeps working in memory (per process) while Redis does not answer.

    Sockets renew their registration every heartbeat, so Redis is complete again one heartbeat
    after it comes back.
    """

    def __init__(self, primary: PresenceStore, clock: Clock, retry_seconds: float = 5.0) -> None:
        self.kind = primary.kind
        self._primary = primary
        self._fallback = MemoryPresence()
        self._clock = clock
        self._retry = retry_seconds
        self._down_until: float | None = None

    @property
    def degraded(self) -> bool:
        return self._down_until is not None

    def _use_primary(self) -> bool:
        return self._down_until is None or self._clock.monotonic() >= self._down_until

    def _failed(self, exc: BaseException) -> None:
        if self._down_until is None:
            log.warning(
                "Redis unreachable for presence (%s); counting sockets per process",
                type(exc).__name__,
                extra={"event": "dependency.down", "dependency": "redis_presence"},
            )
        self._down_until = self._clock.monotonic() + self._retry

    def _recovered(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            log.info(
                "Redis reachable again for presence", extra={"event": "dependency.up", "dependency": "redis_presence"}
            )

    async def update(self, user_id: str, socket_id: str, state: SocketState | None, now: float) -> Transition:
        local = await self._fallback.update(user_id, socket_id, state, now)
        if self._use_primary():
            try:
                result = await self._primary.update(user_id, socket_id, state, now)
            except Exception as exc:
                self._failed(exc)
                return local
            self._recovered()
            return result
        return local

    async def status(self, user_ids: Sequence[str], now: float) -> dict[str, Status]:
        if self._use_primary():
            try:
                result = await self._primary.status(user_ids, now)
            except Exception as exc:
                self._failed(exc)
            else:
                self._recovered()
                return result
        return await self._fallback.status(user_ids, now)

    async def sweep(self, now: float) -> list[Transition]:
        local = await self._fallback.sweep(now)
        if self._use_primary():
            try:
                return await self._primary.sweep(now)
            except Exception as exc:
                self._failed(exc)
        return local

    async def close(self) -> None:
        await self._primary.close()

    def stats(self) -> dict[str, float]:
        """The per-process fallback's entries (the Redis side expires on its own)."""
        return self._fallback.stats()


_SHARED: weakref.WeakKeyDictionary[object, MemoryPresence] = weakref.WeakKeyDictionary()


def memory_presence_for(hub: object | None) -> MemoryPresence:
    """The in-memory store shared by every bus on ``hub`` (a private one when there is no hub)."""
    if hub is None:
        return MemoryPresence()
    shared = _SHARED.get(hub)
    if shared is None:
        shared = _SHARED[hub] = MemoryPresence()
    return shared


def iso(ms: int | None) -> str | None:
    """Milliseconds since the epoch as ISO 8601 UTC (``2026-01-02T03:04:05.678Z``), as the API writes times."""
    if ms is None:
        return None
    return _iso(ms)


@functools.lru_cache(maxsize=4096)
def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


AudienceSource = Callable[[str], Awaitable[set[str]]]
AudienceFilter = Callable[[str, set[str]], Awaitable[set[str]]]


@dataclass(frozen=True, slots=True)
class PresenceView:
    """What a viewer is shown about one user."""

    user_id: str
    status: Status
    last_seen_at: int | None

    def as_frame_fields(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "status": self.status, "last_seen_at": iso(self.last_seen_at)}


class Presence:
    """Transitions to frames, last-seen times, invisibility, and who may see whom."""

    def __init__(self, store_: PresenceStore, db: Database, clock: Clock) -> None:
        self.store = store_
        self._db = db
        self._clock = clock
        self._sources: list[AudienceSource] = []
        self._directed: list[tuple[AudienceSource, AudienceSource]] = []
        self._filters: list[AudienceFilter] = []
        self._hub: EventsHub | None = None

    def bind(self, hub: EventsHub) -> None:
        self._hub = hub

    # -- who may see whom -------------------------------------------------------------------

    def add_audience_source(self, source: AudienceSource) -> None:
        """``source(user_id)`` names people who may see ``user_id``'s presence (e.g. chat peers).

        Sources must be symmetric (if A may see B, B may see A): a socket's initial snapshot
        (:meth:`visible_to`) shows the presence of its own audience. An asymmetric relation
        (following) is added with :meth:`add_directed_source` instead.
        """
        self._sources.append(source)

    def add_directed_source(self, audience: AudienceSource, visible: AudienceSource) -> None:
        """An asymmetric relation (following): ``audience(user_id)`` names people who may see
        ``user_id`` (its followers), ``visible(viewer_id)`` the people ``viewer_id`` may see (whom
        it follows). Both sides describe the same relation."""
        self._directed.append((audience, visible))

    def add_audience_filter(self, flt: AudienceFilter) -> None:
        """``flt(user_id, audience)`` removes people who must not see ``user_id`` (e.g. blocks).

        Filters must be symmetric (a block hides both people from each other): :meth:`visible_to`
        applies them with the viewer in the place of ``user_id``.
        """
        self._filters.append(flt)

    async def presence_audience(self, user_id: str) -> set[str]:
        """Everyone allowed to see ``user_id``'s presence: the union of sources, then filters."""
        audience: set[str] = set()
        for source in self._sources:
            audience |= await source(user_id)
        for directed, _ in self._directed:
            audience |= await directed(user_id)
        audience.discard(user_id)
        for flt in self._filters:
            audience = await flt(user_id, audience)
        return audience

    async def visible_to(self, viewer_id: str) -> set[str]:
        """Everyone whose presence ``viewer_id`` may see (a socket's snapshot): the symmetric
        sources, plus the "whom may I see" side of directed ones, then the filters."""
        visible: set[str] = set()
        for source in self._sources:
            visible |= await source(viewer_id)
        for _, reverse in self._directed:
            visible |= await reverse(viewer_id)
        visible.discard(viewer_id)
        for flt in self._filters:
            visible = await flt(viewer_id, visible)
        return visible

    # -- reading --------------------------------------------------------------------------------

    async def raw_status(self, user_ids: Sequence[str]) -> dict[str, Status]:
        """Status from the sockets, ignoring invisibility (server-side use: is anyone there?)."""
        return await self.store.status(list(user_ids), self._clock.now())

    async def views(self, user_ids: Sequence[str]) -> dict[str, PresenceView]:
        """What others are shown: invisible users appear offline, with no last-seen time."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        statuses = await self.raw_status(ids)
        prefs = await store.presence_prefs(self._db, ids)
        views: dict[str, PresenceView] = {}
        for user_id in ids:
            pref = prefs.get(user_id)
            if pref is not None and pref.invisible:
                views[user_id] = PresenceView(user_id, "offline", None)
            else:
                views[user_id] = PresenceView(
                    user_id, statuses.get(user_id, "offline"), pref.last_seen_at if pref else None
                )
        return views

    # -- changing ---------------------------------------------------------------------------------

    async def socket_update(self, user_id: str, socket_id: str, state: SocketState | None) -> None:
        """Register, renew or remove one socket; tell the audience when the user's status changed."""
        transition = await self.store.update(user_id, socket_id, state, self._clock.now())
        if transition.before != transition.after:
            await self._announce([transition])

    async def sweep(self) -> int:
        transitions = await self.store.sweep(self._clock.now())
        if transitions:
            await self._announce(transitions)
        return len(transitions)

    async def set_invisible(self, user_id: str, invisible: bool) -> None:
        await store.set_invisible(self._db, user_id, invisible)
        await self.broadcast(user_id)

    async def broadcast(self, user_id: str) -> None:
        """Send ``user_id``'s current presence to its audience (after a setting changed)."""
        view = (await self.views([user_id]))[user_id]
        await self._send(view)

    async def _announce(self, transitions: list[Transition]) -> None:
        at = now_ms(self._clock)
        for transition in transitions:
            if transition.after == "offline":
                try:
                    await store.set_last_seen(self._db, transition.user_id, at)
                except Exception:
                    log.warning("last-seen time not stored user=%s", transition.user_id, exc_info=True)
        views = await self.views([t.user_id for t in transitions])
        for view in views.values():
            await self._send(view)

    async def _send(self, view: PresenceView) -> None:
        if self._hub is None:
            return
        audience = await self.presence_audience(view.user_id)
        if audience:
            await self._hub.send_to_users(sorted(audience), {"type": "presence", **view.as_frame_fields()})


async def sweep_forever(presence: Presence, interval: float = SWEEP_SECONDS) -> None:
    """Background task: report users whose sockets expired (their process went away)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await presence.sweep()
        except Exception:
            log.warning("presence sweep failed", exc_info=True)


__all__ = [
    "HEARTBEAT_SECONDS",
    "SOCKET_TTL",
    "FallbackPresence",
    "MemoryPresence",
    "Presence",
    "PresenceStore",
    "PresenceView",
    "RedisPresence",
    "SocketState",
    "Status",
    "Transition",
    "aggregate",
    "memory_presence_for",
]
