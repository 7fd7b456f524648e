"""``/ws/events``: one socket per browser tab carrying JSON frames for the signed-in user.

Before ``accept`` (a refusal is an HTTP 403 and one ``ws.handshake_rejected`` log line): the
``cursor`` query parameter, the caller (``?ticket=`` or ``Authorization: Bearer``, and the
``Origin``, through the accounts feature) and the per-user socket cap. After it the socket is
registered in ``services.connections`` (endpoint ``events``) so shutdown (1001) and session
revocation (4401) reach it, attached to the hub, counted in presence, and greeted with
``hello``, a ``presence.snapshot`` and ``synced`` (or ``resync``). The protocol is in
docs/protocol.md, "Events socket".
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from collabcode.auth.dependencies import WebSocketRejected, authenticate_websocket, client_info, reject, session_alive
from collabcode.auth.events import security_event
from collabcode.db import DatabaseUnavailable
from collabcode.realtime.connections import OpenSocket
from collabcode.realtime.cooldown import cooldowns_for
from collabcode.realtime.frames import ClientFrame, FrameContext
from collabcode.realtime.hub import HUB_KEY, EventsHub
from collabcode.realtime.socket import CLOSE_GOING_AWAY, CLOSE_NORMAL, EventsConnection, EventsLimits
from collabcode.realtime.store import ensure_user
from collabcode.services import services_of

__all__ = ["LIMITS_KEY", "register_frames", "routes"]

log = logging.getLogger(__name__)

#: ``services.extras`` key of the :class:`EventsLimits` in force (tests may replace it).
LIMITS_KEY = "events_limits"
_CURSOR = re.compile(r"^[0-9]{1,15}$")


class PresenceSet(ClientFrame):
    type: Literal["presence.set"]
    state: Literal["online", "away"]


class Ping(ClientFrame):
    type: Literal["ping"]


async def _presence_set(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, PresenceSet)
    if isinstance(ctx.reply, EventsConnection):
        await ctx.reply.set_state(frame.state)


async def _ping(ctx: FrameContext, frame: Any) -> None:
    ctx.answer({"type": "pong", "ref": frame.ref})


def register_frames(hub: EventsHub) -> None:
    """The frames the events socket itself serves."""
    hub.add_handler("presence.set", PresenceSet, _presence_set)
    hub.add_handler("ping", Ping, _ping)


def _start_cursor(websocket: WebSocket) -> int | Literal[False] | None:
    raw = websocket.query_params.get("cursor")
    if raw is None or raw == "":
        return None
    return int(raw) if _CURSOR.fullmatch(raw) else False


async def events_socket(websocket: WebSocket) -> None:
    services = services_of(websocket)
    hub = services.extras.get(HUB_KEY)
    if not isinstance(hub, EventsHub):
        await reject(websocket, "unavailable")
        return
    start = _start_cursor(websocket)
    if start is False:
        await reject(websocket, "invalid_cursor")
        return
    try:
        identity = await authenticate_websocket(websocket)
    except WebSocketRejected as exc:
        await reject(websocket, exc.reason)
        return
    except DatabaseUnavailable:
        await reject(websocket, "unavailable")
        return
    limits = services.extras.get(LIMITS_KEY)
    if not isinstance(limits, EventsLimits):
        limits = EventsLimits()
    cooldowns = cooldowns_for(services, "events")
    if cooldowns.remaining(identity.user_id) > 0:
        await reject(websocket, "rate_limited")
        return
    if hub.local_count(identity.user_id) >= limits.max_sockets_per_user:
        await reject(websocket, "too_many_connections")
        return

    async def alive(session_id: str) -> bool:
        return await session_alive(services, session_id)

    connection = EventsConnection(
        websocket,
        identity=identity,
        hub=hub,
        services=services,
        limits=limits,
        clock=services.clock,
        session_alive=alive,
    )
    registered = services.connections.add(
        OpenSocket(
            endpoint="events",
            user_id=identity.user_id,
            session_id=identity.session_id,
            close=connection.close,
            tags={"socket": connection.socket_id},
        )
    )
    attached = False
    try:
        await websocket.accept()
        await hub.attach(connection)
        attached = True
        connection.send_frame(_hello(connection, limits))
        try:
            await ensure_user(services.db, identity.user_id)
            await hub.presence.socket_update(identity.user_id, connection.socket_id, "online")
            await _snapshot(hub, connection)
        except DatabaseUnavailable:
            connection.request_close(1013, "unavailable")
        await connection.serve(start)
    finally:
        services.connections.discard(registered)
        if connection.rate_limited_for:
            cooldowns.start(identity.user_id, connection.rate_limited_for)
        if attached:
            await hub.detach(connection)
            try:
                await hub.presence.socket_update(identity.user_id, connection.socket_id, None)
            except Exception:
                log.warning("presence not updated after a socket closed", exc_info=True)
        _log_closed(websocket, connection)


def _hello(connection: EventsConnection, limits: EventsLimits) -> dict[str, Any]:
    identity = connection.identity
    return {
        "type": "hello",
        "user_id": identity.user_id,
        "username": identity.username,
        "socket_id": connection.socket_id,
        "limits": {
            "max_frame_bytes": limits.max_frame_bytes,
            "frames_per_second": limits.frames_per_second,
            "frame_burst": limits.frame_burst,
        },
    }


async def _snapshot(hub: EventsHub, connection: EventsConnection) -> None:
    """The presence of everyone this user may see (see ``Presence.visible_to``)."""
    audience = await hub.presence.visible_to(connection.user_id)
    views = await hub.presence.views(sorted(audience))
    connection.send_frame({"type": "presence.snapshot", "users": [view.as_frame_fields() for view in views.values()]})


def _log_closed(websocket: WebSocket, connection: EventsConnection) -> None:
    if connection.close_request is not None:
        code, reason, by = connection.close_request[0], connection.close_request[1], "server"
    else:
        code, reason, by = connection.client_close or 1006, "", "client"
    unusual = by == "server" and code not in (CLOSE_NORMAL, CLOSE_GOING_AWAY)
    security_event(
        "ws.closed",
        "events socket closed",
        client=client_info(websocket),
        level=logging.WARNING if unusual else logging.INFO,
        user_id=connection.user_id,
        session_id=connection.identity.session_id,
        code=code,
        reason=reason,
        closed_by=by,
        endpoint="events",
    )


routes: list[BaseRoute] = [WebSocketRoute("/ws/events", events_socket)]
