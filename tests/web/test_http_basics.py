"""The HTTP contract every feature inherits: envelopes, limits, headers, Origin, health, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from collabcode.app import create_app
from collabcode.settings import Settings
from collabcode.web.bodies import parse_body
from tests.conftest import TEST_ORIGIN


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=20)


async def echo(request: Request) -> JSONResponse:
    body = await parse_body(request, Echo)
    return JSONResponse({"name": body.name})


async def boom(request: Request) -> JSONResponse:
    raise RuntimeError("secret internals /etc/passwd SELECT * FROM users")


@pytest.fixture
async def api(settings: Settings):
    app = create_app(
        settings, extra_routes=[Route("/api/test/echo", echo, methods=["POST"]), Route("/api/test/boom", boom)]
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            yield http


def assert_envelope(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["x-request-id"]


async def test_unknown_api_route_is_json_404(api: httpx.AsyncClient) -> None:
    assert_envelope(await api.get("/api/nope"), 404, "not_found")


async def test_unknown_page_for_a_browser_gets_the_app_with_404(api: httpx.AsyncClient) -> None:
    r = await api.get("/no/such/page", headers={"accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")


async def test_wrong_method_is_405(api: httpx.AsyncClient) -> None:
    assert_envelope(await api.delete("/healthz"), 405, "method_not_allowed")


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/test/echo", content=b'{"name": ', headers={"content-type": "application/json"})
    assert_envelope(r, 400, "invalid_json")


async def test_bad_utf8_is_400(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/test/echo", content=b'{"name": "\xff"}', headers={"content-type": "application/json"})
    assert_envelope(r, 400, "invalid_utf8")


async def test_deep_json_is_400(api: httpx.AsyncClient) -> None:
    deep = "[" * 500 + "]" * 500
    r = await api.post("/api/test/echo", content=deep, headers={"content-type": "application/json"})
    assert_envelope(r, 400, "json_too_deep")


async def test_wrong_content_type_is_415(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/api/test/echo", content=b"name=x", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_envelope(r, 415, "unsupported_media_type")


async def test_schema_violations_are_422(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/test/echo", json={"name": "x" * 21})
    assert_envelope(r, 422, "validation_failed")
    r = await api.post("/api/test/echo", json={"name": "ok", "role": "admin"})
    assert_envelope(r, 422, "validation_failed")
    assert r.json()["error"]["details"]["field"] == "role"
    ok = await api.post("/api/test/echo", json={"name": "ok"})
    assert ok.status_code == 200 and ok.json() == {"name": "ok"}


async def test_oversized_body_is_413_before_reading(api: httpx.AsyncClient, settings: Settings) -> None:
    big = b"x" * (settings.max_body_bytes + 1)
    r = await api.post("/api/test/echo", content=big, headers={"content-type": "application/json"})
    assert_envelope(r, 413, "payload_too_large")


async def test_oversized_streamed_body_is_413(api: httpx.AsyncClient, settings: Settings) -> None:
    async def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    r = await api.post("/api/test/echo", content=chunks(), headers={"content-type": "application/json"})
    assert_envelope(r, 413, "payload_too_large")


async def test_bugs_answer_500_without_internals(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/test/boom")
    assert_envelope(r, 500, "internal_error")
    assert "passwd" not in r.text and "SELECT" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:8001", "null"])
async def test_cross_origin_writes_are_refused(api: httpx.AsyncClient, origin: str) -> None:
    r = await api.post("/api/test/echo", json={"name": "x"}, headers={"origin": origin})
    assert_envelope(r, 403, "origin_not_allowed")


async def test_cross_site_fetch_metadata_is_refused(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/test/echo", json={"name": "x"}, headers={"sec-fetch-site": "cross-site"})
    assert_envelope(r, 403, "origin_not_allowed")


async def test_same_origin_writes_pass(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/api/test/echo", json={"name": "x"}, headers={"origin": TEST_ORIGIN, "sec-fetch-site": "same-origin"}
    )
    assert r.status_code == 200


async def test_security_headers_on_every_response(api: httpx.AsyncClient) -> None:
    for path in ("/", "/healthz", "/api/nope"):
        r = await api.get(path)
        csp = r.headers["content-security-policy"]
        assert "unsafe-eval" not in csp
        for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "script-src 'self'"):
            assert directive in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"]
        assert "camera=(self)" in r.headers["permissions-policy"]
        assert "display-capture=(self)" in r.headers["permissions-policy"]
        assert "strict-transport-security" not in r.headers  # plain http


async def test_request_id_is_kept_when_sane_and_replaced_when_hostile(api: httpx.AsyncClient) -> None:
    r = await api.get("/healthz", headers={"x-request-id": "abcdef0123456789"})
    assert r.headers["x-request-id"] == "abcdef0123456789"
    r = await api.get("/healthz", headers={"x-request-id": "<script>" + "x" * 100})
    assert r.headers["x-request-id"] != "<script>" + "x" * 100


async def test_health_ready_metrics(api: httpx.AsyncClient) -> None:
    h = await api.get("/healthz")
    assert h.status_code == 200 and h.json()["status"] == "ok"
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": {"ok": True, "kind": "sqlite"}, "broker": {"ok": True, "kind": "memory"}},
    }
    m = await api.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    text = m.text
    assert 'collabcode_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "collabcode_http_request_duration_seconds_bucket" in text
    assert "collabcode_websockets_open" in text
    assert "collabcode_db_" in text


async def test_readyz_is_503_when_the_database_is_gone(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.services.db.close()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            r = await http.get("/readyz")
    assert r.status_code == 503
    assert r.headers["retry-after"]
    assert r.json()["checks"]["database"]["ok"] is False


async def test_static_assets_are_cached_and_precompressed(api: httpx.AsyncClient) -> None:
    manifest_path = Path(__file__).resolve().parents[2] / "collabcode" / "static" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    js = next(v for k, v in manifest.items() if k.endswith(".js"))
    url = js if js.startswith("/") else "/static/" + js
    r = await api.get(url, headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert "immutable" in r.headers["cache-control"]
    assert r.headers["content-type"].startswith("text/javascript")
    again = await api.get(url, headers={"if-none-match": r.headers["etag"], "accept-encoding": "gzip"})
    assert again.status_code == 304
    shell = await api.get("/")
    assert shell.headers["cache-control"] == "no-cache"
    assert "<script" in shell.text and "collabcode" in shell.text


@pytest.mark.parametrize(
    "path",
    ["/static/../pyproject.toml", "/static/%2e%2e/app.py", "/static/.hidden", "/static/manifest.json.gz", "/static/"],
)
async def test_static_path_tricks_are_404(api: httpx.AsyncClient, path: str) -> None:
    r = await api.get(path)
    assert r.status_code == 404
