"""Workspace tests run through the real app, once on SQLite and once on PostgreSQL.

``env`` is a started app on the ``db`` fixture's database with an in-process client. Users are
real accounts (created through the accounts service, signed in through ``/api/auth/login``,
bcrypt at its lowest cost) and every request carries the user's Bearer token.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from collabcode.app import create_app
from collabcode.auth.service import auth_service
from collabcode.db import Database
from collabcode.services import Services
from collabcode.settings import Settings
from collabcode.workspaces.feature import workspace_service
from collabcode.workspaces.service import WorkspaceService
from tests.conftest import TEST_ORIGIN

PASSWORD = "correct horse battery staple"


@dataclass
class User:
    id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass
class Env:
    http: httpx.AsyncClient
    services: Services
    users: dict[str, User] = field(default_factory=dict)

    @property
    def service(self) -> WorkspaceService:
        return workspace_service(self.services)

    async def user(self, name: str) -> User:
        """A signed-in account called ``name`` (created on first use)."""
        if name in self.users:
            return self.users[name]
        account = await auth_service(self.services).create_user(
            email=f"{name}@example.com", username=name, display_name=name.title(), password=PASSWORD, verified=True
        )
        response = await self.http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        user = User(account.id, name, response.json()["access_token"])
        self.users[name] = user
        return user

    async def call(
        self, user: User | None, method: str, url: str, *, expect: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(user.headers if user else {}), **kwargs.pop("headers", {})}
        response = await self.http.request(method, url, headers=headers, **kwargs)
        assert response.status_code != 500, response.text
        if expect is not None:
            assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text[:500]}"
        return response

    async def workspace(self, owner: User, name: str = "Project") -> str:
        response = await self.call(owner, "POST", "/api/workspaces", json={"name": name}, expect=201)
        return str(response.json()["id"])

    async def add(self, owner: User, workspace_id: str, member: User, role: str) -> None:
        await self.call(
            owner,
            "POST",
            f"/api/workspaces/{workspace_id}/members",
            json={"username": member.username, "role": role},
            expect=201,
        )

    async def create(
        self, user: User, workspace_id: str, path: str, kind: str = "file", **extra: Any
    ) -> dict[str, Any]:
        response = await self.call(
            user,
            "POST",
            f"/api/workspaces/{workspace_id}/files",
            json={"path": path, "kind": kind, **extra},
            expect=201,
        )
        body: dict[str, Any] = response.json()
        return body

    async def tree(self, user: User, workspace_id: str) -> dict[str, Any]:
        response = await self.call(user, "GET", f"/api/workspaces/{workspace_id}/tree", expect=200)
        body: dict[str, Any] = response.json()
        return body

    async def paths(self, user: User, workspace_id: str) -> list[str]:
        return [entry["path"] for entry in (await self.tree(user, workspace_id))["entries"]]

    async def content(self, user: User, workspace_id: str, file_id: str) -> str:
        response = await self.call(user, "GET", f"/api/workspaces/{workspace_id}/files/{file_id}/content", expect=200)
        return response.text


@pytest.fixture
def ws_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=8000, log_format="json", bcrypt_rounds=4)


@pytest.fixture
async def env(db: Database, ws_settings: Settings) -> AsyncIterator[Env]:
    app = create_app(ws_settings, db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            yield Env(http, app.state.services)


def zip_bytes(files: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


NOT_FOUND = {"code": "not_found", "message": "Not found."}


def assert_not_found(response: httpx.Response, context: object = "") -> None:
    """The one 404 body: the same for a missing object and for one the caller may not see."""
    assert response.status_code == 404, f"{context} {response.request.method} {response.request.url}: {response.text}"
    error = response.json()["error"]
    assert {"code": error["code"], "message": error["message"]} == NOT_FOUND
    assert set(error) == {"code", "message", "request_id"}
