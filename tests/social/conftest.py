"""Social tests run the real app on the ``db`` fixture (SQLite and PostgreSQL), through the chat
harness (real accounts, Bearer tokens, an in-process client, and a live server for sockets)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from collabcode.clock import FakeClock
from collabcode.db import Database
from tests.chat.harness import ChatEnv, Person, chat_env


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def env(db: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[ChatEnv]:
    """HTTP only, on a fake clock."""
    async with chat_env(db, tmp_path / "data", clock=clock) as running:
        yield running


@pytest.fixture
async def live(db: Database, tmp_path: Path) -> AsyncIterator[ChatEnv]:
    """HTTP plus a live server for ``/ws/events`` and ``/ws/collab``, on the real clock."""
    async with chat_env(db, tmp_path / "data", live=True) as running:
        yield running


async def workspace(
    env: ChatEnv, owner: Person, name: str = "Project", members: list[tuple[Person, str]] | None = None
) -> str:
    response = await env.call(owner, "POST", "/api/workspaces", json={"name": name}, expect=201)
    workspace_id = str(response.json()["id"])
    for member, role in members or []:
        await env.call(
            owner,
            "POST",
            f"/api/workspaces/{workspace_id}/members",
            json={"username": member.username, "role": role},
            expect=201,
        )
    return workspace_id


async def create_file(env: ChatEnv, person: Person, workspace_id: str, path: str) -> str:
    response = await env.call(
        person, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": path, "kind": "file"}, expect=201
    )
    return str(response.json()["id"])


async def profile(env: ChatEnv, viewer: Person, username: str, expect: int = 200) -> dict[str, Any]:
    response = await env.call(viewer, "GET", f"/api/users/{username}", expect=expect)
    body: dict[str, Any] = response.json()
    return body


async def dashboard(env: ChatEnv, viewer: Person) -> dict[str, Any]:
    body: dict[str, Any] = (await env.call(viewer, "GET", "/api/dashboard", expect=200)).json()
    return body


async def online(env: ChatEnv, person: Person, socket_id: str = "s1") -> None:
    """Register an events socket for ``person`` the way ``/ws/events`` does (HTTP-only tests)."""
    await env.hub.presence.socket_update(person.id, socket_id, "online")
