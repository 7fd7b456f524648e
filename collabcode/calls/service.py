"""The rules of calls: who may call whom, the lifecycle, timeouts, and the signaling relay.

Never imports Starlette. Every method takes the caller's user id from the server-side identity.
The database holds the truth (so any process may serve any step): each transition locks the
call row first (:func:`store.lock_call`), checks the state it found and commits, and only then
tells the participants (``call.ringing``, ``call.updated``, ``call.ended`` frames through the
events hub, to every socket of each user in every process). Two people calling each other at
once end up in one call because a live call is unique per pair (``live_key``); one person is in
at most one call because of the ``call_busy`` row. Time comes from the injected clock, and
:meth:`CallService.tick` (run every second by a background task, or by tests) rings out
unanswered calls (missed) and hangs up participants whose last events socket went away and did
not come back within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from collabcode.auth.events import security_event
from collabcode.calls import store
from collabcode.calls.store import LIVE_STATES, CallRow
from collabcode.calls.views import call_json
from collabcode.chat import store as chat_store
from collabcode.clock import Clock, now_ms
from collabcode.db import Database, Executor
from collabcode.errors import AppError, Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from collabcode.ratelimit import MemoryRateLimiter, Rate, RateLimiter
from collabcode.realtime.hub import EventsHub, Frame
from collabcode.realtime.store import NewEvent, StoredEvent, append_events

log = logging.getLogger(__name__)

SERVICE_KEY = "calls"


@dataclass(frozen=True, slots=True)
class CallLimits:
    """Timeouts and limits of calls (docs/calls.md, "Limits")."""

    #: How long a call rings before it is a missed call.
    ring_seconds: float = 45.0
    #: How long a participant without any events socket stays in the call (a reconnect within
    #: this time keeps them in it).
    hangup_grace_seconds: float = 20.0
    #: People joined at once in a workspace call (a full mesh: each sends to every other).
    max_participants: int = 4
    #: How often the background task checks timeouts (real seconds).
    tick_seconds: float = 1.0
    default_page: int = 50
    max_page: int = 100
    #: New calls per user: a burst, then one every ``start_per`` seconds.
    start_burst: int = 10
    start_per: float = 6.0
    #: Signaling frames per user and call: a burst, then one every ``signal_per`` seconds (below
    #: the events socket's own limit, so a flood gets 429 errors before the socket is closed).
    signal_burst: int = 40
    signal_per: float = 0.1


def new_id() -> str:
    return uuid.uuid4().hex


def pair_key(user_a: str, user_b: str) -> str:
    first, second = sorted((user_a, user_b))
    return f"p:{first}:{second}"


def _conflict(code: str, message: str) -> Conflict:
    return Conflict(message, code=code)


#: Stream event kinds calls append (and render back into frames).
EVENT_KINDS = ("call.missed",)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A committed change: the call after it, who must be rung, and missed-call events stored with it."""

    call_id: str
    rung: tuple[str, ...] = ()
    missed: tuple[StoredEvent, ...] = ()


class CallService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        hub: EventsHub,
        limiter: RateLimiter,
        limits: CallLimits | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.hub = hub
        self.limiter = limiter
        self.limits = limits or CallLimits()
        self._signals = MemoryRateLimiter(clock)
        self._offline_since: dict[tuple[str, str], float] = {}
        self._task: asyncio.Task[None] | None = None
        #: Live calls (ringing or active) seen by the last :meth:`tick`, for ``/metrics``.
        self.live_calls = 0

    def stats(self) -> dict[str, float]:
        """Live calls and what this process holds for them (``/metrics``; all 0 once every call ended)."""
        return {
            "live": float(self.live_calls),
            "offline_watched": float(len(self._offline_since)),
            "signal_buckets": float(self._signals.prune()),
        }

    # -- lifecycle of the service ------------------------------------------------------------------

    def start(self) -> None:
        if self.limits.tick_seconds > 0:
            self._task = asyncio.create_task(self._tick_forever(), name="calls-tick")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.limits.tick_seconds)
            try:
                await self.tick()
            except Exception:
                log.warning("call timeouts not checked", exc_info=True)

    def _ringing_call(
        self,
        kind: str,
        media: str,
        caller_id: str,
        now: int,
        *,
        conversation_id: str | None = None,
        workspace_id: str | None = None,
    ) -> CallRow:
        """A new call, ringing from ``now`` for the configured ring time."""
        return CallRow(
            id=new_id(),
            kind=kind,
            media=media,
            caller_id=caller_id,
            conversation_id=conversation_id,
            workspace_id=workspace_id,
            state="ringing",
            version=0,
            created_at=now,
            ring_until=now + int(self.limits.ring_seconds * 1000),
            answered_at=None,
            ended_at=None,
            end_reason=None,
        )

    def _now(self) -> int:
        return now_ms(self.clock)

    # -- reading --------------------------------------------------------------------------------------

    async def view(self, call_id: str) -> dict[str, Any]:
        call = await store.get_call(self.db, call_id)
        if call is None:
            raise NotFound()
        people = (await store.participants(self.db, [call_id]))[call_id]
        return call_json(call, people, self.limits.max_participants)

    async def _visible(self, user_id: str, call_id: str, action: str) -> CallRow:
        """The call if ``user_id`` was rung for it, took part, or (workspace call) is a member; else 404."""
        call = await store.get_call(self.db, call_id)
        if call is not None:
            if await store.participant_state(self.db, call_id, user_id) is not None:
                return call
            if call.workspace_id is not None and await store.is_workspace_member(self.db, call.workspace_id, user_id):
                return call
        self._denied(user_id, action)
        raise NotFound()

    @staticmethod
    def _denied(user_id: str, action: str) -> None:
        security_event(
            "authz.denied", "call access denied", level=logging.WARNING, user_id=user_id, resource="call", action=action
        )

    async def get(self, user_id: str, call_id: str) -> dict[str, Any]:
        await self._visible(user_id, call_id, "read")
        return await self.view(call_id)

    async def history(
        self,
        user_id: str,
        *,
        before: int | None,
        limit: int | None,
        conversation_id: str | None = None,
        workspace_id: str | None = None,
        live_only: bool = False,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Calls the user was in or rung for, newest first, and whether there are older ones."""
        size = min(max(limit or self.limits.default_page, 1), self.limits.max_page)
        rows = await store.history(
            self.db,
            user_id,
            before=before,
            limit=size + 1,
            conversation_id=conversation_id,
            workspace_id=workspace_id,
            live_only=live_only,
        )
        more = len(rows) > size
        rows = rows[:size]
        people = await store.participants(self.db, [r.id for r in rows])
        return [call_json(r, people[r.id], self.limits.max_participants) for r in rows], more

    # -- starting ---------------------------------------------------------------------------------------

    async def start_call(
        self,
        user_id: str,
        *,
        media: str,
        callee: str | None = None,
        conversation_id: str | None = None,
        workspace_id: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Ring someone (or a workspace); True when a new call was made, False when joined an existing one."""
        decision = await self.limiter.hit(
            "call.start", user_id, Rate(burst=self.limits.start_burst, per=self.limits.start_per)
        )
        if not decision.allowed:
            security_event("ratelimit.hit", "call start limited", level=logging.WARNING, user_id=user_id, bucket="call")
            raise RateLimited(decision.retry_after, "Too many calls started; try again shortly.")
        if workspace_id is not None:
            return await self._start_workspace(user_id, workspace_id, media)
        assert callee is not None
        return await self._start_direct(user_id, callee, media, conversation_id)

    async def _start_direct(
        self, user_id: str, username: str, media: str, conversation_id: str | None
    ) -> tuple[dict[str, Any], bool]:
        row = await store.user_by_username(self.db, username)
        if row is None or int(row["disabled"]) == 1 or int(row["email_verified"]) != 1:
            raise NotFound()
        peer_id = str(row["id"])
        if peer_id == user_id:
            raise ValidationFailed(
                "callee: you cannot call yourself", code="cannot_call_self", details={"field": "callee", "rule": "self"}
            )
        if conversation_id is not None:
            pair = await chat_store.pair_of(self.db, conversation_id)
            if pair is None or not pair.has(user_id) or not pair.has(peer_id):
                self._denied(user_id, "start")
                raise NotFound()
        if await chat_store.blocked_between(self.db, user_id, peer_id):
            raise Forbidden("A block stands between you and this person.", code="blocked")
        first, second = sorted((user_id, peer_id))
        known = conversation_id or await chat_store.conversation_for_pair(self.db, first, second)
        if known is None and not await store.share_workspace(self.db, user_id, peer_id):
            raise Forbidden("You can call people you have a conversation or a workspace with.", code="not_connected")
        key = pair_key(user_id, peer_id)
        for _ in range(3):
            existing = await store.live_call_by_key(self.db, key)
            if existing is not None:
                return await self._meet(user_id, existing), False
            now = self._now()
            call = self._ringing_call("direct", media, user_id, now, conversation_id=known)
            async with self.db.transaction("calls.start") as tx:
                if not await store.insert_call(tx, call, key):
                    continue  # the other person's call won the race: meet it
                if not await store.take_busy(tx, user_id, call.id):
                    raise _conflict("already_in_call", "You are in another call; hang up first.")
                if await store.busy_call(tx, peer_id) is not None:
                    raise _conflict("busy", "This person is in another call.")
                await store.insert_participants(
                    tx, call.id, [(user_id, "caller", "joined"), (peer_id, "callee", "ringing")], now
                )
            await self._announce(Outcome(call.id, rung=(peer_id,)))
            return await self.view(call.id), True
        raise _conflict("conflict", "The call changed at the same time; try again.")

    async def _meet(self, user_id: str, existing: CallRow) -> dict[str, Any]:
        """A live call between the same two people exists: join it (they called each other) or return it."""
        state = await store.participant_state(self.db, existing.id, user_id)
        if state == "joined":
            return await self.view(existing.id)
        if state == "ringing":
            return await self.accept(user_id, existing.id)
        raise _conflict("busy", "This person is in another call.")

    async def _start_workspace(self, user_id: str, workspace_id: str, media: str) -> tuple[dict[str, Any], bool]:
        if not await store.is_workspace_member(self.db, workspace_id, user_id):
            self._denied(user_id, "start")
            raise NotFound()
        key = f"w:{workspace_id}"
        for _ in range(3):
            existing = await store.live_call_by_key(self.db, key)
            if existing is not None:
                if await store.participant_state(self.db, existing.id, user_id) == "joined":
                    return await self.view(existing.id), False
                return await self.accept(user_id, existing.id), False
            members = [m for m in await store.workspace_member_ids(self.db, workspace_id) if m != user_id]
            blocked = await store.blocked_among(self.db, user_id, members)
            status = await self.hub.presence.raw_status([m for m in members if m not in blocked])
            present = [m for m, s in status.items() if s != "offline"]
            now = self._now()
            call = self._ringing_call("workspace", media, user_id, now, workspace_id=workspace_id)
            async with self.db.transaction("calls.start") as tx:
                if not await store.insert_call(tx, call, key):
                    continue
                if not await store.take_busy(tx, user_id, call.id):
                    raise _conflict("already_in_call", "You are in another call; hang up first.")
                free = [m for m in present if await store.busy_call(tx, m) is None]
                rows = [(user_id, "caller", "joined"), *((m, "member", "ringing") for m in free)]
                await store.insert_participants(tx, call.id, rows, now)
            await self._announce(Outcome(call.id, rung=tuple(free)))
            return await self.view(call.id), True
        raise _conflict("conflict", "The call changed at the same time; try again.")

    # -- transitions -------------------------------------------------------------------------------------

    async def _locked(self, tx: Executor, user_id: str, call_id: str) -> CallRow:
        call = await store.lock_call(tx, call_id)
        if call is None:
            raise _conflict("call_ended", "This call has ended.")
        return call

    async def _live_visible(self, user_id: str, call_id: str, action: str) -> CallRow:
        call = await self._visible(user_id, call_id, action)
        if not call.live:
            raise _conflict("call_ended", "This call has ended.")
        return call

    async def accept(self, user_id: str, call_id: str) -> dict[str, Any]:
        """Join the call (answer it; for a workspace call, any member may join while it lasts)."""
        await self._live_visible(user_id, call_id, "accept")
        now = self._now()
        async with self.db.transaction("calls.accept") as tx:
            call = await self._locked(tx, user_id, call_id)
            people = (await store.participants(tx, [call_id]))[call_id]
            mine = next((p for p in people if p.user_id == user_id), None)
            if mine is not None and mine.state == "joined":
                return await self._view_in(tx, call_id)
            if call.kind == "direct" and (mine is None or mine.state != "ringing"):
                raise _conflict("not_ringing", "This call is not ringing for you.")
            joined = [p.user_id for p in people if p.state == "joined"]
            if len(joined) >= self.limits.max_participants:
                raise _conflict(
                    "call_full", f"This call is full: at most {self.limits.max_participants} people can join."
                )
            if call.kind == "workspace":
                assert call.workspace_id is not None
                if not await store.is_workspace_member(tx, call.workspace_id, user_id):
                    raise NotFound()
                if await store.blocked_among(tx, user_id, joined):
                    raise Forbidden("A block stands between you and someone in this call.", code="blocked")
            if not await store.take_busy(tx, user_id, call_id):
                raise _conflict("already_in_call", "You are in another call; hang up first.")
            if mine is None:
                await store.insert_participants(tx, call_id, [(user_id, "member", "joined")], now)
            else:
                await store.set_participant(tx, call_id, user_id, "joined", now)
            if call.state == "ringing":
                await store.set_call_state(tx, call_id, "active", answered_at=now, now=now)
                if call.kind == "direct":
                    await store.expire_ringing(tx, call_id, now)
        self._offline_since.pop((call_id, user_id), None)
        await self._announce(Outcome(call_id))
        return await self.view(call_id)

    async def _view_in(self, ex: Executor, call_id: str) -> dict[str, Any]:
        call = await store.get_call(ex, call_id)
        assert call is not None
        people = (await store.participants(ex, [call_id]))[call_id]
        return call_json(call, people, self.limits.max_participants)

    async def decline(self, user_id: str, call_id: str) -> dict[str, Any]:
        """Say no to a ringing call (a direct call ends; a workspace call goes on for the others)."""
        await self._live_visible(user_id, call_id, "decline")
        now = self._now()
        async with self.db.transaction("calls.decline") as tx:
            call = await self._locked(tx, user_id, call_id)
            if await store.participant_state(tx, call_id, user_id) != "ringing":
                raise _conflict("not_ringing", "This call is not ringing for you.")
            await store.set_participant(tx, call_id, user_id, "declined", now)
            if call.kind == "direct":
                await store.set_call_state(tx, call_id, "ended", now=now, reason="declined")
        await self._announce(Outcome(call_id))
        return await self.view(call_id)

    async def cancel(self, user_id: str, call_id: str) -> dict[str, Any]:
        """The caller gives up before anyone answered."""
        await self._live_visible(user_id, call_id, "cancel")
        now = self._now()
        async with self.db.transaction("calls.cancel") as tx:
            call = await self._locked(tx, user_id, call_id)
            if call.caller_id != user_id:
                raise Forbidden("Only the caller can cancel a call.", code="not_caller")
            if call.state != "ringing":
                raise _conflict("not_ringing", "The call was answered already; hang up instead.")
            missed = await self._missed(tx, call, now)
            await store.set_call_state(tx, call_id, "ended", now=now, reason="cancelled")
        await self._announce(Outcome(call_id, missed=missed))
        return await self.view(call_id)

    async def end(self, user_id: str, call_id: str) -> dict[str, Any]:
        """Hang up: a direct call ends for both; a workspace call ends when fewer than two remain."""
        await self._live_visible(user_id, call_id, "end")
        await self._leave(user_id, call_id, "hangup", strict=True)
        return await self.view(call_id)

    async def _leave(self, user_id: str, call_id: str, reason: str, *, strict: bool) -> bool:
        now = self._now()
        missed: tuple[StoredEvent, ...] = ()
        try:
            async with self.db.transaction("calls.leave") as tx:
                call = await self._locked(tx, user_id, call_id)
                state = await store.participant_state(tx, call_id, user_id)
                if state == "ringing" and call.kind == "direct":
                    await store.set_participant(tx, call_id, user_id, "declined", now)
                    await store.set_call_state(tx, call_id, "ended", now=now, reason="declined")
                elif state != "joined":
                    if strict:
                        raise _conflict("not_joined", "You are not in this call.")
                    return False
                elif call.state == "ringing" and call.caller_id == user_id:
                    cancelled = "cancelled" if reason == "hangup" else reason
                    missed = await self._missed(tx, call, now)
                    await store.set_call_state(tx, call_id, "ended", now=now, reason=cancelled)
                elif call.kind == "direct":
                    await store.set_call_state(tx, call_id, "ended", now=now, reason=reason)
                else:
                    await store.set_participant(tx, call_id, user_id, "left", now)
                    await store.release_busy(tx, user_id, call_id)
                    people = (await store.participants(tx, [call_id]))[call_id]
                    remaining = sum(1 for p in people if p.state == "joined")
                    if remaining == 0 or (remaining < 2 and call.state == "active"):
                        await store.set_call_state(tx, call_id, "ended", now=now, reason=reason)
        except AppError:
            if strict:
                raise
            return False
        self._offline_since.pop((call_id, user_id), None)
        await self._announce(Outcome(call_id, missed=missed))
        return True

    # -- timeouts ------------------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Ring out unanswered calls and hang up participants gone for longer than the grace period."""
        calls = await store.live_calls(self.db)
        self.live_calls = len(calls)
        live_ids = {c.id for c in calls}
        for key in [k for k in self._offline_since if k[0] not in live_ids]:
            del self._offline_since[key]
        if not calls:
            return
        people = await store.participants(self.db, [c.id for c in calls])
        now = self._now()
        for call in calls:
            if now >= call.ring_until and any(p.state == "ringing" for p in people[call.id]):
                await self._ring_out(call.id, now)
        joined = sorted({p.user_id for c in calls for p in people[c.id] if p.state == "joined"})
        status = await self.hub.presence.raw_status(joined) if joined else {}
        mono = self.clock.monotonic()
        for call in calls:
            for person in people[call.id]:
                if person.state != "joined":
                    continue
                key = (call.id, person.user_id)
                if status.get(person.user_id, "offline") != "offline":
                    self._offline_since.pop(key, None)
                    continue
                since = self._offline_since.setdefault(key, mono)
                if mono - since >= self.limits.hangup_grace_seconds:
                    self._offline_since.pop(key, None)
                    await self._leave(person.user_id, call.id, "connection_lost", strict=False)

    async def _ring_out(self, call_id: str, now: int) -> None:
        missed: tuple[StoredEvent, ...] = ()
        async with self.db.transaction("calls.ring_out") as tx:
            call = await store.lock_call(tx, call_id)
            if call is None or now < call.ring_until:
                return
            if call.state == "ringing":
                missed = await self._missed(tx, call, now)
                await store.set_call_state(tx, call_id, "ended", now=now, reason="missed")
            else:
                await store.expire_ringing(tx, call_id, now)
        await self._announce(Outcome(call_id, missed=missed))

    async def _missed(self, tx: Executor, call: CallRow, now: int) -> tuple[StoredEvent, ...]:
        """A durable missed-call event for everyone still ringing on a direct call that ends unanswered.

        Stored in the user's event stream (like a chat message), so a callee who was offline
        learns of it on reconnect; it is shown in the conversation's timeline.
        """
        if call.kind != "direct":
            return ()
        people = (await store.participants(tx, [call.id]))[call.id]
        ringing = [p.user_id for p in people if p.state == "ringing"]
        events = [NewEvent(u, "call.missed", call.conversation_id, call.id, call.caller_id) for u in ringing]
        return tuple(await append_events(tx, events, now=now))

    # -- telling people ------------------------------------------------------------------------------------

    async def _announce(self, outcome: Outcome) -> None:
        call = await store.get_call(self.db, outcome.call_id)
        if call is None:
            return
        people = (await store.participants(self.db, [call.id]))[call.id]
        view = call_json(call, people, self.limits.max_participants)
        everyone = [p.user_id for p in people]
        if call.state == "ended":
            await self.hub.send_to_users(everyone, {"type": "call.ended", "call": view})
            for event in outcome.missed:
                await self.hub.send_to_user(
                    event.user_id, {"type": "call.missed", "cursor": event.cursor, "call": view}
                )
            return
        rung = set(outcome.rung)
        if rung:
            await self.hub.send_to_users(sorted(rung), {"type": "call.ringing", "call": view})
        others = [u for u in everyone if u not in rung]
        if others:
            await self.hub.send_to_users(others, {"type": "call.updated", "call": view})

    async def render(self, viewer_id: str, events: list[StoredEvent]) -> dict[int, Frame]:
        """Missed-call events back into ``call.missed`` frames (replay after a reconnect)."""
        frames: dict[int, Frame] = {}
        for event in events:
            if event.item_id is None:
                continue
            call = await store.get_call(self.db, event.item_id)
            if call is None:
                continue
            people = (await store.participants(self.db, [call.id]))[call.id]
            view = call_json(call, people, self.limits.max_participants)
            frames[event.cursor] = {"type": "call.missed", "cursor": event.cursor, "call": view}
        return frames

    # -- signaling -------------------------------------------------------------------------------------------

    async def relay(self, user_id: str, kind: str, call_id: str, to: str, payload: dict[str, Any]) -> None:
        """Forward an offer, answer or candidate to another joined participant, stamped with ``from``."""
        if to == user_id:
            raise ValidationFailed("to: you cannot signal yourself", details={"field": "to", "rule": "self"})
        rate = Rate(burst=self.limits.signal_burst, per=self.limits.signal_per)
        decision = self._signals.hit_now("rtc", f"{user_id}:{call_id}", rate)
        if not decision.allowed:
            security_event("ratelimit.hit", "signaling limited", level=logging.WARNING, user_id=user_id, bucket="rtc")
            raise RateLimited(decision.retry_after, "Too many signaling frames; slow down.")
        call_state, states = await store.signal_states(self.db, call_id, [user_id, to])
        if call_state is None or user_id not in states:
            self._denied(user_id, "signal")
            raise NotFound()
        if call_state not in LIVE_STATES:
            raise _conflict("call_ended", "This call has ended.")
        if states[user_id] != "joined":
            raise _conflict("not_joined", "Join the call before sending signaling frames.")
        if states.get(to) != "joined":
            raise _conflict("peer_not_joined", "That person is not in this call.")
        frame: Frame = {"type": kind, "call_id": call_id, "from": user_id, **payload}
        await self.hub.send_to_user(to, frame)


def calls_service(services: Any) -> CallService:
    service = services.extras.get(SERVICE_KEY)
    if not isinstance(service, CallService):
        raise RuntimeError("the calls feature has not started: add collabcode.calls.feature")
    return service
