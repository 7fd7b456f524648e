"""Two app instances ("processes") on one PostgreSQL and one broker (in-process hub or Redis): the
follow frame, presence and what a person is editing reach a viewer served by the other process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from collabcode.db import Database, open_database
from collabcode.pubsub import Bus
from collabcode.social import activity as live_activity
from tests import services
from tests.chat.harness import ChatEnv, Person, chat_env
from tests.collab.live import YClient
from tests.social.conftest import create_file, dashboard, workspace


def _name(base: str) -> str:
    """A fresh username: with Redis, sign-in rate limits are shared by every run on that server."""
    return f"{base}{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def processes(
    fresh_postgres_url: str, bus_pair: tuple[Bus, Bus], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ChatEnv, ChatEnv]]:
    monkeypatch.setattr(live_activity, "SCAN_SECONDS", 0.2)
    redis_url = services.REDIS_URL if bus_pair[0].kind == "redis" else None
    async with AsyncExitStack() as stack:
        envs = []
        people: dict[str, object] = {}
        for bus in bus_pair:
            database: Database = open_database(fresh_postgres_url, pool_size=5)
            await database.connect()
            stack.push_async_callback(database.close)
            env = await stack.enter_async_context(
                chat_env(database, tmp_path / "data", live=True, bus=bus, people=people, redis_url=redis_url)  # type: ignore[arg-type]
            )
            envs.append(env)
        yield envs[0], envs[1]


async def _entry(env: ChatEnv, viewer: Person, person: Person) -> dict[str, Any]:
    board = await dashboard(env, viewer)
    entry: dict[str, Any] = next(f for f in board["following"] if f["id"] == person.id)
    return entry


async def test_followed_person_on_another_process(processes: tuple[ChatEnv, ChatEnv]) -> None:
    one, two = processes
    alice = await one.person(_name("alice"))
    bob = await two.person(_name("bob"))
    team = await workspace(one, alice, "Team", [(bob, "editor")])
    app = await create_file(one, alice, team, "app.py")

    bob_events = await two.socket(bob)
    await one.call(alice, "POST", f"/api/users/{bob.username}/follow", expect=200)
    follow = await bob_events.wait_type("follow")
    assert follow["user"]["id"] == alice.id

    editing = await YClient("bob").connect(f"ws://127.0.0.1:{two.port}/ws/collab/{team}/{app}", headers=bob.headers)
    await editing.wait_synced()
    expected = {"workspace_id": team, "workspace_name": "Team", "file_id": app, "path": "app.py"}
    deadline = time.monotonic() + 15
    while (entry := await _entry(one, alice, bob))["activity"] != expected:
        assert time.monotonic() < deadline, entry
        await asyncio.sleep(0.1)
    assert entry["presence"]["status"] == "online"

    alice_events = await one.socket(alice)
    await editing.close()
    await bob_events.close()
    await alice_events.wait_type("presence", user_id=bob.id, status="offline", timeout=30)
    entry = await _entry(one, alice, bob)
    assert entry["presence"]["status"] == "offline" and entry["activity"] is None
