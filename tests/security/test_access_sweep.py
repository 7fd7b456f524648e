"""The access-control sweep: every route, page, socket and socket message against its row.

The rows live in :mod:`collabcode.web.access_rules` (the contract); the examples here say how to
make a *valid* request for each row, so that the access rule and not validation decides. For
each row the sweep tries every intruder the row names (anonymous, also with a signed-out
session's token and by HEAD; a stranger; an admin with no part in the object; a viewer; an
editor; the other participant; a rightful caller with an id from elsewhere) and expects exactly
the row's answer (a 404 with the same body as for an id that never existed), checks that the
denied attempts changed nothing, and finally makes the request as the least-privileged rightful
caller, which must get the example's answer (a success, or for public account flows fed a made-up
token, that token's own refusal): so the example is valid and the denials were no accident of bad
input.

Completeness: every registered route and frame type must have a row and an example, and every
row must name something that exists, so a new route or frame fails here until it is described.

One app runs for the whole module (SQLite, the in-process broker, a live uvicorn server for the
sockets, the loopback test AI provider); each row gets fresh people and objects, so rows cannot
disturb each other.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pycrdt
import pytest
import pytest_asyncio
import websockets
from PIL import Image

from collabcode.auth.service import auth_service
from collabcode.collab.protocol import (
    MessageType,
    encode_auth_denied,
    encode_awareness,
    encode_query_awareness,
    encode_saved,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
)
from collabcode.db import Database, open_database
from collabcode.realtime.hub import events_hub
from collabcode.web import static
from collabcode.web.access_rules import ACCESS_RULES, AccessRow, Kind, Probe, Rule, rows_of
from collabcode.web.openapi import endpoints
from tests.chat.harness import ChatEnv, EventsClient, Person, chat_env
from tests.conftest import TEST_ORIGIN
from tests.fake_ai_provider import FakeAIProvider
from tests.workspaces.conftest import zip_bytes

pytestmark = pytest.mark.asyncio(loop_scope="module")

PASSWORD = "correct horse battery staple"
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
BOGUS_TOKEN = "A" * 43
FILE_TEXT = "print('hello')\n"

# -- examples: how to make a valid request for each row ----------------------------------------------


@dataclass(frozen=True)
class Example:
    """A valid request for a row, with placeholders (``{name}``) filled from the row's scene.

    ``actor`` is the least-privileged rightful caller (None: anonymous); ``ok`` the statuses that
    caller gets. ``foreign`` swaps placeholders for objects of another workspace, file or
    conversation; ``allowed`` swaps them for the closing rightful request only (when the target
    the intruders aim at cannot be the one the rightful caller changes, e.g. removing a member).
    """

    path: str
    actor: str | None
    ok: tuple[int, ...] = (200,)
    json: Any = None
    content: str | None = None  # "text", "zip" or "png"
    foreign: dict[str, str] = field(default_factory=dict)
    allowed: dict[str, str] = field(default_factory=dict)
    reply: str | None = None  # frames: the type of the success answer carrying the ref


#: Placeholders naming objects (the rest name people, or are plain values).
OBJECT_KEYS = frozenset(
    {
        "ws_a", "ws_d", "file_a", "file_a2", "file_d", "comment_a", "comment_a2", "conv", "conv_ac", "conv_bc",
        "msg", "msg_ac", "call", "call_joined", "session_alice", "session_dave", "invite", "avatar",
    }
)  # fmt: skip
W = "/api/workspaces/{ws_a}"
F = W + "/files/{file_a}"
C = "/api/conversations/{conv}"
FILE_FOREIGN = {"file_a": "file_d"}

HTTP_EXAMPLES: dict[str, Example] = {
    "GET /healthz": Example("/healthz", None),
    "GET /readyz": Example("/readyz", None),
    "GET /metrics": Example("/metrics", None),
    "GET /static/{path:path}": Example("/static/manifest.json", None),
    "GET /api/openapi.json": Example("/api/openapi.json", None),
    "GET /api/auth/config": Example("/api/auth/config", None),
    "GET /api/auth/setup": Example("/api/auth/setup", None),
    "POST /api/auth/setup": Example(
        "/api/auth/setup",
        None,
        (422,),
        json={
            "token": BOGUS_TOKEN,
            "email": "root{n}@example.com",
            "username": "root{n}",
            "password": PASSWORD,
            "display_name": "Root",
        },
    ),
    "GET /api/auth/invites/{token}": Example("/api/auth/invites/" + BOGUS_TOKEN, None),
    "POST /api/auth/signup": Example(
        "/api/auth/signup",
        None,
        (202,),
        json={"email": "new{n}@example.com", "username": "new{n}", "password": PASSWORD, "display_name": "New"},
    ),
    "POST /api/auth/login": Example("/api/auth/login", None, json={"login": "{alice}", "password": PASSWORD}),
    "POST /api/auth/refresh": Example("/api/auth/refresh", None, (204,)),
    "POST /api/auth/logout": Example("/api/auth/logout", None, (204,)),
    "POST /api/auth/verify-email": Example("/api/auth/verify-email", None, (422,), json={"token": BOGUS_TOKEN}),
    "POST /api/auth/verify-email/resend": Example(
        "/api/auth/verify-email/resend", None, (202,), json={"email": "{alice}@example.com"}
    ),
    "POST /api/auth/password/forgot": Example(
        "/api/auth/password/forgot", None, (202,), json={"email": "{alice}@example.com"}
    ),
    "POST /api/auth/password/reset": Example(
        "/api/auth/password/reset", None, (422,), json={"token": BOGUS_TOKEN, "password": PASSWORD}
    ),
    "POST /api/auth/password/change": Example(
        "/api/auth/password/change",
        "alice",
        (204,),
        json={"current_password": PASSWORD, "new_password": "another horse battery staple"},
    ),
    "GET /api/auth/sessions": Example("/api/auth/sessions", "alice"),
    "POST /api/auth/sessions/revoke-others": Example("/api/auth/sessions/revoke-others", "alice"),
    "DELETE /api/auth/sessions/{session_id}": Example(
        "/api/auth/sessions/{session_alice}", "alice", (204,), foreign={"session_alice": "session_dave"}
    ),
    "POST /api/auth/ws-ticket": Example("/api/auth/ws-ticket", "alice"),
    "GET /api/me": Example("/api/me", "alice"),
    "PATCH /api/me": Example("/api/me", "alice", json={"display_name": "Alice A"}),
    "GET /api/admin/users": Example("/api/admin/users", "admin"),
    "PATCH /api/admin/users/{user_id}": Example("/api/admin/users/{erin_id}", "admin", json={"verified": True}),
    "POST /api/admin/users/{user_id}/reset-link": Example("/api/admin/users/{erin_id}/reset-link", "admin"),
    "GET /api/admin/invites": Example("/api/admin/invites", "admin"),
    "POST /api/admin/invites": Example("/api/admin/invites", "admin", (201,), json={"max_uses": 1}),
    "DELETE /api/admin/invites/{invite_id}": Example("/api/admin/invites/{invite}", "admin", (204,)),
    "GET /api/admin/settings": Example("/api/admin/settings", "admin"),
    "PATCH /api/admin/settings": Example("/api/admin/settings", "admin", json={}),
    "GET /api/admin/health": Example("/api/admin/health", "admin"),
    # workspaces
    "GET /api/workspaces": Example("/api/workspaces", "alice"),
    "POST /api/workspaces": Example("/api/workspaces", "alice", (201,), json={"name": "New"}),
    "GET /api/workspaces/{workspace_id}": Example(W, "carol", foreign={"ws_a": "ws_d"}),
    "PATCH /api/workspaces/{workspace_id}": Example(W, "alice", json={"name": "Renamed"}, foreign={"ws_a": "ws_d"}),
    "DELETE /api/workspaces/{workspace_id}": Example(W, "alice", (204,), foreign={"ws_a": "ws_d"}),
    "GET /api/workspaces/{workspace_id}/members": Example(W + "/members", "carol", foreign={"ws_a": "ws_d"}),
    "POST /api/workspaces/{workspace_id}/members": Example(
        W + "/members", "alice", (201,), json={"username": "{erin}", "role": "viewer"}, foreign={"ws_a": "ws_d"}
    ),
    "PATCH /api/workspaces/{workspace_id}/members/{user_id}": Example(
        W + "/members/{bob_id}", "alice", json={"role": "editor"}, foreign={"bob_id": "dave_id"}
    ),
    "DELETE /api/workspaces/{workspace_id}/members/{user_id}": Example(
        W + "/members/{target_id}",
        "alice",
        (204,),
        foreign={"target_id": "dave_id"},
        allowed={"target_id": "bob_id"},
    ),
    "GET /api/workspaces/{workspace_id}/tree": Example(W + "/tree", "carol", foreign={"ws_a": "ws_d"}),
    "POST /api/workspaces/{workspace_id}/files": Example(
        W + "/files", "bob", (201,), json={"path": "new.txt", "kind": "file", "content": "x"}, foreign={"ws_a": "ws_d"}
    ),
    "PATCH /api/workspaces/{workspace_id}/files/{file_id}": Example(
        F, "bob", json={"path": "moved.py"}, foreign=FILE_FOREIGN
    ),
    "DELETE /api/workspaces/{workspace_id}/files/{file_id}": Example(F, "bob", (204,), foreign=FILE_FOREIGN),
    "GET /api/workspaces/{workspace_id}/files/{file_id}/content": Example(
        F + "/content", "carol", foreign=FILE_FOREIGN
    ),
    "PUT /api/workspaces/{workspace_id}/files/{file_id}/content": Example(
        F + "/content", "bob", content="text", foreign=FILE_FOREIGN
    ),
    "POST /api/workspaces/{workspace_id}/import": Example(
        W + "/import", "bob", content="zip", foreign={"ws_a": "ws_d"}
    ),
    "GET /api/workspaces/{workspace_id}/export": Example(W + "/export", "carol", foreign={"ws_a": "ws_d"}),
    # history
    "GET /api/workspaces/{workspace_id}/files/{file_id}/history": Example(
        F + "/history", "carol", foreign=FILE_FOREIGN
    ),
    "GET /api/workspaces/{workspace_id}/files/{file_id}/history/diff": Example(
        F + "/history/diff?from={version}", "carol", foreign=FILE_FOREIGN
    ),
    "GET /api/workspaces/{workspace_id}/files/{file_id}/history/{version}": Example(
        F + "/history/{version}", "carol", foreign=FILE_FOREIGN
    ),
    "GET /api/workspaces/{workspace_id}/files/{file_id}/checkpoints": Example(
        F + "/checkpoints", "carol", foreign=FILE_FOREIGN
    ),
    "POST /api/workspaces/{workspace_id}/files/{file_id}/checkpoints": Example(
        F + "/checkpoints", "bob", (201,), json={"name": "before the change"}, foreign=FILE_FOREIGN
    ),
    "POST /api/workspaces/{workspace_id}/files/{file_id}/restore": Example(
        F + "/restore", "bob", json={"version": "{version:int}"}, foreign=FILE_FOREIGN
    ),
    "GET /api/workspaces/{workspace_id}/files/{file_id}/authorship": Example(
        F + "/authorship", "carol", foreign=FILE_FOREIGN
    ),
    "GET /api/workspaces/{workspace_id}/files/{file_id}/contributors": Example(
        F + "/contributors", "carol", foreign=FILE_FOREIGN
    ),
    "GET /api/workspaces/{workspace_id}/contributors": Example(W + "/contributors", "carol", foreign={"ws_a": "ws_d"}),
    "GET /api/workspaces/{workspace_id}/files/{file_id}/comments": Example(
        F + "/comments", "carol", foreign=FILE_FOREIGN
    ),
    "POST /api/workspaces/{workspace_id}/files/{file_id}/comments": Example(
        F + "/comments", "carol", (201,), json={"anchor": {"start": 0, "end": 5}, "body": "why?"}, foreign=FILE_FOREIGN
    ),
    "PATCH /api/workspaces/{workspace_id}/files/{file_id}/comments/{comment_id}": Example(
        F + "/comments/{comment_a}", "bob", json={"resolved": True}, foreign={"comment_a": "comment_a2"}
    ),
    # conversations and people
    "GET /api/conversations": Example("/api/conversations", "alice"),
    "POST /api/conversations": Example("/api/conversations", "alice", (201,), json={"username": "{bob}"}),
    "GET /api/conversations/{conversation_id}": Example(C, "alice", foreign={"conv": "conv_bc"}),
    "GET /api/conversations/{conversation_id}/messages": Example(C + "/messages", "alice", foreign={"conv": "conv_bc"}),
    "POST /api/conversations/{conversation_id}/messages": Example(
        C + "/messages", "alice", (201,), json={"body": "hello", "client_id": "c{n}"}, foreign={"conv": "conv_bc"}
    ),
    "PATCH /api/conversations/{conversation_id}/messages/{message_id}": Example(
        C + "/messages/{msg}", "alice", json={"body": "edited"}, foreign={"msg": "msg_ac"}
    ),
    "DELETE /api/conversations/{conversation_id}/messages/{message_id}": Example(
        C + "/messages/{msg}", "alice", foreign={"msg": "msg_ac"}
    ),
    "POST /api/conversations/{conversation_id}/read": Example(
        C + "/read", "alice", json={"message_id": "{msg}"}, foreign={"msg": "msg_ac"}
    ),
    "GET /api/users/search": Example("/api/users/search?q={bob}", "alice"),
    "POST /api/users/{username}/block": Example("/api/users/{dave}/block", "alice", (204,)),
    "DELETE /api/users/{username}/block": Example("/api/users/{dave}/block", "alice", (204,)),
    "GET /api/blocks": Example("/api/blocks", "alice"),
    "GET /api/me/privacy": Example("/api/me/privacy", "alice"),
    "PATCH /api/me/privacy": Example("/api/me/privacy", "alice", json={"read_receipts": True}),
    "POST /api/contacts/discover": Example(
        "/api/contacts/discover", "alice", json={"phone_numbers": ["+14155550100"], "region": "US"}
    ),
    # profiles, avatars, dashboard
    "GET /api/users/{username}": Example("/api/users/{bob}", "alice"),
    "POST /api/users/{username}/follow": Example("/api/users/{bob}/follow", "alice"),
    "DELETE /api/users/{username}/follow": Example("/api/users/{bob}/follow", "alice"),
    "GET /api/users/{username}/followers": Example("/api/users/{bob}/followers", "alice"),
    "GET /api/users/{username}/following": Example("/api/users/{bob}/following", "alice"),
    "GET /api/users/{username}/avatar": Example("/api/users/{avatar_owner}/avatar", "bob"),
    "GET /api/avatars/{avatar_id}": Example("/api/avatars/{avatar}", None),
    "PATCH /api/me/profile": Example("/api/me/profile", "alice", json={"bio": "Writes code."}),
    "PUT /api/me/avatar": Example("/api/me/avatar", "alice", content="png"),
    "DELETE /api/me/avatar": Example("/api/me/avatar", "alice"),
    "POST /api/me/recent-files": Example(
        "/api/me/recent-files", "carol", json={"workspace_id": "{ws_a}", "file_id": "{file_a}"}, foreign=FILE_FOREIGN
    ),
    "GET /api/dashboard": Example("/api/dashboard", "alice"),
    "GET /api/activity": Example("/api/activity", "alice"),
    # calls
    "GET /api/rtc/ice-servers": Example("/api/rtc/ice-servers", "alice"),
    "GET /api/calls": Example("/api/calls", "alice"),
    "POST /api/calls": Example(
        "/api/calls",
        "alice",
        (201,),
        json={"media": "audio", "callee": "{bob}", "conversation_id": "{conv}"},
        foreign={"conv": "conv_ac"},
    ),
    "GET /api/calls/{call_id}": Example("/api/calls/{call}", "bob"),
    "POST /api/calls/{call_id}/accept": Example("/api/calls/{call}/accept", "bob"),
    "POST /api/calls/{call_id}/decline": Example("/api/calls/{call}/decline", "bob"),
    "POST /api/calls/{call_id}/cancel": Example("/api/calls/{call}/cancel", "alice"),
    "POST /api/calls/{call_id}/end": Example("/api/calls/{call}/end", "alice"),
    # the assistant
    "GET /api/ai/status": Example("/api/ai/status?workspace_id={ws_a}", "carol"),
    "POST /api/ai/complete": Example(
        "/api/ai/complete",
        "carol",
        json={"workspace_id": "{ws_a}", "file_id": "{file_a}", "language": "python", "prefix": "print(", "suffix": ""},
        foreign=FILE_FOREIGN,
    ),
    "POST /api/ai/chat": Example(
        "/api/ai/chat",
        "carol",
        json={
            "workspace_id": "{ws_a}",
            "messages": [{"role": "user", "content": "Hi"}],
            "context": {"file_id": "{file_a}", "open_files": ["{file_a2}"]},
        },
        foreign=FILE_FOREIGN,
    ),
    "PATCH /api/ai/workspaces/{workspace_id}": Example("/api/ai/workspaces/{ws_a}", "alice", json={"enabled": True}),
}

FRAME_EXAMPLES: dict[str, Example] = {
    "ping": Example("", "alice", json={"type": "ping"}, reply="pong"),
    "presence.set": Example("", "alice", json={"type": "presence.set", "state": "away"}),
    "message.send": Example(
        "",
        "alice",
        json={"type": "message.send", "conversation_id": "{conv}", "client_id": "f{n}", "body": "hello"},
        foreign={"conv": "conv_bc"},
        reply="message.sent",
    ),
    "message.edit": Example(
        "",
        "alice",
        json={"type": "message.edit", "conversation_id": "{conv}", "message_id": "{msg}", "body": "edited"},
        foreign={"msg": "msg_ac"},
        reply="ack",
    ),
    "message.delete": Example(
        "",
        "alice",
        json={"type": "message.delete", "conversation_id": "{conv}", "message_id": "{msg}"},
        foreign={"msg": "msg_ac"},
        reply="ack",
    ),
    "message.read": Example(
        "",
        "alice",
        json={"type": "message.read", "conversation_id": "{conv}", "message_id": "{msg}"},
        foreign={"msg": "msg_ac"},
        reply="ack",
    ),
    "typing": Example("", "alice", json={"type": "typing", "conversation_id": "{conv}"}, foreign={"conv": "conv_bc"}),
    "rtc.offer": Example(
        "", "alice", json={"type": "rtc.offer", "call_id": "{call_joined}", "to": "{bob_id}", "sdp": SDP}, reply="ack"
    ),
    "rtc.answer": Example(
        "", "alice", json={"type": "rtc.answer", "call_id": "{call_joined}", "to": "{bob_id}", "sdp": SDP}, reply="ack"
    ),
    "rtc.candidate": Example(
        "",
        "alice",
        json={"type": "rtc.candidate", "call_id": "{call_joined}", "to": "{bob_id}", "candidate": CANDIDATE},
        reply="ack",
    ),
    "call.accept": Example("", "bob", json={"type": "call.accept", "call_id": "{call}"}, reply="ack"),
    "call.decline": Example("", "bob", json={"type": "call.decline", "call_id": "{call}"}, reply="ack"),
    "call.cancel": Example("", "alice", json={"type": "call.cancel", "call_id": "{call}"}, reply="ack"),
    "call.end": Example("", "alice", json={"type": "call.end", "call_id": "{call}"}, reply="ack"),
}

# -- the running app and each row's scene ------------------------------------------------------------


@dataclass
class World:
    env: ChatEnv
    admin: Person
    #: The Bearer header of a signed-out session: tried wherever anonymous callers are.
    revoked: dict[str, str] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def http(self) -> httpx.AsyncClient:
        return self.env.http

    async def person(self, name: str, *, admin: bool = False) -> Person:
        """A new verified account, signed in from its own address (login limits are per address)."""
        account = await auth_service(self.env.services).create_user(
            email=f"{name}@example.com",
            username=name,
            display_name=name.title(),
            password=PASSWORD,
            verified=True,
            role="admin" if admin else "member",
        )
        number = next(self.counter)
        transport = httpx.ASGITransport(app=self.env.app, client=(f"10.{number // 250}.{number % 250}.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as device:
            response = await device.post("/api/auth/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return Person(account.id, name, response.json()["access_token"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    base = tmp_path_factory.mktemp("sweep")
    db: Database = open_database(f"sqlite:///{base / 'collabcode.db'}")
    await db.connect()
    with FakeAIProvider() as provider:
        try:
            async with chat_env(
                db,
                base / "data",
                live=True,
                ai_provider="openai",
                ai_base_url=provider.url,
                ai_chat_model="chat-model",
                ai_completion_model="qwen2.5-coder:1.5b",
                ai_timeout=6.0,
                registration="open",
                ai_chat_per_minute=600,  # the sweep asks more often than a person types
            ) as env:
                partial = World(env, Person("", "", ""))
                partial.admin = await partial.person("root", admin=True)
                gone = await partial.person("gone")
                assert (await env.http.post("/api/auth/logout", headers=gone.headers)).status_code == 204
                assert (await env.http.get("/api/me", headers=gone.headers)).status_code == 401
                partial.revoked = gone.headers
                yield partial
        finally:
            await db.close()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


class Scene:
    """The people and objects one row needs, made on first use with the rightful people's rights.

    alice owns workspace A (bob edits, carol views) and talks with bob; dave owns workspace D and
    is a stranger to all of A's things; erin is nobody's member.
    """

    PEOPLE = ("alice", "bob", "carol", "dave", "erin")

    def __init__(self, world: World, tag: str) -> None:
        self.world = world
        self.tag = tag
        self.people: dict[str, Person] = {"admin": world.admin}
        self.values: dict[str, str] = {"n": tag}

    async def who(self, name: str) -> Person:
        if name not in self.people:
            self.people[name] = await self.world.person(f"{name}{self.tag}")
        return self.people[name]

    async def call(self, name: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if name is not None:
            headers.update((await self.who(name)).headers)
        self.world.http.cookies.clear()  # no refresh cookie carries over from another request
        response = await self.world.http.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response

    async def ok(self, name: str, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = await self.call(name, method, path, **kwargs)
        assert response.status_code == expect, f"setup {method} {path}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None

    async def get(self, key: str) -> str:
        """The value of a placeholder: a person's username or id, or an object's id.

        ``missing`` is never kept: each use is a new id that was never handed out.
        """
        if key == "missing":
            return await self._make(key)
        if key not in self.values:
            self.values[key] = await self._make(key)
        return self.values[key]

    async def _make(self, key: str) -> str:
        if key == "missing":
            return uuid.uuid4().hex
        if key in self.PEOPLE:
            return (await self.who(key)).username
        if key.endswith("_id") and key[:-3] in self.PEOPLE:
            return (await self.who(key[:-3])).id
        if key == "target_id":
            return await self.get("alice_id")
        maker = getattr(self, "_make_" + key, None)
        assert maker is not None, f"the scene cannot make {key!r}"
        value: str = await maker()
        return value

    async def _workspace(self, owner: str, name: str) -> str:
        return str((await self.ok(owner, "POST", "/api/workspaces", 201, json={"name": name}))["id"])

    async def _file(self, owner: str, workspace: str, path: str) -> str:
        body = {"path": path, "kind": "file", "content": FILE_TEXT}
        created = await self.ok(owner, "POST", f"/api/workspaces/{workspace}/files", 201, json=body)
        return str(created["id"])

    async def _make_ws_a(self) -> str:
        workspace = await self._workspace("alice", "A")
        for name, role in (("bob", "editor"), ("carol", "viewer")):
            body = {"username": await self.get(name), "role": role}
            await self.ok("alice", "POST", f"/api/workspaces/{workspace}/members", 201, json=body)
        return workspace

    async def _make_ws_d(self) -> str:
        return await self._workspace("dave", "D")

    async def _make_file_a(self) -> str:
        return await self._file("alice", await self.get("ws_a"), "src/main.py")

    async def _make_file_a2(self) -> str:
        return await self._file("alice", await self.get("ws_a"), "notes.md")

    async def _make_file_d(self) -> str:
        return await self._file("dave", await self.get("ws_d"), "mine.py")

    async def _comment(self, file_key: str) -> str:
        path = f"/api/workspaces/{await self.get('ws_a')}/files/{await self.get(file_key)}/comments"
        body = {"anchor": {"start": 0, "end": 5}, "body": "look here"}
        return str((await self.ok("alice", "POST", path, 201, json=body))["id"])

    async def _make_comment_a(self) -> str:
        return await self._comment("file_a")

    async def _make_comment_a2(self) -> str:
        return await self._comment("file_a2")

    async def _make_version(self) -> str:
        path = f"/api/workspaces/{await self.get('ws_a')}/files/{await self.get('file_a')}/history"
        timeline = await self.ok("alice", "GET", path, 200)
        assert timeline["versions"], f"a new file has no version: {timeline}"
        return str(timeline["versions"][-1]["version"])

    async def _conversation(self, a: str, b: str) -> str:
        response = await self.call(a, "POST", "/api/conversations", json={"username": await self.get(b)})
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    async def _make_conv(self) -> str:
        return await self._conversation("alice", "bob")

    async def _make_conv_ac(self) -> str:
        return await self._conversation("alice", "carol")

    async def _make_conv_bc(self) -> str:
        return await self._conversation("bob", "carol")

    async def _message(self, conversation_key: str) -> str:
        path = f"/api/conversations/{await self.get(conversation_key)}/messages"
        body = {"body": "first", "client_id": f"m{conversation_key}"}
        return str((await self.ok("alice", "POST", path, 201, json=body))["id"])

    async def _make_msg(self) -> str:
        return await self._message("conv")

    async def _make_msg_ac(self) -> str:
        return await self._message("conv_ac")

    async def _make_call(self) -> str:
        body = {"media": "audio", "callee": await self.get("bob"), "conversation_id": await self.get("conv")}
        return str((await self.ok("alice", "POST", "/api/calls", 201, json=body))["id"])

    async def _make_call_joined(self) -> str:
        call = await self.get("call")
        await self.ok("bob", "POST", f"/api/calls/{call}/accept", 200)
        return call

    async def _session(self, name: str) -> str:
        sessions = (await self.ok(name, "GET", "/api/auth/sessions", 200))["sessions"]
        return str(next(s["id"] for s in sessions if s.get("current")))

    async def _make_session_alice(self) -> str:
        return await self._session("alice")

    async def _make_session_dave(self) -> str:
        return await self._session("dave")

    async def _make_invite(self) -> str:
        return str((await self.ok("admin", "POST", "/api/admin/invites", 201, json={"max_uses": 1}))["id"])

    async def _make_avatar(self) -> str:
        headers = {"content-type": "image/png"}
        profile = await self.ok("alice", "PUT", "/api/me/avatar", 200, content=png_bytes(), headers=headers)
        return str(profile["avatar_url"]).rpartition("/")[2]

    async def _make_avatar_owner(self) -> str:
        await self.get("avatar")
        return await self.get("alice")

    async def fill(self, template: Any, swaps: dict[str, str]) -> Any:
        """``template`` with every ``{key}`` replaced (``{key:int}`` as a number)."""
        if isinstance(template, dict):
            return {k: await self.fill(v, swaps) for k, v in template.items()}
        if isinstance(template, list):
            return [await self.fill(v, swaps) for v in template]
        if not isinstance(template, str) or "{" not in template:
            return template
        if template.startswith("{") and template.endswith(":int}"):
            return int(await self.get(swaps.get(template[1:-5], template[1:-5])))
        out, rest = "", template
        while "{" in rest:
            before, _, after = rest.partition("{")
            key, _, rest = after.partition("}")
            out += before + await self.get(swaps.get(key, key))
        return out + rest

    async def state(self) -> list[Any]:
        """What the rightful people see of every object made so far (for "nothing changed")."""
        seen: list[Any] = []
        if "ws_a" in self.values:
            w = f"/api/workspaces/{self.values['ws_a']}"
            for path in (w, w + "/members", w + "/tree"):
                seen.append((await self.call("alice", "GET", path)).json())
        if "file_a" in self.values:
            path = f"/api/workspaces/{self.values['ws_a']}/files/{self.values['file_a']}"
            seen.append((await self.call("alice", "GET", path + "/content")).text)
            seen.append((await self.call("alice", "GET", path + "/comments")).json())
        if "file_d" in self.values:
            path = f"/api/workspaces/{self.values['ws_d']}/files/{self.values['file_d']}/content"
            seen.append((await self.call("dave", "GET", path)).text)
        for key in ("conv", "conv_ac"):
            if key in self.values:
                seen.append((await self.call("alice", "GET", f"/api/conversations/{self.values[key]}/messages")).json())
        if "call" in self.values:
            view = (await self.call("alice", "GET", f"/api/calls/{self.values['call']}")).json()
            seen.append({k: v for k, v in view.items() if k not in {"now", "server_time"}})
        return seen


_SCENES = itertools.count(1)


@pytest.fixture
def scene_tag() -> str:
    """A suffix that keeps each row's usernames apart (the module shares one database)."""
    return f"x{next(_SCENES)}"


def http_request_kwargs(example: Example) -> dict[str, Any]:
    if example.content == "text":
        return {"content": b"changed\n", "headers": {"content-type": "text/plain; charset=utf-8"}}
    if example.content == "zip":
        return {"content": zip_bytes({"imported.txt": b"x"}), "headers": {"content-type": "application/zip"}}
    if example.content == "png":
        return {"content": png_bytes(), "headers": {"content-type": "image/png"}}
    return {}


def actor_for(probe: Probe, example: Example) -> str | None:
    return {
        Probe.ANONYMOUS: None,
        Probe.STRANGER: "dave",
        Probe.ADMIN: "admin",
        Probe.VIEWER: "carol",
        Probe.EDITOR: "bob",
        Probe.PARTICIPANT: "bob",  # the other person of alice's conversation and call
        Probe.FOREIGN_ID: example.actor,
    }[probe]


async def send_http(
    scene: Scene,
    row: AccessRow,
    example: Example,
    actor: str | None,
    swaps: dict[str, str],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    method = row.key.split(" ", 1)[0]
    path = await scene.fill(example.path, swaps)
    kwargs = http_request_kwargs(example)
    kwargs["headers"] = {**kwargs.get("headers", {}), **(headers or {})}
    if example.json is not None:
        kwargs["json"] = await scene.fill(example.json, swaps)
    return await scene.call(actor, method, path, **kwargs)


def placeholders(template: Any) -> set[str]:
    """Every ``{key}`` named in a template (strings inside dicts and lists included)."""
    if isinstance(template, dict):
        return set().union(*(placeholders(v) for v in template.values()))
    if isinstance(template, list):
        return set().union(*(placeholders(v) for v in template))
    if not isinstance(template, str):
        return set()
    return {part.partition("}")[0].removesuffix(":int") for part in template.split("{")[1:]}


async def prepare(scene: Scene, example: Example) -> None:
    """Make every object the row's requests name before the first one (so a denial changes nothing)."""
    keys = placeholders(example.path) | placeholders(example.json)
    keys |= set(example.foreign.values()) | set(example.allowed.values())
    for key in sorted(keys):
        await scene.get(key)


def missing_swaps(example: Example) -> dict[str, str]:
    """Every object id of the example replaced by one that never existed."""
    named = placeholders(example.path) | placeholders(example.json)
    return {key: "missing" for key in named if key in OBJECT_KEYS or key.endswith("_id")}


def error_of(response: httpx.Response) -> tuple[str, str]:
    error = response.json()["error"]
    return error["code"], error["message"]


# -- completeness ---------------------------------------------------------------------------------------


async def test_every_route_has_exactly_one_row_and_no_row_is_stale(world: World) -> None:
    routes = [(kind, key, route.endpoint) for kind, key, route in endpoints(world.env.app)]
    pages = {key.split(" ", 1)[1] for _, key, endpoint in routes if endpoint is static.app_shell}
    assert pages == set(static.APP_ROUTES), "the app shell answers exactly the APP_ROUTES pages"
    wanted = {(Kind.PAGE, page) for page in pages}
    wanted |= {(Kind(kind), key) for kind, key, endpoint in routes if endpoint is not static.app_shell}
    described = [(row.kind, row.key) for row in ACCESS_RULES if row.kind in (Kind.HTTP, Kind.PAGE, Kind.SOCKET)]
    assert len(described) == len(set(described)), "a route has two rows"
    missing = sorted(f"{k.value} {key}" for k, key in wanted - set(described))
    stale = sorted(f"{k.value} {key}" for k, key in set(described) - wanted)
    assert not missing, f"routes without a row in collabcode/web/access_rules.py: {missing}"
    assert not stale, f"rows for routes that do not exist: {stale}"


async def test_every_frame_type_has_exactly_one_row_and_no_row_is_stale(world: World) -> None:
    registered_types = set(events_hub(world.env.services).handlers)
    described = [row.key for row in rows_of(Kind.FRAME)]
    assert len(described) == len(set(described)), "a frame type has two rows"
    assert registered_types - set(described) == set(), "frame types without a row"
    assert set(described) - registered_types == set(), "rows for frame types nobody serves"


async def test_every_collab_message_kind_has_a_row() -> None:
    kinds = {"sync_step1", "sync_step2", "sync_update"} | {
        kind.name.lower() for kind in MessageType if kind is not MessageType.SYNC
    }
    assert {row.key for row in rows_of(Kind.COLLAB)} == kinds


async def test_every_row_has_an_example_and_every_example_a_row() -> None:
    assert set(HTTP_EXAMPLES) == {row.key for row in rows_of(Kind.HTTP)}
    assert set(FRAME_EXAMPLES) == {row.key for row in rows_of(Kind.FRAME)}
    for row in rows_of(Kind.HTTP) + rows_of(Kind.FRAME):
        example = HTTP_EXAMPLES.get(row.key) or FRAME_EXAMPLES[row.key]
        if Probe.FOREIGN_ID in row.denied:
            assert example.foreign, f"{row.key}: the row promises a foreign-id check but the example names none"
        if row.rule in (Rule.PUBLIC, Rule.PUBLIC_BY_ID):
            assert example.actor is None, f"{row.key}: a public row is tried anonymously"


# -- HTTP --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", rows_of(Kind.HTTP), ids=lambda row: row.key)
async def test_http_route(world: World, row: AccessRow, scene_tag: str) -> None:
    example = HTTP_EXAMPLES[row.key]
    scene = Scene(world, scene_tag)
    await prepare(scene, example)
    before = await scene.state()
    method = row.key.split(" ", 1)[0]
    if Probe.ANONYMOUS in row.denied:
        status = row.denied[Probe.ANONYMOUS]
        revoked = await send_http(scene, row, example, None, {}, world.revoked)
        assert revoked.status_code == status, f"{row.key} with a signed-out session's token: {revoked.text[:300]}"
        if method == "GET":
            head = await scene.call(None, "HEAD", await scene.fill(example.path, {}))
            assert head.status_code == status, f"HEAD of {row.key} anonymously"
    for probe, status in row.denied.items():
        swaps = example.foreign if probe is Probe.FOREIGN_ID else {}
        response = await send_http(scene, row, example, actor_for(probe, example), swaps)
        context = f"{row.key} as {probe.value}"
        if status == 404:
            # The contract: the same body as for an id that never existed.
            missing = await send_http(scene, row, example, example.actor, missing_swaps(example))
            assert response.status_code == missing.status_code == 404, f"{context}: {response.text[:300]}"
            assert error_of(response) == error_of(missing), context
            assert set(response.json()["error"]) == {"code", "message", "request_id"}, context
        else:
            assert response.status_code == status, f"{context}: {response.status_code} {response.text[:300]}"
    assert await scene.state() == before, f"{row.key}: a denied attempt changed something"
    response = await send_http(scene, row, example, example.actor, example.allowed)
    assert response.status_code in example.ok, (
        f"{row.key} as the rightful {example.actor or 'anonymous'}: {response.status_code} {response.text[:300]}"
    )


@pytest.mark.parametrize("row", rows_of(Kind.PAGE), ids=lambda row: row.key)
async def test_page_is_the_same_shell_for_everyone(world: World, row: AccessRow) -> None:
    path = row.key.replace("{workspace_id}", "0" * 32).replace("{file_id}", "1" * 32)
    path = path.replace("{conversation_id}", "2" * 32).replace("{username}", "someone")
    anonymous = await world.http.get(path, headers={"accept": "text/html"})
    admin = await world.http.get(path, headers={"accept": "text/html", **world.admin.headers})
    home = await world.http.get("/", headers={"accept": "text/html"})
    assert anonymous.status_code == admin.status_code == 200
    assert anonymous.headers["content-type"].startswith("text/html")
    assert anonymous.content == admin.content == home.content


# -- sockets -----------------------------------------------------------------------------------------------


async def handshake(url: str, headers: dict[str, str]) -> int:
    """101 when the server accepts (the socket is closed again at once), else the HTTP status."""
    try:
        ws = await websockets.connect(url, additional_headers=headers, open_timeout=10)
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)
    await ws.close()
    return 101


@pytest.mark.parametrize("row", rows_of(Kind.SOCKET), ids=lambda row: row.key)
async def test_socket_handshake(world: World, row: AccessRow, scene_tag: str) -> None:
    scene = Scene(world, scene_tag)
    base = f"ws://127.0.0.1:{world.env.port}"
    if row.key == "/ws/events":
        template, actor, foreign = "/ws/events", "alice", {}
    else:
        template, actor, foreign = "/ws/collab/{ws_a}/{file_a}", "carol", FILE_FOREIGN
        await scene.get("file_a")
        await scene.get("file_d")
    assert row.key.count("{") == template.count("{")
    example = Example(template, actor, foreign=foreign)
    for probe, status in row.denied.items():
        who = actor_for(probe, example)
        path = await scene.fill(template, foreign if probe is Probe.FOREIGN_ID else {})
        headers = (await scene.who(who)).headers if who else {}
        assert await handshake(base + path, headers) == status, f"{row.key} as {probe.value}"
        if probe is Probe.ANONYMOUS:
            assert await handshake(base + path, world.revoked) == status, f"{row.key} with a signed-out token"
    path = await scene.fill(template, {})
    assert await handshake(base + path, (await scene.who(actor)).headers) == 101


# -- events-socket frames ------------------------------------------------------------------------------------


async def frame_outcome(client: EventsClient, frame: dict[str, Any], ref: str, reply: str | None) -> dict[str, Any]:
    """The answer to ``frame``: its error frame, its success reply, or (no reply type) a pong after it."""
    await client.send({**frame, "ref": ref})
    if reply is None:
        await client.send({"type": "ping", "ref": ref + "-after"})
        await client.wait_type("pong", ref=ref + "-after")
        errors = [f for f in client.of_type("error") if f.get("ref") == ref]
        return errors[0] if errors else {"type": "quiet"}
    return await client.wait_for(
        lambda f: f.get("ref") == ref and f.get("type") in ("error", reply), f"the answer to {ref}"
    )


@pytest.mark.parametrize("row", rows_of(Kind.FRAME), ids=lambda row: row.key)
async def test_events_frame(world: World, row: AccessRow, scene_tag: str) -> None:
    example = FRAME_EXAMPLES[row.key]
    scene = Scene(world, scene_tag)
    await prepare(scene, example)
    sockets: dict[str, EventsClient] = {}

    async def socket(name: str) -> EventsClient:
        if name not in sockets:
            person = await scene.who(name)
            sockets[name] = await world.env.socket(person)
        return sockets[name]

    try:
        before = await scene.state()
        for index, (probe, status) in enumerate(row.denied.items()):
            who = actor_for(probe, example)
            assert who is not None
            frame = await scene.fill(example.json, example.foreign if probe is Probe.FOREIGN_ID else {})
            answer = await frame_outcome(await socket(who), frame, f"deny{index}", example.reply)
            context = f"{row.key} as {probe.value}: {answer}"
            assert answer.get("type") == "error" and answer.get("status") == status, context
            if status == 404:
                assert (answer["code"], answer["message"]) == ("not_found", "Not found."), context
        assert await scene.state() == before, f"{row.key}: a denied frame changed something"
        assert example.actor is not None
        frame = await scene.fill(example.json, example.allowed)
        answer = await frame_outcome(await socket(example.actor), frame, "allowed", example.reply)
        assert answer.get("type") != "error", f"{row.key} as the rightful {example.actor}: {answer}"
        for client in sockets.values():
            assert not client.closed.is_set(), f"{client.name} was closed: {client.close_code} {client.close_reason}"
    finally:
        for client in sockets.values():
            await client.close()


# -- collaboration messages --------------------------------------------------------------------------------


def collab_message(kind: str) -> bytes:
    """A well-formed message of ``kind``; updates are non-empty (an insert into the shared text)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, "INTRUDER ")
    update = doc.get_update()
    if kind == "sync_step1":
        return encode_sync_step1(pycrdt.Doc().get_state())
    if kind == "sync_step2":
        return encode_sync_step2(update)
    if kind == "sync_update":
        return encode_sync_update(update)
    if kind == "awareness":
        awareness = pycrdt.Awareness(doc)
        awareness.set_local_state({"user": {"name": "someone else"}, "cursor": 0})
        return encode_awareness(awareness.encode_awareness_update([awareness.client_id]))
    if kind == "query_awareness":
        return encode_query_awareness()
    if kind == "auth":
        return encode_auth_denied("nothing")
    if kind == "saved":
        return encode_saved(1)
    raise AssertionError(f"no example for collab message {kind!r}")


async def collab_outcome(url: str, headers: dict[str, str], message: bytes) -> int | None:
    """Join, send ``message``, then ask for awareness: None if the socket answered, else its close code."""
    async with websockets.connect(url, additional_headers=headers, open_timeout=10, max_size=None) as ws:

        async def answered() -> bool:
            await ws.send(encode_query_awareness())
            async for received in ws:
                if isinstance(received, bytes) and received[:1] == bytes([MessageType.AWARENESS]):
                    return True
            return False

        try:
            async with asyncio.timeout(10):
                await ws.send(encode_sync_step1(b"\x00"))
                assert await answered(), "the socket closed before the message was sent"
                await ws.send(message)
                if await answered():
                    return None
        except websockets.ConnectionClosed:
            pass
        assert ws.close_code is not None, "the socket neither answered nor closed"
        return ws.close_code


@pytest.mark.parametrize("row", rows_of(Kind.COLLAB), ids=lambda row: row.key)
async def test_collab_message(world: World, row: AccessRow, scene_tag: str) -> None:
    scene = Scene(world, scene_tag)
    workspace, file = await scene.get("ws_a"), await scene.get("file_a")
    url = f"ws://127.0.0.1:{world.env.port}/ws/collab/{workspace}/{file}"
    content = f"/api/workspaces/{workspace}/files/{file}/content"
    message = collab_message(row.key)
    for probe, code in row.denied.items():
        who = actor_for(probe, Example("", "bob"))
        assert who is not None
        assert await collab_outcome(url, (await scene.who(who)).headers, message) == code, f"{row.key} as {probe}"
        assert (await scene.call("alice", "GET", content)).text == FILE_TEXT, f"{row.key}: a refused write landed"
    if row.rule is Rule.NOBODY:
        return
    rightful = "carol" if row.rule is Rule.WORKSPACE_VIEWER else "bob"
    assert await collab_outcome(url, (await scene.who(rightful)).headers, message) is None, row.key
    if row.key in ("sync_step2", "sync_update"):
        for _ in range(200):
            if "INTRUDER" in (await scene.call("alice", "GET", content)).text:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail(f"{row.key}: the editor's update never reached the file")


async def test_the_table_says_what_each_kind_of_row_needs() -> None:
    for row in ACCESS_RULES:
        if row.kind is Kind.HTTP and row.rule not in (Rule.PUBLIC, Rule.PUBLIC_BY_ID):
            assert row.denied.get(Probe.ANONYMOUS) == 401, f"{row.key}: anonymous callers must get 401"
        if row.kind in (Kind.HTTP, Kind.FRAME) and Probe.STRANGER in row.denied:
            expected = 403 if row.rule is Rule.ADMIN else 404
            assert row.denied[Probe.STRANGER] == expected, f"{row.key}: strangers must not learn what exists"
            if row.rule not in (Rule.ADMIN, Rule.WORKSPACE_OWNER_OR_ADMIN):
                assert row.denied.get(Probe.ADMIN) == 404, f"{row.key}: admin rights open no one's things"
        if row.kind is Kind.SOCKET:
            assert set(row.denied.values()) == {403}, f"{row.key}: refused handshakes are HTTP 403"
