"""The one wrapper every JSON route handler goes through.

It logs rejected input as ``input.rejected{field,rule}`` (SECURITY.md) and maps storage failures
that escape a service to their contract codes: an unreachable database is 503 with Retry-After,
a constraint violated by a concurrent change is 409.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from collabcode.auth.dependencies import client_info
from collabcode.auth.events import security_event
from collabcode.db import DatabaseUnavailable, IntegrityViolation
from collabcode.errors import AppError, Conflict, ServiceUnavailable

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

INPUT_STATUSES = frozenset({400, 413, 415, 422})


def endpoint(handler: Handler) -> Handler:
    """Wrap a route handler with input-rejection logging and storage-failure mapping."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except AppError as exc:
            if exc.status in INPUT_STATUSES:
                details = exc.details or {}
                security_event(
                    "input.rejected",
                    "request input rejected",
                    client=client_info(request),
                    level=logging.WARNING,
                    field=str(details.get("field", "body"))[:64],
                    rule=str(details.get("rule", exc.code))[:64],
                    path=request.url.path[:200],
                )
            raise
        except DatabaseUnavailable:
            log.warning(
                "database unavailable on %s %s",
                request.method,
                request.url.path[:200],
                extra={"event": "dependency.down", "dependency": "database"},
            )
            raise ServiceUnavailable("The database is unavailable; try again shortly.") from None
        except IntegrityViolation:
            # A concurrent change removed or took what this one refers to.
            raise Conflict("The request conflicts with a change made at the same time; try again.") from None

    return run
