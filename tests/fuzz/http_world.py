"""The seeded instance the HTTP fuzzer runs against: accounts of every role and real ids.

One admin (the first account), a workspace with an owner, an editor and a viewer, a couple of
files, a comment, a checkpoint, a conversation with messages, a call and an invite, so that a
share of the generated requests address objects that exist (and that the caller may or may not
see) instead of only random ids that all answer 404.

Some requests destroy what they address (delete a workspace, a file, a member; disable an
account; sign out). They get ids of ``scratch`` objects made for that (and empty ``doomed``
workspaces to delete), and requests that can end the caller's session get a session of their
own, after which the role gets a new one, so one case cannot leave the rest of the run without
data or signed out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from collabcode.auth.events import ClientInfo
from collabcode.auth.service import auth_service
from tests.chat.harness import PASSWORD
from tests.fuzz.server import ThreadedApp

#: The roles requests are sent as; ``anonymous`` sends whatever credentials the fuzzer made up.
ROLES = ("anonymous", "admin", "owner", "editor", "viewer", "outsider")

#: (method, path) of operations that end the caller's session when they succeed.
SESSION_ENDING = {
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/password/change"),
    ("POST", "/api/auth/sessions/revoke-others"),
    ("DELETE", "/api/auth/sessions/{session_id}"),
}

#: (method, path) of operations that destroy or demote what their path ids address.
DESTRUCTIVE_PREFIXES = ("DELETE",)
DESTRUCTIVE = {
    ("PATCH", "/api/admin/users/{user_id}"),
    ("PATCH", "/api/workspaces/{workspace_id}/members/{user_id}"),
    ("PATCH", "/api/workspaces/{workspace_id}/files/{file_id}"),
}


@dataclass
class HttpWorld:
    app: ThreadedApp
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    #: Path parameter name -> real values for ordinary requests.
    ids: dict[str, list[Any]] = field(default_factory=dict)
    #: Path parameter name -> real values for destructive requests.
    scratch: dict[str, list[Any]] = field(default_factory=dict)
    #: Empty workspaces for ``DELETE /api/workspaces/{workspace_id}``.
    doomed_workspaces: list[str] = field(default_factory=list)
    #: (method, path) -> status codes the fuzz got, to check it reached past 401/404.
    answers: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None

    def headers(self, role: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"}

    async def fresh_token(self, role: str) -> str:
        """A new session of ``role``'s account, for a request that may end the one it uses."""
        service = auth_service(self.app.services)
        user = await service.get_user(self.user_ids[role])
        signed_in = await service._start_session(user, ClientInfo("127.0.0.1", "fuzz"))
        return signed_in.access_token

    async def call(self, role: str, method: str, url: str, *, expect: int, **kwargs: Any) -> Any:
        assert self.http is not None
        response = await self.http.request(method, url, headers=self.headers(role), **kwargs)
        assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None

    async def account(self, role: str, *, admin: bool = False) -> None:
        name = f"{role}user"
        account = await auth_service(self.app.services).create_user(
            email=f"{name}@example.com",
            username=name,
            display_name=role.title(),
            password=PASSWORD,
            role="admin" if admin else "member",
            verified=True,
        )
        assert self.http is not None
        response = await self.http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.tokens[role] = response.json()["access_token"]
        self.user_ids[role] = account.id

    async def workspace(self, name: str, *files: str) -> tuple[str, list[str]]:
        created = await self.call("owner", "POST", "/api/workspaces", json={"name": name}, expect=201)
        workspace_id = str(created["id"])
        file_ids = []
        for path in files:
            body = {"path": path, "kind": "file", "content": "def main():\n    return 42\n"}
            entry = await self.call("owner", "POST", f"/api/workspaces/{workspace_id}/files", json=body, expect=201)
            file_ids.append(str(entry["id"]))
        return workspace_id, file_ids

    async def seed(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.app.url, timeout=30)
        await self.account("admin", admin=True)
        for role in ("owner", "editor", "viewer", "outsider", "scratch"):
            await self.account(role)
        workspace_id, files = await self.workspace("fuzzing", "main.py", "docs/readme.md", "a.txt", "b.txt", "c.txt")
        files, scratch_files = files[:2], files[2:]
        doomed = [(await self.workspace(f"doomed {n}"))[0] for n in range(3)]
        for role, as_role in (("editor", "editor"), ("viewer", "viewer"), ("scratch", "viewer")):
            member = {"username": f"{role}user", "role": as_role}
            await self.call("owner", "POST", f"/api/workspaces/{workspace_id}/members", json=member, expect=201)
        base = f"/api/workspaces/{workspace_id}/files/{files[0]}"
        comment = await self.call(
            "editor", "POST", base + "/comments", json={"anchor": {"start": 0, "end": 3}, "body": "why"}, expect=201
        )
        await self.call("editor", "POST", base + "/checkpoints", json={"name": "first"}, expect=201)
        conversation = await self.call(
            "owner", "POST", "/api/conversations", json={"username": "editoruser"}, expect=201
        )
        messages = []
        for role, body in (("owner", "hello"), ("editor", "hi"), ("owner", "see main.py"), ("owner", "oops")):
            sent = await self.call(
                role,
                "POST",
                f"/api/conversations/{conversation['id']}/messages",
                json={"body": body, "client_id": uuid.uuid4().hex},
                expect=201,
            )
            messages.append(str(sent["id"]))
        invite = await self.call("admin", "POST", "/api/admin/invites", json={}, expect=201)
        call = await self.call(
            "owner", "POST", "/api/calls", json={"callee": "editoruser", "media": "audio"}, expect=201
        )
        shared = {
            "workspace_id": [workspace_id],
            "conversation_id": [str(conversation["id"])],
            "call_id": [str(call["id"])],
            "invite_id": [str(invite["id"])],
            "version": [1, 2],
            "password": [PASSWORD],
            "current_password": [PASSWORD],
        }
        self.ids = {
            **shared,
            "file_id": files,
            "user_id": [self.user_ids[r] for r in ("owner", "editor", "viewer", "admin")],
            "comment_id": [str(comment["id"])],
            "message_id": messages[:3],
            "username": [f"{r}user" for r in ("owner", "editor", "viewer", "admin")],
        }
        self.scratch = {
            **shared,
            "file_id": scratch_files,
            "user_id": [self.user_ids["scratch"]],
            "message_id": messages[3:],
            "username": ["scratchuser"],
        }
        self.doomed_workspaces = doomed

    def pool(self, method: str, path: str) -> dict[str, list[Any]]:
        """Real values by parameter name for one operation: scratch ones for destructive requests."""
        if (method, path) == ("DELETE", "/api/workspaces/{workspace_id}"):
            return {"workspace_id": self.doomed_workspaces}
        return self.scratch if method in DESTRUCTIVE_PREFIXES or (method, path) in DESTRUCTIVE else self.ids

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def start_http_world(data_dir: Path, ai_base_url: str) -> HttpWorld:
    """The instance, with the assistant on a fake provider so its routes answer for real."""
    app = ThreadedApp(
        data_dir,
        ai_provider="openai",
        ai_base_url=ai_base_url,
        ai_chat_model="chat-model",
        ai_completion_model="qwen2.5-coder:1.5b",
        ai_timeout=6.0,
    ).start()
    world = HttpWorld(app)
    try:
        app.run(world.seed())
    except BaseException:
        app.stop()
        raise
    return world


def stop_http_world(world: HttpWorld) -> None:
    try:
        world.app.run(world.close())
    finally:
        world.app.stop()
