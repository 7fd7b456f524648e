"""Harness for the accounts tests: the real app on the ``db`` fixture (SQLite and PostgreSQL),
a fake clock, the in-process broker and a mailer that records what it was asked to send."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from collabcode.app import create_app
from collabcode.auth.models import User
from collabcode.auth.service import AuthService, auth_service
from collabcode.clock import FakeClock
from collabcode.db import Database
from collabcode.mail import Mail, MailQueue
from collabcode.pubsub import Bus
from collabcode.services import Services
from collabcode.settings import Settings
from tests.conftest import TEST_ORIGIN

PASSWORD = "correct horse battery"


class RecordingMailer:
    """A Mailer that keeps every message; tests wait for mail instead of sleeping."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []
        self._arrived = asyncio.Event()

    async def send(self, mail: Mail) -> None:
        self.sent.append(mail)
        self._arrived.set()

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.sent if m.to == address]


def link_token(mail: Mail, path: str) -> str:
    """The token of the ``path?token=`` link in a mail."""
    match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_-]+)", mail.text)
    assert match, f"no {path} link in: {mail.text}"
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    error = dict(body.get("error", {}))
    error.pop("request_id", None)
    return {**body, "error": error} if "error" in body else body


@dataclass
class AuthHarness:
    app: Starlette
    services: Services
    clock: FakeClock
    mailer: RecordingMailer
    stack: AsyncExitStack
    http: httpx.AsyncClient = field(init=False)

    @property
    def service(self) -> AuthService:
        return auth_service(self.services)

    async def client(self, ip: str = "127.0.0.1") -> httpx.AsyncClient:
        """Another browser: its own cookie jar (and, if asked, its own address)."""
        transport = httpx.ASGITransport(app=self.app, client=(ip, 50000))
        return await self.stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN, headers={"user-agent": "python-httpx/test"})
        )

    async def mail_flushed(self) -> list[Mail]:
        queue = self.service.mail
        assert isinstance(queue, MailQueue)
        await asyncio.wait_for(queue.drain(), 5)
        return self.mailer.sent

    async def create_user(
        self,
        username: str = "alice",
        *,
        email: str | None = None,
        password: str | None = PASSWORD,
        role: str = "member",
        verified: bool = True,
    ) -> User:
        return await self.service.create_user(
            email=email or f"{username}@example.com",
            username=username,
            display_name=username.title(),
            password=password,
            role="admin" if role == "admin" else "member",
            verified=verified,
        )

    async def login(self, client: httpx.AsyncClient, login: str = "alice", password: str = PASSWORD) -> str:
        r = await client.post("/api/auth/login", json={"login": login, "password": password})
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token


AppFactory = Callable[..., AbstractAsyncContextManager[AuthHarness]]


@pytest.fixture
def auth_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", host="127.0.0.1", port=8000, log_format="json", bcrypt_rounds=4, registration="open"
    )


@pytest.fixture
def make_app(db: Database, auth_settings: Settings) -> AppFactory:
    """Build (and run the lifespan of) an app on the test database; overrides change settings."""

    @asynccontextmanager
    async def build(
        *, bus: Bus | None = None, extra_routes: list[BaseRoute] | None = None, **overrides: Any
    ) -> AsyncIterator[AuthHarness]:
        settings = dataclasses.replace(auth_settings, **overrides)
        clock, mailer = FakeClock(), RecordingMailer()
        app = create_app(settings, db=db, bus=bus, clock=clock, mailer=mailer, extra_routes=extra_routes)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(app.router.lifespan_context(app))
            harness = AuthHarness(app, app.state.services, clock, mailer, stack)
            harness.http = await harness.client()
            yield harness

    return build


@pytest.fixture
async def auth(make_app: AppFactory) -> AsyncIterator[AuthHarness]:
    async with make_app() as harness:
        yield harness
