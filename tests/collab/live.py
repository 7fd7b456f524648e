"""Live-server helpers for the collaboration socket: the real app under uvicorn on a free port in
the test's event loop (with test identities and permissions), and a pycrdt client speaking
y-websocket over a real socket (the ``websockets`` library)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pycrdt
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from collabcode.app import create_app
from collabcode.collab.connection import SocketLimits
from collabcode.collab.protocol import (
    MessageType,
    Saved,
    decode_message,
    encode_awareness,
    encode_sync_step1,
    encode_sync_update,
)
from collabcode.collab.service import CollabService, collab_service
from collabcode.db import Database
from collabcode.pubsub import Bus
from collabcode.server import GracefulServer, build_server
from collabcode.services import Services
from collabcode.settings import Settings
from tests.collab.testauth import FakeAuth, RoleRule, configure_test_app, token_for
from tests.fixtures_bus import eventually as _eventually
from tests.services import free_port

__all__ = ["LiveApp", "YClient", "eventually", "handshake_status", "joined", "token_for"]


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> float:
    """:func:`tests.fixtures_bus.eventually`, description first; seconds it took."""
    return await _eventually(condition, timeout, what)


class LiveApp:
    """The real app (create_app) under uvicorn on a free port, in the test's event loop."""

    def __init__(
        self,
        data_dir: Path,
        *,
        limits: SocketLimits | None = None,
        database_url: str | None = None,
        redis_url: str | None = None,
        bus: Bus | None = None,
        db: Database | None = None,
        real_auth: bool = False,
    ) -> None:
        self.port = free_port()
        self.settings = Settings(
            data_dir=data_dir,
            host="127.0.0.1",
            port=self.port,
            log_format="json",
            database_url=database_url,
            redis_url=redis_url,
            bcrypt_rounds=4,
            shutdown_timeout=5.0,
        )
        self.auth = FakeAuth()
        self.rule = RoleRule()
        self.app = create_app(self.settings, bus=bus, db=db)
        configure_test_app(self.app, None if real_auth else self.auth, self.rule, limits)
        self.server: GracefulServer = build_server(self.app, self.settings)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveApp:
        self._task = asyncio.create_task(self.server.serve())
        await eventually(lambda: self.server.started or self._task is None or self._task.done(), "server start")
        if not self.server.started:
            pytest.fail("the in-process server did not start")
        return self

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        async with asyncio.timeout(15):
            await self._task
        self._task = None

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def collab(self) -> CollabService:
        return collab_service(self.services)

    def url(self, user: str = "alice", workspace: str = "ws1", file: str = "file1", **params: str) -> str:
        query = urlencode({"ticket": token_for(user), **params})
        return f"ws://127.0.0.1:{self.port}/ws/collab/{workspace}/{file}?{query}"


class YClient:
    """A pycrdt document synced over a real WebSocket, behaving like a y-websocket client."""

    def __init__(self, name: str = "client") -> None:
        self.name = name
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = self.doc.get("content", type=pycrdt.Text)
        self.awareness = pycrdt.Awareness(self.doc)
        self.saved: list[int] = []
        self.sent_updates = 0
        self.close_code: int | None = None
        self.close_reason = ""
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self._applying = False
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscription = self.doc.observe(self._on_update)

    async def connect(self, url: str, *, headers: dict[str, str] | None = None, announce: bool = True) -> YClient:
        self.close_code, self.close_reason = None, ""
        self.synced.clear()
        self.closed.clear()
        self._ws = await websockets.connect(url, additional_headers=headers, max_size=None, open_timeout=10)
        self._reader = asyncio.create_task(self._read())
        await self._ws.send(encode_sync_step1(self.doc.get_state()))
        if announce:
            self.awareness.set_local_state({"user": {"name": f"claimed-{self.name}"}, "cursor": 0})
            own = self.awareness.encode_awareness_update([self.awareness.client_id])
            await self._ws.send(encode_awareness(own))
        return self

    def _on_update(self, event: pycrdt.TransactionEvent) -> None:
        if self._applying or self._ws is None or self.closed.is_set():
            return
        self.sent_updates += 1
        frame = encode_sync_update(event.update)
        ws = self._ws
        asyncio.get_running_loop().create_task(self._send_quietly(ws, frame))

    @staticmethod
    async def _send_quietly(ws: ClientConnection, frame: bytes) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(frame)

    async def send_raw(self, frame: bytes | str) -> None:
        assert self._ws is not None
        await self._ws.send(frame)

    async def _read(self) -> None:
        assert self._ws is not None
        ws = self._ws
        try:
            async for message in ws:
                if isinstance(message, str):
                    continue
                kind = message[0]
                if kind == MessageType.SYNC:
                    self._applying = True
                    try:
                        reply = pycrdt.handle_sync_message(message[1:], self.doc)
                    finally:
                        self._applying = False
                    if message[1] == 1:
                        self.synced.set()
                    if reply is not None:
                        await ws.send(reply)
                elif kind == MessageType.AWARENESS:
                    self.awareness.apply_awareness_update(pycrdt.read_message(message[1:]), "remote")
                elif kind == MessageType.SAVED:
                    decoded = decode_message(message)
                    assert isinstance(decoded, Saved)
                    self.saved.append(decoded.receipt)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code
            self.close_reason = ws.close_reason or ""
            self.closed.set()
            self._changed.set()

    async def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            pytest.fail(f"{self.name}: {what} not within {timeout} s (text={str(self.text)!r})")

    async def wait_text(self, expected: str, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: str(self.text) == expected, f"text == {expected!r}", timeout)

    async def wait_synced(self, timeout: float = 10.0) -> YClient:
        """Wait for the server's sync step 2 (the client holds the document)."""
        try:
            async with asyncio.timeout(timeout):
                await self.synced.wait()
        except TimeoutError:
            pytest.fail(f"{self.name}: no sync step 2 within {timeout} s")
        return self

    async def wait_closed(self, timeout: float = 10.0) -> tuple[int | None, str]:
        try:
            async with asyncio.timeout(timeout):
                await self.closed.wait()
        except TimeoutError:
            pytest.fail(f"{self.name}: the server did not close the socket within {timeout} s")
        return self.close_code, self.close_reason

    def type(self, text: str) -> None:
        self.text.insert(len(self.text), text)

    def remote_users(self) -> list[dict[str, Any]]:
        return [
            state["user"]
            for client_id, state in self.awareness.states.items()
            if client_id != self.awareness.client_id and state and "user" in state
        ]

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.wait({self._reader}, timeout=5)


async def joined(name: str, url: str, *, headers: dict[str, str] | None = None) -> YClient:
    """A new client, connected and holding the document."""
    return await (await YClient(name).connect(url, headers=headers)).wait_synced()


async def handshake_status(url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a handshake the server refuses (fails if it accepts)."""
    try:
        ws = await websockets.connect(url, additional_headers=headers, open_timeout=10)
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)
    await ws.close()
    pytest.fail(f"the handshake to {url} was accepted")
