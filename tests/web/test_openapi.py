"""The OpenAPI document stays true: it validates, covers every route exactly once, documents the
body models the handlers really use, says which operations need a token, matches what the server
answers when every operation is called in turn, and docs/openapi.md is generated from it.

Excluded from the document on purpose: ``/static/{path}`` (the built frontend's files) and the app
shell pages of ``collabcode.web.static.APP_ROUTES`` (``/``, ``/signin``, ``/w/{workspace_id}`` ...):
they serve the single-page app's HTML and assets, not the API. WebSocket routes are not OpenAPI
operations (the document's description points to docs/protocol.md).
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Host

from collabcode.app import create_app
from collabcode.auth.service import auth_service
from collabcode.settings import Settings
from collabcode.web import static
from collabcode.web.api_operations import OPERATIONS
from collabcode.web.openapi import (
    OPENAPI_PATH,
    PATH_PARAMS,
    Operation,
    build_document,
    default_document,
    endpoints,
    http_routes,
    markdown,
    path_parameter_names,
    path_template,
)
from tests.conftest import TEST_ORIGIN

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
#: The helpers a handler reads its JSON body through, and whether they allow no body at all.
BODY_READERS = {"parse_body": True, "_body": True, "_optional_body": False}


def _is_api_route(path: str) -> bool:
    return path not in static.APP_ROUTES and not path.startswith("/static/")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    """An app that is never started: enough to read its routes and build its document."""
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi") / "data", host="127.0.0.1", port=8000))


@pytest.fixture(scope="module")
def document(app: Starlette) -> dict[str, Any]:
    return build_document(app, OPERATIONS)


# -- the document ----------------------------------------------------------------------------


async def test_served_document_is_valid_openapi_31(client: httpx.AsyncClient) -> None:
    response = await client.get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-cache"
    served = response.json()
    assert served["openapi"].startswith("3.1")
    validate(served)
    assert "docs/protocol.md" in served["info"]["description"]
    again = await client.get(OPENAPI_PATH)
    assert again.content == response.content


def test_every_route_has_exactly_one_operation(app: Starlette) -> None:
    routes = {(method, path) for method, path, _ in http_routes(app) if _is_api_route(path)}
    keys = [op.key for op in OPERATIONS]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    undocumented = sorted(routes - set(keys))
    unknown = sorted(set(keys) - routes)
    assert not twice, f"operations documented twice: {twice}"
    assert not undocumented, f"routes without an Operation in an api_doc module: {undocumented}"
    assert not unknown, f"Operations without a route: {unknown}"


def test_path_parameters_are_declared() -> None:
    """Every path parameter has a known schema, so fuzzers produce valid and invalid ids."""
    for op in OPERATIONS:
        for name in path_parameter_names(op.path):
            assert name in PATH_PARAMS, f"{op.method} {op.path}: add {name} to PATH_PARAMS"


def test_authenticated_operations_document_401_and_bearer(document: dict[str, Any]) -> None:
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            if op["x-auth"] == "public":
                assert op["security"] == [], (method, path)
            elif op["x-auth"] == "optional":
                assert op["security"] == [{}, {"bearer": []}], (method, path)
            else:
                assert op["security"] == [{"bearer": []}], (method, path)
                assert "401" in op["responses"], (method, path)
            if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
                assert {"400", "415", "422"} <= set(op["responses"]), (method, path)


# -- body models -----------------------------------------------------------------------------


def _unwrap(function: Callable[..., Any]) -> Callable[..., Any]:
    while hasattr(function, "__wrapped__"):
        function = function.__wrapped__
    return function


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return namespace[node.id]
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value, namespace), node.attr)
    raise AssertionError(f"cannot resolve {ast.dump(node)}")


def body_reads(function: Callable[..., Any]) -> list[tuple[type[BaseModel], bool]]:
    """(model, body required) for every JSON body the handler reads, following the module's own
    helper functions it calls (``_follow_list`` ...), read from the source with ``ast``."""
    found: list[tuple[type[BaseModel], bool]] = []
    seen: set[Callable[..., Any]] = set()
    pending = [_unwrap(function)]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        namespace = {**current.__globals__, **inspect.getclosurevars(current).nonlocals}
        tree = ast.parse(textwrap.dedent(inspect.getsource(current)))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else str(getattr(node.func, "attr", ""))
            if name in BODY_READERS and current.__name__ not in BODY_READERS:
                assert len(node.args) >= 2, f"{current.__qualname__}: {name} without a model"
                found.append((_resolve(node.args[1], namespace), BODY_READERS[name]))
            elif name in {"read_json", "model_validate"} and current.__name__ not in BODY_READERS:
                raise AssertionError(f"{current.__qualname__} reads its body without a documented model")
            elif isinstance(node.func, ast.Name) and inspect.isfunction(namespace.get(name)):
                helper = namespace[name]
                if helper.__module__ == current.__module__ and name not in BODY_READERS:
                    pending.append(helper)
    return found


def test_documented_body_is_the_model_the_handler_validates(app: Starlette) -> None:
    endpoints = {(method, path): route.endpoint for method, path, route in http_routes(app)}
    wrong: list[str] = []
    for op in OPERATIONS:
        reads = body_reads(endpoints[op.key])
        expected = [] if op.body is None else [(op.body, op.body_required)]
        if reads != expected:
            wrong.append(f"{op.method} {op.path}: handler reads {reads}, documented {expected}")
        if op.body is not None and op.raw_body:
            wrong.append(f"{op.method} {op.path}: both a JSON and a raw body")
    assert not wrong, "\n".join(wrong)


def test_body_reader_check_sees_a_mismatch(app: Starlette) -> None:
    """The check above can fail: the login handler is not read as taking the signup body."""
    endpoints = {(method, path): route.endpoint for method, path, route in http_routes(app)}
    reads = body_reads(endpoints[("POST", "/api/auth/login")])
    assert reads and reads[0][0].__name__ == "LoginBody"
    assert body_reads(endpoints[("GET", "/api/auth/sessions")]) == []


# -- 401 without a token ----------------------------------------------------------------------

SAMPLE_PATH_VALUES = {"username": "someone", "version": "1", "token": "x" * 20}


def _sample_path(op: Operation) -> str:
    path = op.path
    for name in path_parameter_names(op.path):
        path = path.replace("{" + name + "}", SAMPLE_PATH_VALUES.get(name, "0" * 32))
    return path


async def test_authenticated_operations_answer_401_without_a_token(client: httpx.AsyncClient) -> None:
    wrong: list[str] = []
    for op in OPERATIONS:
        if op.auth in {"public", "optional"}:
            continue
        kwargs: dict[str, Any] = {"json": {}} if op.body is not None else {}
        response = await client.request(op.method, _sample_path(op), **kwargs)
        if response.status_code != 401 or response.json()["error"]["code"] != "unauthorized":
            wrong.append(f"{op.method} {op.path}: {response.status_code}")
    assert not wrong, wrong


# -- what the server answers matches the document --------------------------------------------


def schema_errors(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """``value`` against ``schema``, whose ``#/components/...`` references point into ``document``."""
    wrapper = {"components": document["components"], "allOf": [schema]}
    validator = Draft202012Validator(wrapper, format_checker=FormatChecker())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


def test_schema_check_sees_a_mismatch(document: dict[str, Any]) -> None:
    user = {"$ref": "#/components/schemas/User"}
    assert schema_errors(document, user, {"id": "0" * 32}), "missing keys must fail"
    error = {"$ref": "#/components/schemas/Error"}
    assert not schema_errors(document, error, {"error": {"code": "x", "message": "y", "request_id": None}})
    assert schema_errors(document, error, {"error": {"code": "x", "message": "y", "request_id": "r", "trace": "..."}})


class Conformance:
    """Validates real answers against the document's schema for their operation and status."""

    def __init__(self, http: httpx.AsyncClient, document: dict[str, Any]) -> None:
        self.http = http
        self.document = document
        self.checked: set[tuple[str, str]] = set()

    def schema_for(self, method: str, template: str, status: int, media: str) -> dict[str, Any] | None:
        op = self.document["paths"][template][method.lower()]
        assert str(status) in op["responses"], f"{method} {template}: {status} is not documented"
        content = op["responses"][str(status)].get("content")
        if content is None:
            return None
        documented = media if media in content else media.split("/")[0] + "/*"
        assert documented in content, f"{method} {template} {status}: {media} not in {list(content)}"
        schema: dict[str, Any] = content[documented]["schema"]
        return schema

    async def call(self, method: str, template: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        params = kwargs.pop("path", {})
        url = template.format(**params)
        headers = {**kwargs.pop("headers", {}), **({"authorization": f"Bearer {token}"} if token else {})}
        response = await self.http.request(method, url, headers=headers, **kwargs)
        media = response.headers.get("content-type", "").split(";")[0].strip()
        schema = self.schema_for(method, template, response.status_code, media or "application/json")
        if schema is not None and media == "application/json":
            errors = schema_errors(self.document, schema, response.json())
            assert not errors, f"{method} {template} {response.status_code}: {errors}"
        self.checked.add((method, template))
        return response


@pytest.fixture
async def walk(tmp_path: Path) -> AsyncIterator[tuple[Conformance, Starlette]]:
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=8000, log_format="json", bcrypt_rounds=4)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            yield Conformance(http, build_document(app, OPERATIONS)), app


async def _account(check: Conformance, app: Starlette, name: str, role: str = "member") -> tuple[str, str]:
    user = await auth_service(app.state.services).create_user(
        email=f"{name}@example.com",
        username=name,
        display_name=name.title(),
        password=PASSWORD,
        role="admin" if role == "admin" else "member",
        verified=True,
    )
    response = await check.call("POST", "/api/auth/login", json={"login": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return user.id, str(response.json()["access_token"])


W = "/api/workspaces/{workspace_id}"
F = W + "/files/{file_id}"
C = "/api/conversations/{conversation_id}"
U = "/api/users/{username}"
OK = {200, 201, 202, 204}


async def _accounts_and_admin(check: Conformance, admin: str, bob_id: str) -> list[httpx.Response]:
    bob = {"user_id": bob_id}
    return [
        await check.call("GET", "/api/me", admin),
        await check.call("PATCH", "/api/me", admin, json={"bio": "hi"}),
        await check.call("GET", "/api/auth/sessions", admin),
        await check.call("POST", "/api/auth/ws-ticket", admin),
        await check.call("GET", "/api/admin/users", admin),
        await check.call("PATCH", "/api/admin/users/{user_id}", admin, path=bob, json={"disabled": False}),
        await check.call("POST", "/api/admin/users/{user_id}/reset-link", admin, path=bob),
        await check.call("POST", "/api/admin/invites", admin, json={"max_uses": 2}),
        await check.call("GET", "/api/admin/invites", admin),
        await check.call("GET", "/api/admin/settings", admin),
        await check.call("GET", "/api/admin/health", admin),
    ]


async def _workspace_and_history(check: Conformance, admin: str) -> tuple[dict[str, str], list[httpx.Response]]:
    created = await check.call("POST", "/api/workspaces", admin, json={"name": "Demo"})
    workspace = {"workspace_id": created.json()["id"]}
    new_file = {"path": "src/a.py", "kind": "file", "content": "x = 1\n"}
    entry = await check.call("POST", W + "/files", admin, path=workspace, json=new_file)
    file = {**workspace, "file_id": entry.json()["id"]}
    text = {"content": b"x = 2\n", "headers": {"content-type": "text/plain; charset=utf-8"}}
    comment = {"anchor": {"start": 0, "end": 1}, "body": "look"}
    return workspace, [
        created,
        entry,
        await check.call("GET", "/api/workspaces", admin),
        await check.call("GET", W, admin, path=workspace),
        await check.call("POST", W + "/members", admin, path=workspace, json={"username": "bob", "role": "editor"}),
        await check.call("GET", W + "/members", admin, path=workspace),
        await check.call("GET", W + "/tree", admin, path=workspace),
        await check.call("PUT", F + "/content", admin, path=file, **text),
        await check.call("GET", F + "/content", admin, path=file),
        await check.call("GET", F + "/history", admin, path=file),
        await check.call("GET", F + "/checkpoints", admin, path=file),
        await check.call("GET", F + "/authorship", admin, path=file),
        await check.call("GET", F + "/contributors", admin, path=file),
        await check.call("GET", W + "/contributors", admin, path=workspace),
        await check.call("POST", F + "/comments", admin, path=file, json=comment),
        await check.call("GET", F + "/comments", admin, path=file),
        await check.call("GET", W + "/export", admin, path=workspace),
    ]


async def _chat_people_calls(check: Conformance, admin: str, bob: str, workspace_id: str) -> list[httpx.Response]:
    conversation = await check.call("POST", "/api/conversations", admin, json={"username": "bob"})
    chat = {"conversation_id": conversation.json()["id"]}
    message = {"body": "hello", "client_id": "c1"}
    sent = await check.call("POST", C + "/messages", admin, path=chat, json=message)
    ada = {"username": "ada"}
    return [
        conversation,
        sent,
        await check.call("GET", "/api/conversations", admin),
        await check.call("GET", "/api/conversations", bob),
        await check.call("GET", C, bob, path=chat),
        await check.call("GET", C + "/messages", admin, path=chat),
        await check.call("GET", C + "/messages", bob, path=chat),
        await check.call("POST", C + "/read", bob, path=chat, json={"message_id": sent.json()["id"]}),
        await check.call("GET", "/api/users/search", bob, params={"q": "ad"}),
        await check.call("GET", "/api/me/privacy", bob),
        await check.call("PATCH", "/api/me/privacy", bob, json={"discoverable": True}),
        await check.call("GET", U, bob, path=ada),
        await check.call("POST", U + "/follow", bob, path=ada),
        await check.call("GET", U + "/followers", bob, path=ada),
        await check.call("GET", "/api/dashboard", admin),
        await check.call("GET", "/api/dashboard", bob),
        await check.call("GET", "/api/activity", bob),
        await check.call("POST", U + "/block", bob, path=ada),
        await check.call("GET", "/api/blocks", bob),
        await check.call("GET", "/api/rtc/ice-servers", bob),
        await check.call("POST", "/api/calls", admin, json={"workspace_id": workspace_id, "media": "audio"}),
        await check.call("GET", "/api/calls", admin),
        await check.call("GET", "/api/ai/status", admin),
    ]


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("docs/readme.md", "# hi\n")
    return out.getvalue()


async def _more_history(check: Conformance, admin: str, workspace: dict[str, str]) -> list[httpx.Response]:
    tree = (await check.call("GET", W + "/tree", admin, path=workspace)).json()
    file_id = next(e["id"] for e in tree["entries"] if e["kind"] == "file")
    file = {**workspace, "file_id": file_id}
    checkpoint = await check.call("POST", F + "/checkpoints", admin, path=file, json={"name": "first"})
    version = checkpoint.json()["version"]
    comments = (await check.call("GET", F + "/comments", admin, path=file)).json()["comments"]
    comment = {**file, "comment_id": comments[0]["id"]}
    zipped = {"content": _zip(), "headers": {"content-type": "application/zip"}}
    return [
        checkpoint,
        await check.call("GET", F + "/history/{version}", admin, path={**file, "version": version}),
        await check.call("GET", F + "/history/diff", admin, path=file, params={"from": version}),
        await check.call("POST", F + "/restore", admin, path=file, json={"version": version}),
        await check.call("GET", F + "/history", admin, path=file),
        await check.call("PATCH", F + "/comments/{comment_id}", admin, path=comment, json={"resolved": True}),
        await check.call("PATCH", F, admin, path=file, json={"path": "src/b.py"}),
        await check.call("POST", W + "/import", admin, path=workspace, **zipped),
        await check.call("PATCH", W, admin, path=workspace, json={"name": "Renamed"}),
        await check.call("PATCH", "/api/ai/workspaces/{workspace_id}", admin, path=workspace, json={"enabled": False}),
        await check.call("POST", "/api/me/recent-files", admin, json=file),
    ]


async def _more_people(check: Conformance, admin: str, bob: str) -> list[httpx.Response]:
    png = {"content": _png(), "headers": {"content-type": "image/png"}}
    avatar = await check.call("PUT", "/api/me/avatar", admin, **png)
    avatar_id = avatar.json()["avatar_url"].rstrip("/").rsplit("/", 1)[-1]
    ada = {"username": "ada"}
    return [
        avatar,
        await check.call("GET", U + "/avatar", bob, path=ada),
        await check.call("GET", "/api/avatars/{avatar_id}", path={"avatar_id": avatar_id}),
        await check.call("GET", U, bob, path=ada),
        await check.call("PATCH", "/api/me/profile", admin, json={"display_name": "Ada L"}),
        await check.call("GET", U + "/following", bob, path=ada),
        await check.call("DELETE", U + "/follow", bob, path=ada),
        await check.call("DELETE", U + "/block", bob, path=ada),
        await check.call("DELETE", "/api/me/avatar", admin),
        await check.call("POST", "/api/contacts/discover", bob, json={"phone_numbers": ["+442071838750"]}),
        await check.call("PATCH", "/api/admin/settings", admin, json={}),
        await check.call("POST", "/api/auth/verify-email/resend", bob),
        await check.call("POST", "/api/auth/password/forgot", json={"email": "nobody@example.com"}),
        await check.call("POST", "/api/auth/sessions/revoke-others", admin),
    ]


async def _more_chat_and_calls(
    check: Conformance, admin: str, bob: str, workspace: dict[str, str]
) -> list[httpx.Response]:
    chat = {"conversation_id": (await check.call("GET", "/api/conversations", admin)).json()["conversations"][0]["id"]}
    sent = await check.call("POST", C + "/messages", bob, path=chat, json={"body": "unread", "client_id": "b1"})
    message = {**chat, "message_id": sent.json()["id"]}
    tree = (await check.call("GET", W + "/tree", admin, path=workspace)).json()
    file_id = next(e["id"] for e in tree["entries"] if e["kind"] == "file")
    code_ref = {**workspace, "file_id": file_id, "start": 0, "end": 3}
    pointing = {"body": "see this", "client_id": "ref1", "code_ref": code_ref}
    pointed = await check.call("POST", C + "/messages", admin, path=chat, json=pointing)
    listed = await check.call("GET", C + "/messages", bob, path=chat)
    refs = [m["code_ref"] for m in listed.json()["messages"] if m["code_ref"]]
    assert refs and refs[0]["available"] is True, "the walk covers a resolved code reference"
    results = [
        sent,
        pointed,
        listed,
        await check.call("GET", "/api/dashboard", admin),
        await check.call("PATCH", C + "/messages/{message_id}", bob, path=message, json={"body": "edited"}),
        await check.call("GET", C + "/messages", admin, path=chat, params={"after": 0, "limit": 10}),
        await check.call("DELETE", C + "/messages/{message_id}", bob, path=message),
    ]
    live = await check.call("GET", "/api/calls", admin, params={"state": "live"})
    for ringing in live.json()["calls"]:
        results.append(await check.call("POST", "/api/calls/{call_id}/end", admin, path={"call_id": ringing["id"]}))
    call = await check.call("POST", "/api/calls", bob, json={"callee": "ada", "media": "video"})
    call_id = {"call_id": call.json()["id"]}
    results += [
        call,
        await check.call("GET", "/api/calls/{call_id}", admin, path=call_id),
        await check.call("POST", "/api/calls/{call_id}/accept", admin, path=call_id),
        await check.call("POST", "/api/calls/{call_id}/end", bob, path=call_id),
        await check.call("GET", "/api/calls", bob, params={"state": "live"}),
    ]
    again = await check.call("POST", "/api/calls", bob, json={"callee": "ada", "media": "audio"})
    results += [
        again,
        await check.call("POST", "/api/calls/{call_id}/decline", admin, path={"call_id": again.json()["id"]}),
    ]
    third = await check.call("POST", "/api/calls", bob, json={"callee": "ada", "media": "audio"})
    results += [
        third,
        await check.call("POST", "/api/calls/{call_id}/cancel", bob, path={"call_id": third.json()["id"]}),
    ]
    return [*results, await check.call("GET", "/api/dashboard", admin)]


async def _finish(check: Conformance, admin: str, bob_id: str, workspace: dict[str, str]) -> list[httpx.Response]:
    invite = (await check.call("POST", "/api/admin/invites", admin)).json()
    signup = {"email": "cyril@example.com", "username": "cyril", "password": PASSWORD, "display_name": "Cy"}
    tree = (await check.call("GET", W + "/tree", admin, path=workspace)).json()
    file = {**workspace, "file_id": tree["entries"][-1]["id"]}
    bob = {**workspace, "user_id": bob_id}
    await check.call("POST", "/api/auth/login", json={"login": "ada", "password": PASSWORD})
    sessions = (await check.call("GET", "/api/auth/sessions", admin)).json()["sessions"]
    other = next(session["id"] for session in sessions if not session["current"])
    password = {"current_password": PASSWORD, "new_password": "another horse battery staple"}
    return [
        await check.call("GET", "/api/auth/invites/{token}", path={"token": invite["token"]}),
        await check.call("POST", "/api/auth/signup", json={**signup, "invite": invite["token"]}),
        await check.call("DELETE", "/api/admin/invites/{invite_id}", admin, path={"invite_id": invite["id"]}),
        await check.call("DELETE", "/api/auth/sessions/{session_id}", admin, path={"session_id": other}),
        await check.call("POST", "/api/auth/password/change", admin, json=password),
        await check.call("DELETE", F, admin, path=file),
        await check.call("PATCH", W + "/members/{user_id}", admin, path=bob, json={"role": "viewer"}),
        await check.call("DELETE", W + "/members/{user_id}", admin, path=bob),
        await check.call("DELETE", W, admin, path=workspace),
        await check.call("GET", "/metrics"),
        await check.call("GET", OPENAPI_PATH),
    ]


async def _documented_refusals(check: Conformance, admin: str) -> None:
    """Error answers are checked against their documented schema too."""
    token = {"token": "x" * 43}
    new_admin = {**token, "email": "z@example.com", "username": "zed", "password": PASSWORD, "display_name": "Z"}
    completion = {"workspace_id": "0" * 32, "file_id": "0" * 32, "prefix": "def "}
    refusals = {
        ("GET", W, admin, "{}"): 404,
        ("GET", "/api/me", None, "{}"): 401,
        ("POST", "/api/workspaces", admin, '{"name": "x", "extra": 1}'): 422,
        ("POST", "/api/workspaces", admin, "{"): 400,
        ("POST", "/api/auth/verify-email", None, json.dumps(token)): 422,
        ("POST", "/api/auth/password/reset", None, json.dumps({**token, "password": PASSWORD})): 422,
        ("POST", "/api/auth/setup", None, json.dumps(new_admin)): 422,
        ("POST", "/api/ai/complete", admin, json.dumps(completion)): 503,
        ("POST", "/api/ai/chat", admin, '{"messages": [{"role": "user", "content": "hi"}]}'): 503,
    }
    for (method, template, token_, body), status in refusals.items():
        path = {"workspace_id": "f" * 32} if "{workspace_id}" in template else {}
        headers = {"content-type": "application/json"}
        response = await check.call(method, template, token_, path=path, content=body, headers=headers)
        assert response.status_code == status, (method, template, response.text)


async def test_answers_match_the_documented_schemas(walk: tuple[Conformance, Starlette]) -> None:
    """Every operation is called at least once; every answer has a documented status and body."""
    check, app = walk
    for path in ("/healthz", "/readyz", "/api/auth/config", "/api/auth/setup"):
        assert (await check.call("GET", path)).status_code == 200
    _, admin = await _account(check, app, "ada", "admin")
    bob_id, bob = await _account(check, app, "bob")
    results = await _accounts_and_admin(check, admin, bob_id)
    workspace, more = await _workspace_and_history(check, admin)
    results += more
    results += await _chat_people_calls(check, admin, bob, workspace["workspace_id"])
    results += await _more_history(check, admin, workspace)
    results += await _more_people(check, admin, bob)
    results += await _more_chat_and_calls(check, admin, bob, workspace)
    results += [await check.call("POST", "/api/auth/refresh"), await check.call("POST", "/api/auth/logout", bob)]
    results += await _finish(check, admin, bob_id, workspace)
    failed = [(r.request.url.path, r.status_code, r.text[:200]) for r in results if r.status_code not in OK]
    assert not failed, failed
    await _documented_refusals(check, admin)
    assert {op.key for op in OPERATIONS} == check.checked, "every operation is called at least once"


MALFORMED_PATH_VALUES = {"username": "no such name!", "version": "v1", "token": "not-a-token"}


async def test_malformed_ids_get_a_documented_answer(walk: tuple[Conformance, Starlette]) -> None:
    """Every operation with path parameters, called by a signed-in admin with malformed ones,
    answers a status (and body) its operation documents."""
    check, app = walk
    _, admin = await _account(check, app, "ada", "admin")
    for op in OPERATIONS:
        names = path_parameter_names(op.path)
        if not names:
            continue
        params = {name: MALFORMED_PATH_VALUES.get(name, "zz") for name in names}
        kwargs: dict[str, Any] = {"json": {}} if op.body is not None else {}
        response = await check.call(op.method, op.path, admin, path=params, **kwargs)
        assert 400 <= response.status_code < 500 or op.path == "/api/auth/invites/{token}", (op.key, response.text)


# -- docs/openapi.md ---------------------------------------------------------------------------


def test_docs_openapi_md_is_current() -> None:
    committed = (ROOT / "docs" / "openapi.md").read_text("utf-8")
    assert committed == markdown(default_document()), (
        "docs/openapi.md is stale: python -m collabcode.web.openapi --markdown > docs/openapi.md"
    )


def test_command_prints_the_document() -> None:
    """``python -m collabcode.web.openapi`` prints the same, valid document the app serves."""
    result = subprocess.run(
        [sys.executable, "-m", "collabcode.web.openapi"], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-2000:]
    printed = json.loads(result.stdout)
    validate(printed)
    assert printed == default_document()


def test_api_md_links_the_summary() -> None:
    assert "(openapi.md)" in (ROOT / "docs" / "api.md").read_text("utf-8")


def test_templates_match_starlette_paths() -> None:
    assert path_template("/static/{path:path}") == "/static/{path}"
    assert path_parameter_names("/api/workspaces/{workspace_id}/files/{file_id}") == ["workspace_id", "file_id"]


def test_a_route_of_an_unknown_kind_is_not_silently_left_out() -> None:
    """A Host route (or any other kind) would escape both this document and the access table."""
    with pytest.raises(TypeError, match="unknown kind"):
        endpoints([Host("api.example.test", app=Starlette())])
