"""Optional OpenTelemetry tracing: one server span per HTTP request and WebSocket session.

Off by default. With ``--tracing`` collabcode wraps the app in OpenTelemetry's ASGI middleware
(``pip install 'collabcode[tracing]'``) and tags each span with collabcode's request id, so a
trace and the JSON log lines of one request find each other. Spans go to the global tracer
provider: configure exporters the standard way (``OTEL_EXPORTER_OTLP_ENDPOINT`` … with
``opentelemetry-instrument collabcode serve``, or any SDK setup in a wrapper script). Health
checks and metric scrapes are not traced.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware

from collabcode.settings import ConfigError, Settings

#: Endpoints scraped every few seconds: tracing them would drown real traffic.
UNTRACED = "healthz,readyz,metrics"
INSTALL_HINT = "--tracing needs OpenTelemetry: pip install 'collabcode[tracing]'"


def _tag_request_id(span: Any, scope: dict[str, Any]) -> None:
    request_id = (scope.get("state") or {}).get("request_id")
    if request_id and span is not None and span.is_recording():
        span.set_attribute("collabcode.request_id", str(request_id))


def tracing_middleware(settings: Settings, tracer_provider: Any = None) -> list[Middleware]:
    """The middleware to add when tracing is on (inside the request-id middleware); else none."""
    if not settings.tracing:
        return []
    try:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return [
        Middleware(
            OpenTelemetryMiddleware,
            excluded_urls=UNTRACED,
            server_request_hook=_tag_request_id,
            tracer_provider=tracer_provider,
        )
    ]
