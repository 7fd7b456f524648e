"""No secret in any log line or response of the test run (issue #11); see ``tests/secret_watch.py``.

The grep itself, :func:`test_no_secret_in_any_log_or_response`, is moved to the end of the run.
It first drives its own short scenario (sign-up, sign-in, refresh, password change, an AI call
with an API key, an events socket) so it never passes on an empty recording, then searches
everything the session recorded. The other tests prove the matcher and the recording find a
planted secret.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import sys
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from websockets.asyncio.client import connect

import collabcode.app
import tests.conftest
from collabcode.auth.service import auth_service
from collabcode.logs import redactor
from collabcode.mail import MailQueue
from collabcode.settings import Settings
from tests.auth.conftest import RecordingMailer, link_token
from tests.conftest import TEST_ORIGIN
from tests.fake_ai_provider import FakeAIProvider
from tests.secret_watch import (
    ORIGINAL_CREATE_APP,
    RECORDER,
    Recorded,
    Recorder,
    RecordingLogHandler,
    RecordingMiddleware,
    add_server_files,
    find_leaks,
    launch_secrets,
)
from tests.services import free_port

T = TypeVar("T")


# -- the matcher and the recording find what is planted -----------------------------------------


def test_the_matcher_finds_a_secret_in_every_encoding_and_nothing_in_clean_text() -> None:
    password = 'p@ss wörd/+=&"x'
    token = secrets.token_urlsafe(32)
    records = {
        "test_a": [
            Recorded(
                "log", "collabcode.auth", '{"msg": "signed in", "detail": "' + password.replace('"', '\\"') + '"}'
            ),
            Recorded("response", "GET /next 302", "location: /login?next=%2F&pw=" + quote(password, safe="")),
            Recorded("websocket frame", "WEBSOCKET /ws/events", base64.urlsafe_b64encode(password.encode()).decode()),
            Recorded("response", "GET /ok 200", '{"status": "fine", "user": "alice"}'),
        ],
        "test_b": [Recorded("log", "collabcode.web", f"refresh failed for %22{token}%22 today")],
    }
    known = {"test_a": {password: "password", token: "refresh token"}}
    hits = find_leaks(records, known)
    found = sorted((hit.scope, hit.record.label) for hit in hits)
    assert found == [
        ("test_a", "GET /next 302"),
        ("test_a", "WEBSOCKET /ws/events"),
        ("test_a", "collabcode.auth"),
        ("test_b", "collabcode.web"),  # learned in test_a, leaked in test_b: the token backstop
    ]
    assert all(password not in hit.describe() and token not in hit.describe() for hit in hits)


def test_short_values_and_common_passwords_are_not_learned_and_the_cap_holds() -> None:
    recorder = Recorder(limit=100)
    recorder.learn("short", "password")
    recorder.learn("password123", "password")
    recorder.learn("a less common passphrase", "password")
    assert list(recorder.all_secrets()) == ["a less common passphrase"]
    for _ in range(3):
        recorder.record("log", "x", "y" * 60)
    assert (recorder.recorded_chars, recorder.dropped_chars, recorder.counts) == (60, 120, {"log": 3})


def test_a_password_the_client_put_in_a_url_is_not_a_leak_but_one_from_a_body_is() -> None:
    recorder = Recorder()
    in_url, in_body = "pw-" + secrets.token_hex(8), "pw-" + secrets.token_hex(8)
    recorder.learn(in_url, "password")
    recorder.learn(in_body, "password")
    recorder.note_request_target(f"/api/users/{quote(in_url)}/followers")
    recorder.record("log", "uvicorn.access", f'"GET /api/users/{quote(in_url)}/followers" 404 {in_body}')
    hits = find_leaks(recorder.records, recorder.leakable_secrets())
    assert {hit.form for hit in hits} == {in_body}


def test_the_log_handler_keeps_extra_fields_and_exception_text_after_production_redaction() -> None:
    recorder = Recorder()
    handler = RecordingLogHandler(recorder)
    key, other, masked = ("sk-" + secrets.token_hex(16), "hunter2-" + secrets.token_hex(8), secrets.token_urlsafe(32))
    redactor.add([masked])  # as the app's lifespan does with its own secrets
    try:
        raise ValueError(f"provider refused key {other}")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "collabcode.assistant", logging.ERROR, __file__, 1, "call failed %s", (masked,), exc_info
    )
    record.detail = key
    handler.handle(record)
    for value in (key, other, masked):
        recorder.learn(value, "secret setting")
    assert {hit.form for hit in find_leaks(recorder.records, recorder.secrets)} == {key, other}
    assert record.args == (masked,), "the handler must not edit records other handlers see"


def test_credentials_given_to_a_server_subprocess_are_learned() -> None:
    args = ["--port", "8123", "--smtp-url", "smtp://mailer:pw-0123456789@127.0.0.1:25", "--redis-url=redis://h:6379/0"]
    env = {"COLLABCODE_AI_API_KEY": "sk-abcdefgh", "JWT_SECRET": "j" * 40, "COLLABCODE_BCRYPT_ROUNDS": "4"}
    assert sorted(launch_secrets(args, env)) == ["j" * 40, "pw-0123456789", "sk-abcdefgh"]
    assert hasattr(tests.conftest.start_server, "__wrapped__"), "start_server is not watched"


async def test_the_middleware_learns_secrets_and_records_a_leaking_route(tmp_path: Path) -> None:
    """A route that leaks four kinds of secret in four ways is caught; ``set-cookie`` is not recorded."""
    recorder = Recorder()
    refresh = secrets.token_urlsafe(32)

    async def leak(request: Request) -> Response:
        body = await request.json()
        services = request.app.state.services
        response = JSONResponse(
            {
                "echo": base64.urlsafe_b64encode(body["new_password"].encode()).decode(),
                "debug": services.secrets.hash_key,
            },
            headers={"x-debug": quote(services.settings.ai_api_key, safe=""), "x-session": refresh},
        )
        response.set_cookie("collabcode_refresh", refresh, path="/api/auth", httponly=True)
        return response

    settings = Settings(data_dir=tmp_path / "data", log_format="json", ai_api_key="sk-test/key+with=specials")
    app = ORIGINAL_CREATE_APP(settings, extra_routes=[Route("/api/test-leak", leak, methods=["POST"])])
    app.add_middleware(RecordingMiddleware, recorder=recorder)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            response = await http.post("/api/test-leak", json={"new_password": "a long & unusual one"})
            assert response.status_code == 200 and response.cookies.get("collabcode_refresh") == refresh
    hits = find_leaks(recorder.records, recorder.secrets)
    assert {hit.secret_kind for hit in hits} == {"password", "secret setting", "refresh token", "instance secret"}
    (recorded,) = recorder.records["session"]
    assert "set-cookie" not in recorded.text.lower()


# -- the grep over the whole run -----------------------------------------------------------------

AI_MODELS = {"ai_chat_model": "chat-model", "ai_completion_model": "qwen2.5-coder:1.5b"}


def test_no_secret_in_any_log_or_response(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert collabcode.app.create_app is not ORIGINAL_CREATE_APP, "the secret watch plugin is not installed"
    with FakeAIProvider() as provider:
        used = _in_own_thread(lambda: _drive_scenario(tmp_path, provider))
    learned = RECORDER.all_secrets()
    missing = sorted(name for name, value in used.items() if value not in learned)
    assert not missing, f"the watch did not learn: {missing}"
    assert RECORDER.counts.get("response", 0) > 0 and RECORDER.counts.get("websocket frame", 0) > 0
    assert RECORDER.counts.get("log", 0) > 0
    files = add_server_files(RECORDER, tmp_path_factory.getbasetemp())
    assert files > 0  # at least this test's own secrets.json
    hits = find_leaks(RECORDER.records, RECORDER.leakable_secrets())
    report = "\n".join(hit.describe() for hit in hits[:50])
    assert not hits, f"{len(hits)} secret(s) found in logs or responses ({RECORDER.summary()}):\n{report}"


def _in_own_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a fresh loop in a thread: browser tests leave a loop in the main thread."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name="secret-grep-scenario")
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the scenario did not finish in 120 s"
    if errors:
        raise errors[0]
    return result[0]


async def _drive_scenario(tmp_path: Path, provider: FakeAIProvider) -> dict[str, str]:
    """Sign up, sign in, refresh, change the password, call the AI, open a socket: the secrets used."""
    used: dict[str, str] = {}
    ai_key = used["ai key"] = "sk-scenario-" + secrets.token_urlsafe(24)
    smtp_password = used["smtp password"] = "smtp-" + secrets.token_urlsafe(16)
    first = used["first password"] = "first passphrase " + secrets.token_hex(6)
    second = used["second password"] = "second passphrase " + secrets.token_hex(6)
    wrong = used["mistyped password"] = "mistyped passphrase " + secrets.token_hex(6)
    provider.api_key = ai_key
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        host="127.0.0.1",
        port=port,
        log_format="json",
        bcrypt_rounds=4,
        registration="open",
        smtp_url=f"smtp://mailer:{smtp_password}@127.0.0.1:2525",
        ai_provider="openai",
        ai_base_url=provider.url,
        ai_api_key=ai_key,
        ai_timeout=6.0,
        **AI_MODELS,
    )
    mailer = RecordingMailer()
    app = collabcode.app.create_app(settings, mailer=mailer)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        used["jwt secret"] = app.state.services.secrets.jwt_secret
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN))

        async def call(method: str, url: str, expect: int, token: str | None = None, **kwargs: Any) -> httpx.Response:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            response = await http.request(method, url, headers=headers, **kwargs)
            assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text[:300]}"
            return response

        account = {"email": "grace@example.com", "username": "grace", "display_name": "Grace"}
        await call("POST", "/api/auth/signup", 202, json={**account, "password": first})
        queue = auth_service(app.state.services).mail
        assert isinstance(queue, MailQueue)
        await asyncio.wait_for(queue.drain(), 10)
        (mail,) = mailer.to("grace@example.com")
        await call("POST", "/api/auth/verify-email", 204, json={"token": link_token(mail, "/verify-email")})
        await call("POST", "/api/auth/login", 401, json={"login": "grace", "password": wrong})
        await call("POST", "/api/auth/login", 200, json={"login": "grace", "password": first})
        used["refresh token"] = http.cookies["collabcode_refresh"]
        token = (await call("POST", "/api/auth/refresh", 200)).json()["access_token"]
        await call(
            "POST", "/api/auth/password/change", 204, token, json={"current_password": first, "new_password": second}
        )
        token = (await call("POST", "/api/auth/login", 200, json={"login": "grace", "password": second})).json()
        token = token["access_token"]
        workspace = (await call("POST", "/api/workspaces", 201, token, json={"name": "Project"})).json()["id"]
        file_body = {"path": "src/calc.py", "kind": "file", "content": "def add(a, b):\n    return a + b\n"}
        file_id = (await call("POST", f"/api/workspaces/{workspace}/files", 201, token, json=file_body)).json()["id"]
        provider.script_completion(["return a", " + b\n"])
        complete = {"workspace_id": workspace, "file_id": file_id, "language": "python", "prefix": "def add(a, b):\n"}
        await call("POST", "/api/ai/complete", 200, token, json={**complete, "suffix": "\n"})
        assert provider.generation_requests()[-1].headers.get("authorization") == f"Bearer {ai_key}"
        async with _live(app, port):
            async with connect(
                f"ws://127.0.0.1:{port}/ws/events", additional_headers={"authorization": f"Bearer {token}"}
            ) as ws:
                assert '"hello"' in str(await asyncio.wait_for(ws.recv(), 10))
            await app.state.services.connections.close_all(1001, "going_away")
        await call("POST", "/api/auth/logout", 204, token)
    return used


@contextlib.asynccontextmanager
async def _live(app: Any, port: int) -> AsyncIterator[None]:
    """The same app on a real socket (lifespan already running), for the events WebSocket."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the live server did not start"
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
