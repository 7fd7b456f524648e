"""What other features import to know who is calling.

HTTP handlers::

    identity = await require_user(request)      # 401 unless a valid Bearer token on a live session
    identity = await require_admin(request)     # and 403 unless an instance admin

WebSocket handlers, before ``accept()``::

    try:
        identity = await authenticate_websocket(websocket)
    except WebSocketRejected as exc:
        await reject(websocket, exc.reason)     # logs, closes before accept: the client sees HTTP 403
        return

and in the socket's loop, now and then: ``await session_alive(services, identity.session_id)``.
Sockets registered in ``services.connections`` with their ``session_id`` are closed with 4401
when their session is revoked, in every process.
"""

from __future__ import annotations

import logging

from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocket

from collabcode.auth.devices import clean_user_agent
from collabcode.auth.events import ClientInfo, security_event
from collabcode.auth.identity import Identity
from collabcode.auth.service import auth_service
from collabcode.auth.tokens import MAX_TOKEN_CHARS, TokenRejected
from collabcode.db import DatabaseUnavailable
from collabcode.errors import Forbidden, ServiceUnavailable, Unauthorized
from collabcode.logs import user_id_var
from collabcode.services import Services, services_of
from collabcode.web.netinfo import client_ip, origin_allowed

__all__ = [
    "WebSocketRejected",
    "authenticate_websocket",
    "client_info",
    "reject",
    "require_admin",
    "require_user",
    "session_alive",
]

_STATE_KEY = "auth_identity"


class WebSocketRejected(Exception):
    """The handshake must be refused; ``reason`` is a short machine code (never client input)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def client_info(conn: HTTPConnection) -> ClientInfo:
    """The caller's IP (trusted-proxy aware) and cleaned User-Agent."""
    settings = services_of(conn).settings
    return ClientInfo(ip=client_ip(conn.scope, settings), user_agent=clean_user_agent(conn.headers.get("user-agent")))


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header; "" when the header is there but unusable."""
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_CHARS:
        return ""
    return token


def _unauthorized(message: str = "Sign in to continue.") -> Unauthorized:
    return Unauthorized(message, headers={"WWW-Authenticate": 'Bearer realm="collabcode"'})


async def require_user(request: Request) -> Identity:
    """The caller's identity from a Bearer access token, checked against the live session."""
    cached = request.scope.get("state", {}).get(_STATE_KEY)
    if isinstance(cached, Identity):
        return cached
    token = bearer_token(request)
    client = client_info(request)
    if token is None:
        security_event("auth.token_rejected", "no access token", client=client, level=logging.DEBUG, reason="missing")
        raise _unauthorized()
    try:
        if not token:
            raise TokenRejected("malformed")
        identity = await auth_service(services_of(request)).identity_for_access_token(token)
    except TokenRejected as exc:
        security_event(
            "auth.token_rejected", "access token rejected", client=client, level=logging.WARNING, reason=exc.reason
        )
        raise _unauthorized("Your session has ended or the token is invalid; sign in again.") from None
    except DatabaseUnavailable:
        raise ServiceUnavailable("The database is unavailable; try again in a moment.") from None
    request.scope.setdefault("state", {})[_STATE_KEY] = identity
    user_id_var.set(identity.user_id)
    return identity


async def optional_user(request: Request) -> Identity | None:
    """The identity when an Authorization header is sent (and valid), None when none is sent."""
    if request.headers.get("authorization") is None:
        return None
    return await require_user(request)


async def require_admin(request: Request) -> Identity:
    identity = await require_user(request)
    if not identity.is_admin:
        security_event(
            "authz.denied",
            "admin only",
            client=client_info(request),
            level=logging.WARNING,
            user_id=identity.user_id,
            session_id=identity.session_id,
            resource=request.url.path[:200],
            action=request.method,
        )
        raise Forbidden("Only administrators can do this.")
    return identity


async def authenticate_websocket(websocket: WebSocket) -> Identity:
    """Check Origin, then a ``?ticket=`` or a Bearer header; raise :class:`WebSocketRejected`.

    Call before ``accept()``. A browser always sends ``Origin``, which must be allowed (exact
    match). Only non-browser clients omit it, and those must authenticate with a header.
    """
    services = services_of(websocket)
    origin = websocket.headers.get("origin")
    has_header = websocket.headers.get("authorization") is not None
    if origin is not None:
        if not origin_allowed(origin, websocket.scope, services.settings):
            raise WebSocketRejected("origin_not_allowed")
    elif not has_header:
        raise WebSocketRejected("origin_missing")
    service = auth_service(services)
    ticket = websocket.query_params.get("ticket")
    try:
        if ticket is not None:
            identity = await service.identity_for_ticket(ticket)
        elif has_header:
            token = bearer_token(websocket)
            if not token:
                raise WebSocketRejected("malformed_authorization")
            identity = await service.identity_for_access_token(token)
        else:
            raise WebSocketRejected("no_credentials")
    except TokenRejected as exc:
        raise WebSocketRejected(exc.reason) from None
    except DatabaseUnavailable:
        raise WebSocketRejected("service_unavailable") from None
    user_id_var.set(identity.user_id)
    return identity


async def reject(websocket: WebSocket, reason: str) -> None:
    """Log ``ws.handshake_rejected`` and refuse the handshake (uvicorn answers HTTP 403)."""
    security_event(
        "ws.handshake_rejected",
        "WebSocket handshake rejected",
        client=client_info(websocket),
        level=logging.WARNING,
        reason=reason,
        path=websocket.url.path[:200],
    )
    await websocket.close(1008)


async def session_alive(services: Services, session_id: str) -> bool:
    """Whether a session is still live (not revoked, not expired, user not disabled)."""
    return await auth_service(services).session_alive(session_id)
