"""Harness for the chat and events tests: the real app on the test database, signed-in people,
an in-process HTTP client, a live uvicorn server on a free port, and an events-socket client.

People are real accounts (created through the accounts service, bcrypt at its lowest cost,
signed in through ``POST /api/auth/login``). Sockets authenticate with ``Authorization:
Bearer`` (a non-browser client) unless a test asks for a ticket. Waiting is always on a frame or
condition with a timeout, never a bare sleep.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from collabcode.app import create_app
from collabcode.auth.service import auth_service
from collabcode.chat.service import ChatService, chat_service
from collabcode.clock import Clock, FakeClock
from collabcode.db import Database
from collabcode.pubsub import Bus
from collabcode.realtime.hub import EventsHub, events_hub
from collabcode.services import Services
from collabcode.settings import Settings
from tests.conftest import TEST_ORIGIN
from tests.services import free_port

PASSWORD = "correct horse battery staple"
Frame = dict[str, Any]


@dataclass
class Person:
    id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def chat_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "host": "127.0.0.1",
        "port": 8000,
        "log_format": "json",
        "bcrypt_rounds": 4,
        "shutdown_timeout": 3.0,
    }
    values.update(overrides)
    return Settings(**values)


class EventsClient:
    """A ``/ws/events`` client over a real socket: keeps every frame, waits for the ones wanted."""

    def __init__(self, ws: ClientConnection, name: str) -> None:
        self.ws = ws
        self.name = name
        self.frames: list[Frame] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = asyncio.Event()
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                self._arrived.set()
        except ConnectionClosed:
            pass
        finally:
            received = self.ws.protocol.close_rcvd
            if received is not None:
                self.close_code, self.close_reason = received.code, received.reason
            else:
                self.close_code = 1006
            self.closed.set()
            self._arrived.set()

    async def send(self, frame: Frame | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def of_type(self, kind: str) -> list[Frame]:
        return [f for f in self.frames if f.get("type") == kind]

    async def wait_for(self, predicate: Callable[[Frame], bool], what: str, timeout: float = 10.0) -> Frame:
        """The first frame (already received or still to come) matching ``predicate``."""
        seen = 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for frame in self.frames[seen:]:
                        if predicate(frame):
                            return frame
                    seen = len(self.frames)
                    if self.closed.is_set():
                        break
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            pass
        pytest.fail(
            f"{self.name}: no {what} within {timeout} s (closed={self.close_code} {self.close_reason!r}); "
            f"last frames: {self.frames[-6:]!r}"
        )

    async def wait_type(self, kind: str, timeout: float = 10.0, **fields: Any) -> Frame:
        def match(frame: Frame) -> bool:
            return frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items())

        return await self.wait_for(match, f"{kind} {fields or ''}", timeout)

    async def wait_closed(self, timeout: float = 10.0) -> tuple[int | None, str]:
        async with asyncio.timeout(timeout):
            await self.closed.wait()
        return self.close_code, self.close_reason

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait({self._reader}, timeout=5)

    @property
    def last_cursor(self) -> int | None:
        cursors = [f["cursor"] for f in self.frames if isinstance(f.get("cursor"), int)]
        return max(cursors) if cursors else None


class ChatEnv:
    """One running app (one "process"): HTTP in-process, and a live server when sockets are used."""

    def __init__(self, app: Starlette, stack: AsyncExitStack, people: dict[str, Person]) -> None:
        self.app = app
        self.stack = stack
        self.people = people
        self.http: httpx.AsyncClient
        self.port: int | None = None

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def clock(self) -> FakeClock:
        clock = self.services.clock
        assert isinstance(clock, FakeClock), "this env runs on the real clock"
        return clock

    @property
    def chat(self) -> ChatService:
        return chat_service(self.services)

    @property
    def hub(self) -> EventsHub:
        return events_hub(self.services)

    async def person(self, name: str, *, verified: bool = True) -> Person:
        """A signed-in account called ``name`` (created on first use; shared by envs on one database)."""
        if name in self.people:
            person = self.people[name]
            if person.token:
                return person
        else:
            account = await auth_service(self.services).create_user(
                email=f"{name}@example.com",
                username=name,
                display_name=name.title(),
                password=PASSWORD,
                verified=verified,
            )
            self.people[name] = Person(account.id, name, "")
        token = await self.login(name)
        self.people[name].token = token
        return self.people[name]

    async def advance(self, seconds: float) -> None:
        """Move the fake clock, signing everyone in again (access tokens live 10 minutes)."""
        self.clock.advance(seconds)
        for person in self.people.values():
            person.token = await self.login(person.username)

    async def login(self, name: str) -> str:
        response = await self.http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def call(
        self, person: Person | None, method: str, url: str, *, expect: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(person.headers if person else {}), **kwargs.pop("headers", {})}
        response = await self.http.request(method, url, headers=headers, **kwargs)
        assert response.status_code != 500, response.text
        if expect is not None:
            assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text[:500]}"
        return response

    async def open(self, a: Person, b: Person) -> str:
        response = await self.call(a, "POST", "/api/conversations", json={"username": b.username})
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    async def send(self, sender: Person, cid: str, body: str, client_id: str | None = None) -> Frame:
        response = await self.call(
            sender,
            "POST",
            f"/api/conversations/{cid}/messages",
            json={"body": body, "client_id": client_id or uuid.uuid4().hex},
        )
        assert response.status_code in (200, 201), response.text
        message: Frame = response.json()
        return message

    async def messages(self, person: Person, cid: str, **params: Any) -> list[Frame]:
        response = await self.call(person, "GET", f"/api/conversations/{cid}/messages", params=params, expect=200)
        messages: list[Frame] = response.json()["messages"]
        return messages

    def ws_url(self, cursor: int | None = None, **params: str) -> str:
        assert self.port is not None, "start the env with live=True to use sockets"
        query = "&".join(
            f"{k}={v}" for k, v in {**({"cursor": str(cursor)} if cursor is not None else {}), **params}.items()
        )
        return f"ws://127.0.0.1:{self.port}/ws/events" + (f"?{query}" if query else "")

    async def socket(self, person: Person, cursor: int | None = None, *, synced: bool = True) -> EventsClient:
        ws = await connect(self.ws_url(cursor), additional_headers=person.headers, open_timeout=10, max_size=None)
        client = EventsClient(ws, f"{person.username}@{self.port}")
        self.stack.push_async_callback(client.close)
        if synced:
            await client.wait_for(lambda f: f.get("type") in ("synced", "resync"), "synced")
        return client


@asynccontextmanager
async def chat_env(
    db: Database,
    data_dir: Path,
    *,
    live: bool = False,
    bus: Bus | None = None,
    clock: Clock | None = None,
    people: dict[str, Person] | None = None,
    **settings: Any,
) -> AsyncIterator[ChatEnv]:
    """The real app on ``db`` (lifespan running), an HTTP client, and a live server if asked."""
    port = free_port() if live else 8000
    app = create_app(chat_settings(data_dir, port=port, **settings), db=db, bus=bus, clock=clock)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        env = ChatEnv(app, stack, people if people is not None else {})
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        env.http = await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN))
        if live:
            config = uvicorn.Config(
                app, host="127.0.0.1", port=port, lifespan="off", log_config=None, ws="websockets-sansio"
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())

            async def stop() -> None:
                server.should_exit = True
                await asyncio.wait_for(task, 15)

            await eventually(lambda: server.started or task.done(), "uvicorn started")
            assert server.started, "the live server did not start"
            env.port = port
            # Sockets close (1001) before the server stops, as in production.
            stack.push_async_callback(stop)
            stack.push_async_callback(env.services.connections.close_all, 1001, "going_away")
        yield env


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> float:
    """Poll a condition that has no event to wait on; fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not true within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def eventually_async(check: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    """Poll an async condition (a database read) until true; fails after ``timeout``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not true within {timeout} s")
        await asyncio.sleep(0.02)


@dataclass
class Pair:
    alice: Person
    bob: Person
    cid: str
    extra: dict[str, Any] = field(default_factory=dict)
