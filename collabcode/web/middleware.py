"""Pure ASGI middleware: request ids, security headers, body limits, Origin checks, metrics.

Pure ASGI (not ``BaseHTTPMiddleware``) so the same code wraps WebSockets and streaming responses
without buffering them.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collabcode.auth.dependencies import client_info
from collabcode.auth.events import security_event
from collabcode.errors import error_body
from collabcode.logs import request_id_var
from collabcode.settings import Settings
from collabcode.web.metrics import Metrics
from collabcode.web.netinfo import client_scheme, origin_allowed

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; media-src 'self' blob:; frame-ancestors 'none'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()",
    ),
]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def send_json_error(
    send: Send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer from middleware, before any handler ran, in the uniform envelope."""
    body = json.dumps(error_body(code, message, request_id_var.get())).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Give each request and socket an id (kept from a sane ``X-Request-ID``) and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Last resort: a bug escaped every handler. Log it with its traceback, answer a bare
            # 500 in the envelope (never the trace), and do not re-raise into the server.
            log.exception("unhandled error on %s %s", scope.get("method", "WS"), scope.get("path"))
            if scope["type"] == "http" and not started:
                await send_json_error(
                    send_with_id,
                    500,
                    "internal_error",
                    "Something went wrong on our side; the error was logged.",
                    [(k, v) for k, v in SECURITY_HEADERS],
                )
        finally:
            request_id_var.reset(token)


class SecurityHeadersMiddleware:
    """Add CSP, nosniff, framing, referrer and permission policies (and HSTS on https)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = client_scheme(scope, self.settings) == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if https:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body without Content-Length grows past the limit."""


class BodyLimitMiddleware:
    """Refuse bodies over the limit: 413 before reading when Content-Length says so, else while streaming."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await send_json_error(send, 400, "bad_request", "Content-Length is not a number.")
                return
            if declared > limit:
                await _refuse_too_large(scope, send, limit)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse_too_large(scope, send, limit)


async def _refuse_too_large(scope: Scope, send: Send, limit: int) -> None:
    """413 and close, logged as ``input.rejected{field=body,rule=max_bytes}``."""
    security_event(
        "input.rejected",
        "request body too large",
        client=client_info(Request(scope)),
        level=logging.WARNING,
        field="body",
        rule="max_bytes",
        path=str(scope.get("path", ""))[:200],
    )
    await send_json_error(
        send, 413, "payload_too_large", f"The request body is larger than {limit} bytes.", [(b"connection", b"close")]
    )


class OriginCheckMiddleware:
    """CSRF defence: browsers' state-changing requests must come from an allowed origin.

    A request with ``Sec-Fetch-Site: cross-site`` or an ``Origin`` outside the allowlist is
    refused with 403; requests without either header come from non-browser clients, which
    cannot carry a victim's cookies, and pass.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            headers = dict(scope.get("headers") or [])
            fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
            origin = headers.get(b"origin")
            if fetch_site == "cross-site" or (
                origin is not None and not origin_allowed(origin.decode("latin-1"), scope, self.settings)
            ):
                await send_json_error(send, 403, "origin_not_allowed", "Cross-origin requests are not allowed.")
                return
        await self.app(scope, receive, send)


class MetricsMiddleware:
    """Count requests by route template and status, and time them."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or (
                "/static" if scope["path"].startswith("/static/") else "unmatched"
            )
            self.metrics.observe_request(scope["method"], template, status, time.perf_counter() - start)
