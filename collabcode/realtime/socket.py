"""One ``/ws/events`` socket after the handshake: outbox, read loop, durable stream, watchdog.

Frames for the client go into a bounded outbox that one writer task drains, so a slow client
never blocks whoever sends to it (past ``EventsLimits.outbox_bytes`` it is closed with 1013
``slow_consumer``). Durable frames (those with a ``cursor``) are written in cursor order without
gaps: a frame that arrives ahead of a missing one waits while the missing ones are read back
from the database. The read loop checks size (1009), rate (4429), JSON (1007) and schema (an
``error`` frame, or 1008 when errors pile up or a frame claims an identity), then runs the
registered handler, one frame at a time, so a client's frames take effect in the order sent. A
watchdog re-checks the session and renews the socket's presence. All writes and the close frame
go through the writer task; anything may *request* a close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket

from collabcode.auth.identity import Identity
from collabcode.clock import Clock
from collabcode.db import DatabaseUnavailable
from collabcode.errors import AppError
from collabcode.realtime.frames import IDENTITY_FIELDS, FrameContext, decode, encode
from collabcode.realtime.presence import HEARTBEAT_SECONDS, SocketState
from collabcode.realtime.socket_writer import SocketWriter, TokenBucket, run_socket

if TYPE_CHECKING:
    from collabcode.realtime.hub import EventsHub
    from collabcode.services import Services

log = logging.getLogger(__name__)

CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_UNSUPPORTED: Final = 1003
CLOSE_INVALID_PAYLOAD: Final = 1007
CLOSE_POLICY: Final = 1008
CLOSE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011
CLOSE_TRY_AGAIN: Final = 1013
CLOSE_SESSION_REVOKED: Final = 4401
CLOSE_RATE_LIMITED: Final = 4429

#: Is this session still live? (auth's ``session_alive`` bound to the app's services)
SessionCheck = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class EventsLimits:
    """Per-socket limits of ``/ws/events`` (docs/protocol.md, "Events socket")."""

    #: Largest client frame in bytes; larger ones close the socket with 1009.
    max_frame_bytes: int = 64 * 1024
    #: Sustained client frames per second, and the burst allowed above it (else 4429).
    frames_per_second: float = 20.0
    frame_burst: int = 60
    #: Frames answered with ``error``: one more every 5 s, 20 at once; past that, 1008.
    error_burst: int = 20
    errors_per_second: float = 0.2
    #: Bytes queued for a client that does not read before it is closed with 1013.
    outbox_bytes: int = 4 * 1024 * 1024
    #: Open events sockets per user in one process (more are refused at the handshake).
    max_sockets_per_user: int = 20
    #: How often the session is checked again and the socket's presence renewed.
    recheck_seconds: float = HEARTBEAT_SECONDS
    #: How many missed events a reconnecting client is sent before it is told to reload instead.
    max_replay: int = 5000
    replay_page: int = 500
    #: Durable frames held while missing ones are read back, before the holding stops.
    max_pending: int = 2000
    #: How long a gap in cursors may stay open before the missing events are read from the database.
    gap_grace: float = 0.25
    #: Requests finishing in the background (sends waiting for their commit) per socket; the
    #: socket reads no further frame while this many are in flight.
    max_in_flight: int = 32
    #: How long a close may take before the socket is dropped without one.
    close_timeout: float = 2.0


@dataclass(slots=True)
class _Out:
    text: str
    frame: dict[str, Any] | None
    size: int


class EventsConnection:
    """A signed-in user's events socket."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        identity: Identity,
        hub: EventsHub,
        services: Services,
        limits: EventsLimits,
        clock: Clock,
        session_alive: SessionCheck,
    ) -> None:
        self._ws = websocket
        self.identity = identity
        self.user_id = identity.user_id
        self.socket_id = uuid.uuid4().hex
        self.state: SocketState = "online"
        self._hub = hub
        self._services = services
        self._limits = limits
        self._session_alive = session_alive
        self._frames = TokenBucket(limits.frames_per_second, limits.frame_burst, clock)
        self._errors = TokenBucket(limits.errors_per_second, limits.error_burst, clock)
        self._writer: SocketWriter[str] = SocketWriter(
            websocket.send_text,
            websocket.close,
            max_queued_bytes=limits.outbox_bytes,
            close_timeout=limits.close_timeout,
            describe=lambda: f"events user={self.user_id} socket={self.socket_id}",
        )
        self._context = FrameContext(identity, self.socket_id, services, self)
        self._in_flight: set[asyncio.Task[bool]] = set()
        # The durable stream: the cursor of the last durable frame queued, frames held back
        # until the ones before them are there, and whether missing ones are being read.
        self.cursor: int | None = None
        self._pending: dict[int, _Out] = {}
        self._syncing = True
        self._repair = asyncio.Event()
        self._progress = asyncio.Event()
        #: Seconds its user must wait before another socket, when closed for its rate (4429).
        self.rate_limited_for: float | None = None
        #: What the client sent when it closed first.
        self.client_close: int | None = None

    # ------------------------------------------------------------------ sending

    def send_frame(self, frame: dict[str, Any]) -> None:
        """Queue a frame for this socket only (answers, snapshots)."""
        text = encode(frame)
        self._enqueue(_Out(text, frame, len(text)))

    def deliver(self, text: str, frame: dict[str, Any]) -> None:
        """A frame the hub routed to this user: ephemeral ones go out now, durable ones in order."""
        cursor = frame.get("cursor")
        if not isinstance(cursor, int) or isinstance(cursor, bool):
            self._enqueue(_Out(text, frame, len(text)))
            return
        if self.cursor is not None and cursor <= self.cursor:
            return
        if len(self._pending) < self._limits.max_pending:
            self._pending[cursor] = _Out(text, frame, len(text))
        if not self._syncing:
            self._advance()

    def _enqueue(self, item: _Out) -> None:
        frame = item.frame
        written = None if frame is None else (lambda: self._hub.frame_written(self.user_id, frame))
        self._writer.put(item.text, item.size, written)

    # ------------------------------------------------------------------ control

    @property
    def close_request(self) -> tuple[int, str] | None:
        """(code, reason) of the close this side asked for, or None."""
        return self._writer.close_request

    def request_close(self, code: int, reason: str) -> None:
        """Close with ``code``: queued frames are dropped; the writer sends the close frame."""
        self._writer.request_close(code, reason)

    async def close(self, code: int, reason: str) -> None:
        """Close and wait (bounded) until the close frame is out: the registry's close callback."""
        await self._writer.close(code, reason)

    # ------------------------------------------------------------------ running

    async def serve(self, start_cursor: int | None) -> None:
        """Run until either side closes the socket (attached to the hub already)."""
        await run_socket(
            self._writer,
            self._read_loop(),
            {"sync": self._sync_loop(start_cursor), "watch": self._watch()},
            name=f"events:{self.socket_id}",
            also_cancel=lambda: set(self._in_flight),
        )

    # ------------------------------------------------------------------ the durable stream

    async def _sync_loop(self, start_cursor: int | None) -> None:
        """Send what the client missed, then fill any gap the lossy bus leaves, for good."""
        try:
            current = await self._hub.current_cursor(self.user_id)
            if start_cursor is None:
                self.cursor = current
                self._syncing = False
                self._advance()
                self.send_frame({"type": "synced", "cursor": current})
            elif start_cursor > current or current - start_cursor > self._limits.max_replay:
                self._resync(current)
            else:
                self.cursor = start_cursor
                await self._catch_up()
                self.send_frame({"type": "synced", "cursor": self.cursor})
        except DatabaseUnavailable:
            self.request_close(CLOSE_TRY_AGAIN, "unavailable")
            return
        while True:
            await self._repair.wait()
            # Frames of one user can arrive out of order (several writers, several processes):
            # give the missing one a moment to arrive before reading it from the database.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._limits.gap_grace):
                    while self._pending:
                        self._progress.clear()
                        await self._progress.wait()
            self._repair.clear()
            if not self._pending:
                continue
            try:
                await self._catch_up()
            except DatabaseUnavailable:
                log.warning("events catch-up failed (database unavailable) socket=%s", self.socket_id)

    def _resync(self, current: int) -> None:
        """Tell the client to reload its state over HTTP and continue from ``current``."""
        self.cursor = current
        self._pending.clear()
        self._syncing = False
        self.send_frame({"type": "resync", "cursor": current})

    async def _catch_up(self) -> None:
        """Read events after ``self.cursor`` from the database until nothing is missing."""
        self._syncing = True
        before = self.cursor
        try:
            while True:
                assert self.cursor is not None
                replay = await self._hub.replay(self.user_id, self.cursor, self._limits.replay_page)
                if replay.first is None or replay.last is None:
                    break
                if replay.first != self.cursor + 1:
                    # The events in between were pruned: the client must reload.
                    self._resync(await self._hub.current_cursor(self.user_id))
                    return
                for cursor, frame in replay.frames:
                    if cursor > self.cursor:
                        text = encode(frame)
                        self._enqueue(_Out(text, frame, len(text)))
                self.cursor = replay.last
                if replay.last - replay.first + 1 < self._limits.replay_page:
                    break
        finally:
            self._syncing = False
        assert self.cursor is not None
        for cursor in [c for c in self._pending if c <= self.cursor]:
            del self._pending[cursor]
        if self.cursor == before and self._pending:
            # The database has nothing after our cursor, yet later frames arrived: their
            # predecessors are not coming (should not happen); move on rather than stall.
            skipped = min(self._pending) - 1
            log.warning("events stream skipped cursors %s..%s socket=%s", self.cursor + 1, skipped, self.socket_id)
            self.cursor = skipped
        self._advance()

    def _advance(self) -> None:
        """Queue held frames that are next in line; ask for a repair when a gap remains."""
        assert self.cursor is not None
        moved = False
        while self.cursor + 1 in self._pending:
            self.cursor += 1
            self._enqueue(self._pending.pop(self.cursor))
            moved = True
        if moved:
            self._progress.set()
        if self._pending:
            self._repair.set()

    # ------------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        limits = self._limits
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                self.client_close = int(message.get("code") or 1005)
                return
            if self.close_request is not None:
                return
            text = message.get("text")
            if text is None:
                self.request_close(CLOSE_UNSUPPORTED, "text_only")
                return
            if len(text) > limits.max_frame_bytes // 4 and len(text.encode("utf-8")) > limits.max_frame_bytes:
                self.request_close(CLOSE_TOO_BIG, "message_too_large")
                return
            wait = self._frames.take()
            if wait > 0:
                # Not before the burst has refilled: a fresh socket must not bring a fresh burst sooner.
                retry = max(1, math.ceil(wait), math.ceil(limits.frame_burst / limits.frames_per_second))
                self.rate_limited_for = float(retry)
                log.warning(
                    "ratelimit.hit bucket=events_socket user=%s retry=%d",
                    self.user_id,
                    retry,
                    extra={"event": "ratelimit.hit", "bucket": "events_socket", "user_id": self.user_id},
                )
                self.request_close(CLOSE_RATE_LIMITED, f"rate_limited:{retry}")
                return
            try:
                value = decode(text)
            except ValueError:
                self.request_close(CLOSE_INVALID_PAYLOAD, "invalid_json")
                return
            if not await self._dispatch(value):
                return
            await asyncio.sleep(0)  # a burst of queued frames must not hold the event loop

    async def _dispatch(self, value: Any) -> bool:
        """Run one decoded frame; False when the socket is closing because of it."""
        ref = value.get("ref") if isinstance(value, dict) else None
        ref = ref if isinstance(ref, str) and len(ref) <= 64 else None
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            return self._error(ref, "invalid_frame", "A frame is a JSON object with a string 'type'.", 422)
        frame_type: str = value["type"]
        spoofed = IDENTITY_FIELDS.intersection(value)
        if spoofed:
            log.warning(
                "events frame claimed an identity user=%s type=%.64s",
                self.user_id,
                frame_type,
                extra={"event": "input.rejected", "field": sorted(spoofed)[0], "rule": "identity_spoofing"},
            )
            self.request_close(CLOSE_POLICY, "identity_spoofing")
            return False
        entry = self._hub.handlers.get(frame_type)
        if entry is None:
            return self._error(ref, "unknown_type", "This frame type is not known.", 422)
        model, handler = entry
        try:
            frame: BaseModel = model.model_validate(value)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            loc = ".".join(str(p) for p in errors[0]["loc"]) if errors else "frame"
            rule = errors[0]["type"] if errors else "invalid"
            message = f"{loc}: {errors[0]['msg']}" if errors else "invalid frame"
            return self._error(ref, "invalid_frame", message, 422, {"field": loc[:64], "rule": rule})
        if not await self._complete(handler(self._context, frame), ref, frame_type):
            return False
        if len(self._in_flight) >= self._limits.max_in_flight:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        return self.close_request is None

    async def _complete(self, work: Awaitable[None], ref: str | None, what: str) -> bool:
        """Run a request; answer its failure with an ``error`` frame (a bug closes with 1011)."""
        try:
            await work
        except AppError as exc:
            return self._error(ref, exc.code, exc.message, exc.status, exc.details, exc.headers.get("Retry-After"))
        except DatabaseUnavailable:
            return self._error(ref, "service_unavailable", "The database is unavailable; try again shortly.", 503)
        except Exception:
            log.exception("events frame failed type=%.64s user=%s", what, self.user_id)
            self.request_close(CLOSE_INTERNAL, "internal_error")
            return False
        return True

    def defer(self, work: Awaitable[None], ref: str | None) -> None:
        """See :meth:`FrameContext.defer`."""
        task = asyncio.create_task(self._complete(work, ref, "deferred"))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    def _error(
        self,
        ref: str | None,
        code: str,
        message: str,
        status: int,
        details: dict[str, Any] | None = None,
        retry_after: str | None = None,
    ) -> bool:
        frame: dict[str, Any] = {"type": "error", "ref": ref, "code": code, "status": status, "message": message}
        if details:
            frame["details"] = details
        if retry_after is not None:
            frame["retry_after"] = int(retry_after)
        self.send_frame(frame)
        if status < 500 and status != 429 and self._errors.take() > 0:
            self.request_close(CLOSE_POLICY, "too_many_errors")
            return False
        return True

    # ------------------------------------------------------------------ watchdog

    async def _watch(self) -> None:
        """Re-check the session and renew this socket's presence every ``recheck_seconds``.

        The period is jittered (10 % either way, the first one half to all of it), so sockets opened together (after
        a restart, say) do not all hit the database in the same instant, every time.
        """
        presence = self._hub.presence
        delay = self._limits.recheck_seconds * random.uniform(0.5, 1.0)
        while True:
            await asyncio.sleep(delay)
            delay = self._limits.recheck_seconds * random.uniform(0.9, 1.1)
            try:
                if not await self._session_alive(self.identity.session_id):
                    self.request_close(CLOSE_SESSION_REVOKED, "session_revoked")
                    return
            except Exception:
                # Cannot tell right now (database down): keep the socket, try again.
                log.warning("events session re-check failed socket=%s", self.socket_id, exc_info=True)
            try:
                await presence.socket_update(self.user_id, self.socket_id, self.state)
            except Exception:
                log.warning("presence renewal failed socket=%s", self.socket_id, exc_info=True)

    async def set_state(self, state: SocketState) -> None:
        """The client's hint about its own tab (visible and active, or hidden/idle)."""
        if state != self.state:
            self.state = state
            await self._hub.presence.socket_update(self.user_id, self.socket_id, state)
