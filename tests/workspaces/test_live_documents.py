"""Workspaces and the collaboration socket together, on a real server: roles reach open sockets.

A real ``uvicorn`` server runs the whole app on the ``db`` fixture's database; users are real
accounts; editors connect with the stock y-websocket protocol (a pycrdt client) and a Bearer
token, and the workspace API changes what they may do while they are connected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from collabcode.app import create_app
from collabcode.auth.service import auth_service
from collabcode.collab.protocol import CloseCode
from collabcode.collab.service import collab_service
from collabcode.db import Database
from collabcode.server import build_server
from collabcode.services import Services
from collabcode.settings import Settings
from tests.collab.live import YClient, handshake_status
from tests.fixtures_bus import eventually
from tests.services import free_port
from tests.workspaces.conftest import Env, User

#: Role changes must reach open sockets within this many seconds (the product's promise).
ACCESS_DEADLINE = 5.0


@dataclass
class Live:
    env: Env
    port: int

    def socket_url(self, workspace_id: str, file_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/collab/{workspace_id}/{file_id}"

    async def connect(self, user: User, workspace_id: str, file_id: str) -> YClient:
        client = await YClient(user.username).connect(self.socket_url(workspace_id, file_id), headers=user.headers)
        async with asyncio.timeout(10):
            await client.synced.wait()
        return client


async def wait_content(env: Env, user: User, workspace_id: str, file_id: str, expected: str) -> None:
    """Poll the API until the file reads ``expected`` (edits travel over the socket first)."""
    deadline = time.monotonic() + 10
    while (text := await env.content(user, workspace_id, file_id)) != expected:
        assert time.monotonic() < deadline, f"the API still reads {text!r}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def live(db: Database, tmp_path: Path) -> AsyncIterator[Live]:
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        host="127.0.0.1",
        port=port,
        log_format="json",
        bcrypt_rounds=4,
        shutdown_timeout=5.0,
    )
    app = create_app(settings, db=db)
    server = build_server(app, settings)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), timeout=10.0, what="server start")
        assert server.started, "the server did not start"
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            services: Services = app.state.services
            yield Live(Env(http, services), port)
    finally:
        server.should_exit = True
        async with asyncio.timeout(15):
            await task


async def test_a_new_member_edits_live_and_the_api_sees_it(live: Live) -> None:
    env = live.env
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    file_id = (await env.create(alice, workspace_id, "main.py", content="print(1)\n"))["id"]
    # Not a member yet: the handshake is refused before it is accepted.
    assert await handshake_status(live.socket_url(workspace_id, file_id), bob.headers) == 403
    await env.add(alice, workspace_id, bob, "editor")

    client = await live.connect(bob, workspace_id, file_id)
    assert str(client.text) == "print(1)\n"
    client.type("print(2)\n")
    await wait_content(env, alice, workspace_id, file_id, "print(1)\nprint(2)\n")

    # An upload through the API reaches the open editor as one change.
    await env.call(
        alice,
        "PUT",
        f"/api/workspaces/{workspace_id}/files/{file_id}/content",
        content=b"print('replaced')\n",
        headers={"content-type": "text/plain; charset=utf-8"},
        expect=200,
    )
    await client.wait_text("print('replaced')\n")

    # Renaming keeps the document: the socket stays open and edits keep landing.
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file_id}", json={"path": "src/app.py"}, expect=200
    )
    client.type("# more\n")
    await client.wait_text("print('replaced')\n# more\n")
    assert not client.closed.is_set()
    await wait_content(env, alice, workspace_id, file_id, "print('replaced')\n# more\n")
    await client.close()


async def test_demotion_and_removal_reach_open_sockets(live: Live) -> None:
    env = live.env
    alice, bob, carol = await env.user("alice"), await env.user("bob"), await env.user("carol")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    await env.add(alice, workspace_id, carol, "editor")
    file_id = (await env.create(alice, workspace_id, "notes.md", content="# notes\n"))["id"]
    members = f"/api/workspaces/{workspace_id}/members"

    bob_socket = await live.connect(bob, workspace_id, file_id)
    carol_socket = await live.connect(carol, workspace_id, file_id)

    # Carol becomes a viewer: her next edit is refused with 1008 read_only.
    started = time.monotonic()
    await env.call(alice, "PATCH", f"{members}/{carol.id}", json={"role": "viewer"}, expect=200)
    hub = collab_service(env.services).hub
    await eventually(
        lambda: not any(c.can_write for c in hub._open if c.user_id == carol.id),
        timeout=ACCESS_DEADLINE,
        what="carol's socket re-checked",
    )
    carol_socket.type("sneaky edit")
    code, reason = await carol_socket.wait_closed(ACCESS_DEADLINE)
    assert (code, reason) == (CloseCode.POLICY_VIOLATION, "read_only")
    assert time.monotonic() - started < ACCESS_DEADLINE

    # Bob is removed: his socket is closed with 1008 access_revoked.
    started = time.monotonic()
    await env.call(alice, "DELETE", f"{members}/{bob.id}", expect=204)
    code, reason = await bob_socket.wait_closed(ACCESS_DEADLINE)
    assert (code, reason) == (CloseCode.POLICY_VIOLATION, "access_revoked")
    assert time.monotonic() - started < ACCESS_DEADLINE
    assert await env.content(alice, workspace_id, file_id) == "# notes\n"

    # A viewer may still open the document to read it, but not write.
    viewer = await live.connect(carol, workspace_id, file_id)
    assert str(viewer.text) == "# notes\n"
    await viewer.close()


async def test_deleting_the_file_or_workspace_closes_its_sockets(live: Live) -> None:
    env = live.env
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    await env.add(alice, workspace_id, bob, "editor")
    first = (await env.create(alice, workspace_id, "a.txt", content="a"))["id"]
    second = (await env.create(alice, workspace_id, "dir/b.txt", content="b"))["id"]
    on_first = await live.connect(bob, workspace_id, first)
    on_second = await live.connect(bob, workspace_id, second)

    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/files/{first}", expect=204)
    assert (await on_first.wait_closed(ACCESS_DEADLINE))[1] == "access_revoked"
    assert not on_second.closed.is_set()
    assert await handshake_status(live.socket_url(workspace_id, first), bob.headers) == 403

    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}", expect=204)
    assert (await on_second.wait_closed(ACCESS_DEADLINE))[1] == "access_revoked"


async def test_a_file_id_under_another_workspace_is_refused(live: Live) -> None:
    env = live.env
    alice, dave = await env.user("alice"), await env.user("dave")
    a = await env.workspace(alice, "A")
    d = await env.workspace(dave, "D")
    a_file = (await env.create(alice, a, "secret.txt", content="A only"))["id"]
    # Dave owns D; A's file id addressed under D is no document he may open.
    assert await handshake_status(live.socket_url(d, a_file), dave.headers) == 403
    assert await handshake_status(live.socket_url(a, a_file), dave.headers) == 403
    # A disabled account cannot connect either.
    await auth_service(env.services).update_user(alice.id, disabled=True)
    assert await handshake_status(live.socket_url(a, a_file), alice.headers) == 403
