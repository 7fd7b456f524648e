"""WebSocket handshakes through a real uvicorn on a free port: Origin, tickets, Bearer headers,
and revocation closing an open socket with 4401."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from collabcode.auth.dependencies import WebSocketRejected, authenticate_websocket, reject, session_alive
from collabcode.realtime.connections import OpenSocket
from collabcode.services import services_of
from tests.auth.conftest import AppFactory, AuthHarness, bearer
from tests.fixtures_bus import eventually
from tests.services import free_port


async def whoami(websocket: WebSocket) -> None:
    """A minimal socket endpoint written the way features are told to write theirs."""
    try:
        identity = await authenticate_websocket(websocket)
    except WebSocketRejected as exc:
        await reject(websocket, exc.reason)
        return
    services = services_of(websocket)

    async def close(code: int, reason: str) -> None:
        await websocket.close(code, reason)

    sock = services.connections.add(OpenSocket("test", identity.user_id, identity.session_id, close))
    try:
        await websocket.accept()
        alive = await session_alive(services, identity.session_id)
        await websocket.send_text(json.dumps({"user": identity.username, "alive": alive}))
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        services.connections.discard(sock)


@dataclass
class Live:
    auth: AuthHarness
    port: int

    def url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/ws/whoami{query}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def live(make_app: AppFactory) -> AsyncIterator[Live]:
    async with make_app(extra_routes=[WebSocketRoute("/ws/whoami", whoami)]) as auth:
        port = free_port()
        config = uvicorn.Config(auth.app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await eventually(lambda: server.started, 10, "uvicorn started")
        try:
            yield Live(auth, port)
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 10)


async def _ticket(live: Live, token: str) -> str:
    r = await live.auth.http.post("/api/auth/ws-ticket", headers=bearer(token))
    assert r.status_code == 200
    ticket: str = r.json()["ticket"]
    return ticket


async def _refused(url: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, open_timeout=5, **kwargs):  # type: ignore[arg-type]
            pass
    status: int = caught.value.response.status_code
    return status


async def test_ticket_from_an_allowed_origin_works_once(live: Live) -> None:
    await live.auth.create_user()
    token = await live.auth.login(live.auth.http)
    ticket = await _ticket(live, token)
    async with connect(live.url(f"?ticket={ticket}"), origin=live.origin, open_timeout=5) as ws:  # type: ignore[arg-type]
        assert json.loads(await ws.recv()) == {"user": "alice", "alive": True}
    assert await _refused(live.url(f"?ticket={ticket}"), origin=live.origin) == 403


async def test_expired_ticket_is_refused(live: Live) -> None:
    await live.auth.create_user()
    ticket = await _ticket(live, await live.auth.login(live.auth.http))
    live.auth.clock.advance(31)
    assert await _refused(live.url(f"?ticket={ticket}"), origin=live.origin) == 403


async def test_cross_site_handshakes_are_refused(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    await live.auth.create_user()
    token = await live.auth.login(live.auth.http)
    ticket = await _ticket(live, token)
    assert await _refused(live.url(f"?ticket={ticket}"), origin="https://evil.example") == 403
    assert await _refused(live.url(), origin="https://evil.example", additional_headers=bearer(token)) == 403
    assert await _refused(live.url(f"?ticket={ticket}")) == 403  # no Origin and no header: not a real client
    reasons = [
        getattr(r, "reason", None) for r in caplog.records if getattr(r, "event", None) == "ws.handshake_rejected"
    ]
    assert reasons[:3] == ["origin_not_allowed", "origin_not_allowed", "origin_missing"]
    # The refused ticket was not consumed by the refusals: the origin is checked first.
    async with connect(live.url(f"?ticket={ticket}"), origin=live.origin, open_timeout=5) as ws:  # type: ignore[arg-type]
        assert json.loads(await ws.recv())["user"] == "alice"


async def test_bearer_header_for_non_browser_clients(live: Live) -> None:
    await live.auth.create_user()
    token = await live.auth.login(live.auth.http)
    async with connect(live.url(), additional_headers=bearer(token), open_timeout=5) as ws:
        assert json.loads(await ws.recv())["user"] == "alice"
    assert await _refused(live.url(), additional_headers=bearer(token + "x")) == 403
    assert await _refused(live.url(), additional_headers={"authorization": "Basic abc"}) == 403
    assert await _refused(live.url("?ticket=" + "x" * 43), origin=live.origin) == 403
    assert await _refused(live.url(), origin=live.origin) == 403  # a browser without a ticket


async def test_revoking_the_session_closes_its_socket_with_4401(live: Live) -> None:
    await live.auth.create_user()
    phone = await live.auth.client("198.51.100.9")
    phone_token = await live.auth.login(phone)
    laptop_token = await live.auth.login(live.auth.http)
    ticket = await _ticket(live, phone_token)
    async with connect(live.url(f"?ticket={ticket}"), origin=live.origin, open_timeout=5) as ws:  # type: ignore[arg-type]
        await ws.recv()
        sessions = (await live.auth.http.get("/api/auth/sessions", headers=bearer(laptop_token))).json()["sessions"]
        other = next(s["id"] for s in sessions if not s["current"])
        assert (
            await live.auth.http.delete(f"/api/auth/sessions/{other}", headers=bearer(laptop_token))
        ).status_code == 204
        with pytest.raises(ConnectionClosed) as caught:
            await asyncio.wait_for(ws.recv(), 5)
        assert caught.value.rcvd is not None
        assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4401, "session_revoked")
    assert (await phone.get("/api/me", headers=bearer(phone_token))).status_code == 401
