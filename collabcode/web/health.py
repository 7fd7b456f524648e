"""Liveness, readiness and metrics endpoints for load balancers and monitoring."""

from __future__ import annotations

import asyncio
import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collabcode import __version__
from collabcode.auth.dependencies import bearer_token
from collabcode.errors import error_body
from collabcode.logs import request_id_var
from collabcode.services import services_of
from collabcode.web.metrics import CONTENT_TYPE

READY_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    """The process is up and serving; says nothing about dependencies."""
    return JSONResponse({"status": "ok", "version": __version__}, headers={"cache-control": "no-store"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers and the broker is connected; 503 otherwise."""
    services = services_of(request)
    db_ok, db_error = True, None
    try:
        await asyncio.wait_for(services.db.ping(), READY_TIMEOUT)
    except Exception as exc:  # any failure means not ready; the reason is logged, not shown
        db_ok, db_error = False, "unreachable" if not isinstance(exc, TimeoutError) else "timeout"
    bus_ok = services.bus.healthy
    checks = {
        "database": {"ok": db_ok, "kind": services.db.dialect, **({"error": db_error} if db_error else {})},
        "broker": {"ok": bus_ok, "kind": services.bus.kind, **({} if bus_ok else {"error": "unreachable"})},
    }
    ready = db_ok and bus_ok
    body = {"status": "ready" if ready else "not_ready", "checks": checks}
    headers = {"cache-control": "no-store"}
    if not ready:
        headers["retry-after"] = "5"
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


def _metrics_allowed(request: Request) -> bool:
    """With ``COLLABCODE_METRICS_TOKEN`` set, only a request bearing it may read the metrics."""
    token: str | None = request.app.state.settings.metrics_token
    if not token:
        return True
    sent = bearer_token(request)
    return bool(sent) and hmac.compare_digest(str(sent).encode(), token.encode())


async def metrics(request: Request) -> Response:
    if not _metrics_allowed(request):
        body = error_body("unauthorized", "This server's metrics need its metrics token.", request_id_var.get())
        return JSONResponse(body, status_code=401, headers={"www-authenticate": "Bearer", "cache-control": "no-store"})
    services = services_of(request)
    services.metrics.websockets_open.clear()
    for endpoint in ("collab", "events"):
        services.metrics.websockets_open.labels(endpoint).set(services.connections.count(endpoint))
    return Response(services.metrics.render(), media_type=CONTENT_TYPE, headers={"cache-control": "no-store"})


routes = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
    Route("/metrics", metrics, methods=["GET"]),
]
