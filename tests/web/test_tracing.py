"""--tracing: one OpenTelemetry server span per request, tagged with collabcode's request id."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from collabcode.app import create_app
from collabcode.settings import SETTINGS_BY_NAME, Settings
from tests.conftest import TEST_ORIGIN


async def test_requests_are_traced_with_their_request_id(settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(dataclasses.replace(settings, tracing=True), tracer_provider=provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            response = await http.get("/api/no-such-thing")
            await http.get("/healthz")
            await http.get("/metrics")
    request_id = response.json()["error"]["request_id"]
    servers = [span for span in exporter.get_finished_spans() if span.kind.name == "SERVER"]
    assert len(servers) == 1, [span.name for span in servers]  # health and metrics are not traced
    assert servers[0].attributes is not None
    assert servers[0].attributes["collabcode.request_id"] == request_id
    assert servers[0].attributes["http.status_code"] == 404


async def test_tracing_is_off_unless_asked(settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, tracer_provider=provider)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            await http.get("/api/no-such-thing")
    assert not exporter.get_finished_spans()


def test_the_switch_parses_like_the_others() -> None:
    assert SETTINGS_BY_NAME["tracing"].parse("true") is True
    with pytest.raises(ValueError):
        SETTINGS_BY_NAME["tracing"].parse("maybe")
