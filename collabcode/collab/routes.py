"""``/ws/collab/{workspace_id}/{file_id}``: the y-websocket endpoint (docs/protocol.md).

Before ``accept`` (a refusal is an HTTP 403 and one ``ws.handshake_rejected`` log line): the ids,
the caller (``?ticket=`` or ``Authorization: Bearer``, and the ``Origin``), the connection caps
and the permission. After it, :class:`~collabcode.collab.connection.CollabConnection` runs the
socket; every socket is registered in ``services.connections`` so shutdown (1001) and session
revocation (4401) reach it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from collabcode.auth.dependencies import WebSocketRejected, authenticate_websocket, client_info, reject, session_alive
from collabcode.auth.events import security_event
from collabcode.auth.identity import Identity
from collabcode.collab.authorization import AUTHORIZER_KEY, DenyAll, DocumentAuthorizer
from collabcode.collab.connection import CollabConnection, SocketLimits
from collabcode.collab.protocol import CloseCode
from collabcode.collab.room import CorruptDocumentError
from collabcode.collab.service import SERVICE_KEY, CollabService, document_id, valid_id
from collabcode.realtime.connections import OpenSocket
from collabcode.realtime.cooldown import cooldowns_for
from collabcode.services import Services, services_of
from collabcode.web.netinfo import client_ip

__all__ = ["routes"]

log = logging.getLogger(__name__)

Authenticator = Callable[[WebSocket], Awaitable[Identity]]
SessionAlive = Callable[[Services, str], Awaitable[bool]]

_DENY_ALL = DenyAll()

# Keys on ``app.state`` (set by collabcode.collab.feature's set_* functions, mostly for tests).
STATE_AUTHORIZER = "collab_authorizer"
STATE_AUTHENTICATOR = "collab_authenticator"
STATE_SESSION_ALIVE = "collab_session_alive"
STATE_LIMITS = "collab_limits"


def _override(websocket: WebSocket, key: str) -> Any:
    return getattr(websocket.app.state, key, None)


def authorizer_for(websocket: WebSocket, services: Services) -> DocumentAuthorizer:
    """The app's override, else the rule a feature installed, else deny everything."""
    rule = _override(websocket, STATE_AUTHORIZER) or services.extras.get(AUTHORIZER_KEY)
    return rule if rule is not None else _DENY_ALL


async def collab_socket(websocket: WebSocket) -> None:
    services = services_of(websocket)
    service = services.extras.get(SERVICE_KEY)
    workspace_id = str(websocket.path_params.get("workspace_id", ""))
    file_id = str(websocket.path_params.get("file_id", ""))
    if not isinstance(service, CollabService):
        await reject(websocket, "unavailable")
        return
    if not (valid_id(workspace_id) and valid_id(file_id)):
        await reject(websocket, "invalid_document")
        return
    authenticate: Authenticator = _override(websocket, STATE_AUTHENTICATOR) or authenticate_websocket
    try:
        identity = await authenticate(websocket)
    except WebSocketRejected as exc:
        await reject(websocket, exc.reason)
        return
    except Exception:
        log.warning("collab authentication failed", exc_info=True)
        await reject(websocket, "unavailable")
        return
    limits: SocketLimits = _override(websocket, STATE_LIMITS) or SocketLimits()
    if cooldowns_for(services, "collab").remaining(identity.user_id) > 0:
        await reject(websocket, "rate_limited")
        return
    ip = client_ip(websocket.scope, services.settings)
    hub = service.hub
    if not hub.reserve(identity.user_id, ip, limits):
        await reject(websocket, "too_many_connections")
        return
    try:
        await _authorized_session(websocket, services, service, identity, workspace_id, file_id, limits)
    finally:
        hub.release(identity.user_id, ip)


async def _authorized_session(
    websocket: WebSocket,
    services: Services,
    service: CollabService,
    identity: Identity,
    workspace_id: str,
    file_id: str,
    limits: SocketLimits,
) -> None:
    authorizer = authorizer_for(websocket, services)
    try:
        access = await authorizer.access(identity, workspace_id, file_id)
    except Exception:
        log.warning("collab authorization failed", exc_info=True)
        await reject(websocket, "unavailable")
        return
    if access not in ("read", "write"):
        security_event(
            "authz.denied",
            "document access denied",
            client=client_info(websocket),
            level=logging.WARNING,
            user_id=identity.user_id,
            session_id=identity.session_id,
            resource=f"document:{workspace_id}/{file_id}",
            action="open",
        )
        await reject(websocket, "forbidden")
        return
    check: SessionAlive = _override(websocket, STATE_SESSION_ALIVE) or session_alive

    async def alive(session_id: str) -> bool:
        return await check(services, session_id)

    connection = CollabConnection(
        websocket,
        identity=identity,
        workspace_id=workspace_id,
        file_id=file_id,
        access=access,
        wants_saved=websocket.query_params.get("saved") == "1",
        limits=limits,
        clock=services.clock,
        authorizer=authorizer,
        session_alive=alive,
        client=client_info(websocket),
    )
    await _run(websocket, services, service, connection, document_id(workspace_id, file_id))


async def _run(
    websocket: WebSocket, services: Services, service: CollabService, connection: CollabConnection, doc_id: str
) -> None:
    registered = services.connections.add(
        OpenSocket(
            endpoint="collab",
            user_id=connection.user_id,
            session_id=connection.identity.session_id,
            close=connection.close,
            tags={"document": doc_id},
        )
    )
    service.hub.add(connection)
    joined = False
    try:
        await websocket.accept()
        try:
            room = await service.manager.join(doc_id, connection)
            joined = True
        except CorruptDocumentError:
            log.error("collab document does not decode doc=%s", doc_id)
            await _close_now(websocket, connection, CloseCode.INTERNAL_ERROR, "document_unreadable")
            return
        except Exception:
            log.warning("collab document could not be loaded doc=%s", doc_id, exc_info=True)
            await _close_now(websocket, connection, CloseCode.TRY_AGAIN_LATER, "unavailable")
            return
        await connection.serve(room)
    finally:
        if joined:
            service.manager.leave(doc_id, connection)
        service.hub.discard(connection)
        services.connections.discard(registered)
        if connection.rate_limited_for:
            cooldowns = cooldowns_for(services, "collab")
            cooldowns.start(connection.user_id, connection.rate_limited_for)
        _log_closed(websocket, connection, doc_id)


async def _close_now(websocket: WebSocket, connection: CollabConnection, code: int, reason: str) -> None:
    connection.request_close(code, reason)
    try:
        await websocket.close(code, reason)
    except Exception:  # the client already left
        log.debug("close after a failed join did not go out", exc_info=True)


def _log_closed(websocket: WebSocket, connection: CollabConnection, doc_id: str) -> None:
    if connection.close_request is not None:
        code, reason, by = connection.close_request[0], connection.close_request[1], "server"
    else:
        code, reason, by = connection.client_close or 1006, "", "client"
    unusual = by == "server" and code not in (CloseCode.NORMAL, CloseCode.GOING_AWAY)
    security_event(
        "ws.closed",
        "collaboration socket closed",
        client=client_info(websocket),
        level=logging.WARNING if unusual else logging.INFO,
        user_id=connection.user_id,
        session_id=connection.identity.session_id,
        code=code,
        reason=reason,
        closed_by=by,
        document=doc_id,
    )


routes: list[BaseRoute] = [WebSocketRoute("/ws/collab/{workspace_id}/{file_id}", collab_socket)]
