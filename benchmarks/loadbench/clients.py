"""The load generator's sockets: one person's events socket and their document socket.

Every socket binds its own loopback source address (:func:`loadbench.cluster.client_ip`), so
per-IP caps see distinct users. The document socket is the collab benchmark's y-websocket client
(``collabbench.wire.Client``), opened here with that source address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from collabbench.wire import MAX_FRAME, Client, Endpoint, UpdateCallback
from websockets.asyncio.client import ClientConnection, connect

from loadbench.cluster import Person

FrameCallback = Callable[[dict[str, Any], int], None]


def ws_url(http_url: str, path: str) -> str:
    return http_url.replace("http://", "ws://", 1) + path


async def open_document(
    http_url: str, person: Person, workspace_id: str, file_id: str, on_update: UpdateCallback, timeout: float = 30.0
) -> Client:
    """A synced document socket for ``person`` (bearer token, own source address)."""
    endpoint = Endpoint(
        ws_url(http_url, f"/ws/collab/{workspace_id}/{file_id}"),
        file_id,
        headers=tuple(person.headers.items()),
    )
    client = Client(endpoint, on_update=on_update)
    # Client.open() has no source address; the same connection options, plus local_addr.
    client.ws = await connect(
        endpoint.url,
        additional_headers=list(endpoint.headers),
        compression=None,
        max_size=MAX_FRAME,
        ping_interval=None,
        open_timeout=timeout,
        close_timeout=2,
        user_agent_header=None,
        local_addr=(person.ip, 0),
    )
    await client.sync(timeout=timeout)
    return client


class EventsSocket:
    """``/ws/events`` for one person: frames go to ``on_frame`` (hot path) and to waiters."""

    def __init__(self, ws: ClientConnection, person: Person, on_frame: FrameCallback | None = None) -> None:
        self.ws = ws
        self.person = person
        self.on_frame = on_frame
        self.errors: dict[str, int] = {}
        self.closed = False
        self._waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[tuple[dict[str, Any], int]]]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(
        cls, http_url: str, person: Person, on_frame: FrameCallback | None = None, timeout: float = 30.0
    ) -> EventsSocket:
        ws = await connect(
            ws_url(http_url, "/ws/events"),
            additional_headers=person.headers,
            open_timeout=timeout,
            max_size=None,
            ping_interval=None,
            close_timeout=2,
            local_addr=(person.ip, 0),
        )
        socket = cls(ws, person, on_frame)
        await socket.wait(lambda f: f.get("type") in ("synced", "resync"), timeout)
        return socket

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                now = time.monotonic_ns()
                frame = json.loads(raw)
                if frame.get("type") == "error":
                    code = str(frame.get("code", "?"))
                    self.errors[code] = self.errors.get(code, 0) + 1
                if self.on_frame is not None:
                    self.on_frame(frame, now)
                if self._waiters:
                    for entry in list(self._waiters):
                        predicate, future = entry
                        if not future.done() and predicate(frame):
                            future.set_result((frame, now))
                            self._waiters.remove(entry)
        except Exception as exc:  # closed under us: counted, reported by the scenario
            if not self.closed:
                self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
        finally:
            self.closed = True
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(ConnectionError("events socket closed"))
                    future.exception()

    def expect(self, predicate: Callable[[dict[str, Any]], bool]) -> asyncio.Future[tuple[dict[str, Any], int]]:
        """A future for the next frame matching ``predicate`` (register before causing it)."""
        future: asyncio.Future[tuple[dict[str, Any], int]] = asyncio.get_running_loop().create_future()
        if self.closed:
            future.set_exception(ConnectionError("events socket closed"))
        else:
            self._waiters.append((predicate, future))
        return future

    async def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> tuple[dict[str, Any], int]:
        return await asyncio.wait_for(self.expect(predicate), timeout)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 3)
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader
