"""Assistant tests: the real app (SQLite and PostgreSQL) against the loopback test provider.

``ai_env(**settings)`` starts the app on the ``db`` fixture's database with a fake clock, the
provider settings pointing at ``fake_ai_provider``, and optionally a live uvicorn server (SSE
and client disconnects need a real socket; the in-process client buffers whole responses).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from collabcode.app import create_app
from collabcode.assistant.service import AssistantService, assistant_service
from collabcode.auth.service import auth_service
from collabcode.clock import FakeClock
from collabcode.db import Database
from collabcode.services import Services
from collabcode.settings import Settings
from tests.conftest import TEST_ORIGIN
from tests.fake_ai_provider import FakeAIProvider
from tests.services import free_port

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
class AIEnv:
    http: httpx.AsyncClient
    services: Services
    clock: FakeClock
    provider: FakeAIProvider | None
    live_url: str | None = None
    users: dict[str, User] = field(default_factory=dict)

    @property
    def service(self) -> AssistantService:
        return assistant_service(self.services)

    async def user(self, name: str, *, admin: bool = False) -> User:
        if name in self.users:
            return self.users[name]
        account = await auth_service(self.services).create_user(
            email=f"{name}@example.com",
            username=name,
            display_name=name.title(),
            password=PASSWORD,
            verified=True,
            role="admin" if admin else "member",
        )
        response = await self.http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        user = User(account.id, name, response.json()["access_token"])
        self.users[name] = user
        return user

    async def sign_in_again(self, user: User) -> None:
        """A fresh access token (after the fake clock moved past the old one's expiry)."""
        response = await self.http.post("/api/auth/login", json={"login": user.username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        user.token = response.json()["access_token"]

    async def call(
        self, user: User | None, method: str, url: str, *, expect: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(user.headers if user else {}), **kwargs.pop("headers", {})}
        response = await self.http.request(method, url, headers=headers, **kwargs)
        assert response.status_code != 500, response.text
        if expect is not None:
            assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text[:500]}"
        return response

    @asynccontextmanager
    async def stream(self, user: User, body: dict[str, Any]) -> AsyncIterator[httpx.Response]:
        """``POST /api/ai/chat`` on the live server, the response open for streaming."""
        assert self.live_url, "start the env with live=True"
        async with (
            httpx.AsyncClient(base_url=self.live_url) as live,
            live.stream("POST", "/api/ai/chat", json=body, headers=user.headers) as response,
        ):
            yield response

    async def workspace(self, owner: User, name: str = "Project") -> str:
        response = await self.call(owner, "POST", "/api/workspaces", json={"name": name}, expect=201)
        return str(response.json()["id"])

    async def add(self, owner: User, workspace_id: str, member: User, role: str) -> None:
        body = {"username": member.username, "role": role}
        await self.call(owner, "POST", f"/api/workspaces/{workspace_id}/members", json=body, expect=201)

    async def file(self, user: User, workspace_id: str, path: str, content: str = "") -> str:
        body = {"path": path, "kind": "file", "content": content}
        response = await self.call(user, "POST", f"/api/workspaces/{workspace_id}/files", json=body, expect=201)
        return str(response.json()["id"])


def ai_settings(tmp_path: Path, provider: FakeAIProvider | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "host": "127.0.0.1",
        "port": 8000,
        "log_format": "json",
        "bcrypt_rounds": 4,
    }
    if provider is not None:
        values.update(
            ai_provider="openai",
            ai_base_url=provider.url,
            ai_chat_model="chat-model",
            ai_completion_model="qwen2.5-coder:1.5b",
            ai_timeout=6.0,
        )
    values.update(overrides)
    return Settings(**values)


EnvFactory = Callable[..., AbstractAsyncContextManager[AIEnv]]


@pytest.fixture
def ai_env(db: Database, tmp_path: Path, fake_ai_provider: FakeAIProvider) -> EnvFactory:
    """``async with ai_env(live=False, provider=True, **settings) as env``."""

    @asynccontextmanager
    async def make(*, live: bool = False, provider: bool = True, **overrides: Any) -> AsyncIterator[AIEnv]:
        clock = FakeClock()
        port = free_port() if live else 8000
        settings = ai_settings(tmp_path, fake_ai_provider if provider else None, port=port, **overrides)
        app = create_app(settings, db=db, clock=clock)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN))
            env = AIEnv(http, app.state.services, clock, fake_ai_provider if provider else None)
            if live:
                config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
                server = uvicorn.Server(config)
                task = asyncio.create_task(server.serve())

                async def stop() -> None:
                    server.should_exit = True
                    await asyncio.wait_for(task, 15)

                for _ in range(1000):
                    if server.started or task.done():
                        break
                    await asyncio.sleep(0.01)
                assert server.started, "the live server did not start"
                stack.push_async_callback(stop)
                env.live_url = f"http://127.0.0.1:{port}"
            yield env

    return make
