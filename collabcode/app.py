"""The application factory: one function assembles collabcode from a settings object.

No work happens at import time. Long-lived collaborators (database, broker, clock) are built in
the lifespan unless a caller passes them in, which is how tests use real or in-memory ones
without patching.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from collabcode.clock import Clock, SystemClock
from collabcode.db.base import DatabaseUnavailable
from collabcode.errors import AppError, error_body
from collabcode.features import load_features
from collabcode.instance_secrets import load_or_create_secrets
from collabcode.logs import redactor, request_id_var
from collabcode.mail import Mailer, create_mailer
from collabcode.realtime.connections import ConnectionRegistry
from collabcode.services import Services
from collabcode.settings import Settings
from collabcode.web import health, openapi, static
from collabcode.web.metrics import Metrics
from collabcode.web.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    OriginCheckMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from collabcode.web.tracing import tracing_middleware

if TYPE_CHECKING:
    from collabcode.db import Database
    from collabcode.pubsub import Bus

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = ("/content", "/import", "/avatar")


def _json_error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: dict[str, object] | None = None,
) -> Response:
    return JSONResponse(error_body(code, message, request_id_var.get(), details), status_code=status, headers=headers)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return _json_error(exc.status, exc.code, exc.message, exc.headers, exc.details)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        exc,
        extra={"event": "dependency.down", "dependency": "database"},
    )
    return _json_error(
        503, "database_unavailable", "The database is unavailable; try again shortly.", {"Retry-After": "5"}
    )


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/ws/", "/static/")) or path in {"/healthz", "/readyz", "/metrics"}:
        return False
    return request.method in {"GET", "HEAD"} and "text/html" in request.headers.get("accept", "")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        if _wants_html(request):
            # Browsers navigating to an unknown page get the app, which renders "not found".
            return static.shell_response(request, status_code=404)
        return _json_error(404, "not_found", "Not found.")
    if exc.status_code == 405:
        return _json_error(405, "method_not_allowed", "This method is not allowed here.", dict(exc.headers or {}))
    return _json_error(exc.status_code, "http_error", str(exc.detail))


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    bus: Bus | None = None,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    extra_routes: list[BaseRoute] | None = None,
    tracer_provider: Any = None,
) -> Starlette:
    """Build the ASGI app. Collaborators passed in are used as they are and not closed."""
    metrics = Metrics()
    features = load_features()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from collabcode.db import migrate, open_database
        from collabcode.pubsub import create_bus

        async with AsyncExitStack() as stack:
            secrets = load_or_create_secrets(settings)
            redactor.add([*secrets.values(), settings.ai_api_key])
            database = db
            if database is None:
                database = open_database(settings.resolved_database_url, pool_size=settings.db_pool_size)
                await database.connect()
                stack.push_async_callback(database.close)
            await migrate(database)
            broker = bus
            if broker is None:
                broker = create_bus(settings.redis_url)
                await broker.start()
                stack.push_async_callback(broker.close)
            metrics.add_stats("collabcode_db", database.stats, "Database pool")
            metrics.add_stats("collabcode_broker", broker.stats, "Message broker")
            services = Services(
                settings=settings,
                db=database,
                bus=broker,
                clock=clock or SystemClock(),
                secrets=secrets,
                metrics=metrics,
                connections=ConnectionRegistry(),
                mailer=mailer or create_mailer(settings),
                started_at=(clock or SystemClock()).now(),
            )
            app.state.services = services
            for feature in features:
                await feature.start(services)
            try:
                yield
            finally:
                # Sockets first (1001: clients reconnect elsewhere), then features flush.
                await services.connections.close_all(1001, "going_away")
                for hook in reversed(services.shutdown_hooks):
                    try:
                        await hook()
                    except Exception:
                        log.exception("shutdown hook failed")

    routes: list[BaseRoute] = [
        *health.routes,
        openapi.route,
        Route("/static/{path:path}", static.static_file, methods=["GET", "HEAD"]),
        *[Route(path, static.app_shell, methods=["GET", "HEAD"]) for path in static.APP_ROUTES],
        *[route for feature in features for route in feature.routes],
        *(extra_routes or []),
    ]

    def body_limit(scope: Scope) -> int:
        path: str = scope.get("path", "")
        return settings.max_upload_bytes if path.endswith(UPLOAD_SUFFIXES) else settings.max_body_bytes

    middleware = [
        Middleware(RequestContextMiddleware),
        *tracing_middleware(settings, tracer_provider),
        Middleware(MetricsMiddleware, metrics=metrics),
        Middleware(SecurityHeadersMiddleware, settings=settings),
        Middleware(BodyLimitMiddleware, limit_for=body_limit),
        Middleware(OriginCheckMiddleware, settings=settings),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            AppError: _app_error,
            HTTPException: _http_error,
            DatabaseUnavailable: _database_unavailable,
        },
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app
