"""Two app instances ("processes") on one PostgreSQL and one broker (in-process hub or Redis):
people connected to different processes chat, see each other's presence and typing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from collabcode.db import Database, open_database
from collabcode.pubsub import Bus
from tests import services
from tests.chat.harness import ChatEnv, Frame, chat_env


def _name(base: str) -> str:
    """A fresh username: with Redis, sign-in rate limits are shared by every run on that server."""
    return f"{base}{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def processes(
    fresh_postgres_url: str, bus_pair: tuple[Bus, Bus], tmp_path: Path
) -> AsyncIterator[tuple[ChatEnv, ChatEnv]]:
    # Presence is shared through Redis when the broker is Redis, through the hub otherwise.
    redis_url = services.REDIS_URL if bus_pair[0].kind == "redis" else None
    # One data directory: both processes use the same instance secrets, as a deployment does.
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


async def test_people_on_different_processes_chat(processes: tuple[ChatEnv, ChatEnv]) -> None:
    one, two = processes
    alice = await one.person(_name("alice"))
    bob = await two.person(_name("bob"))
    cid = await one.open(alice, bob)
    a = await one.socket(alice)
    b = await two.socket(bob)

    await a.wait_type("presence", user_id=bob.id, status="online")
    assert await one.hub.is_online(bob.id)
    await b.send({"type": "presence.set", "state": "away"})
    await a.wait_type("presence", user_id=bob.id, status="away")

    await b.send({"type": "typing", "conversation_id": cid})
    typing = await a.wait_type("typing", conversation_id=cid)
    assert typing["user_id"] == bob.id and typing["expires_in"] == 5.0

    await a.send({"type": "message.send", "conversation_id": cid, "client_id": "x1", "body": "across processes"})
    sent = (await a.wait_type("message.sent", client_id="x1"))["message"]
    got = await b.wait_for(lambda f: f.get("type") == "message" and f["message"]["id"] == sent["id"], "message on two")
    assert got["message"]["body"] == "across processes"

    def receipt(kind: str, seq: int) -> object:
        def match(frame: Frame) -> bool:
            return frame.get("type") == "receipt" and (frame.get(kind) or 0) >= seq

        return match

    await a.wait_for(receipt("delivered_seq", sent["seq"]), "delivered tick from the other process")  # type: ignore[arg-type]
    await b.send({"type": "message.read", "conversation_id": cid, "message_id": sent["id"]})
    await a.wait_for(receipt("read_seq", sent["seq"]), "read tick from the other process")  # type: ignore[arg-type]

    await b.send({"type": "message.send", "conversation_id": cid, "client_id": "y1", "body": "and back"})
    back = await a.wait_for(lambda f: f.get("type") == "message" and f["message"]["body"] == "and back", "reply")
    assert back["message"]["sender_id"] == bob.id

    await b.close()
    await a.wait_type("presence", user_id=bob.id, status="offline")


async def test_the_same_send_on_two_processes_at_once_is_stored_once(processes: tuple[ChatEnv, ChatEnv]) -> None:
    one, two = processes
    alice, bob = await one.person(_name("alice")), await one.person(_name("bob"))
    cid = await one.open(alice, bob)
    url = f"/api/conversations/{cid}/messages"
    for i in range(10):
        body = {"body": f"twice {i}", "client_id": f"dup-{i}"}
        first, second = await asyncio.gather(
            one.call(alice, "POST", url, json=body), two.call(alice, "POST", url, json=body)
        )
        assert sorted((first.status_code, second.status_code)) == [200, 201]
        assert first.json()["id"] == second.json()["id"]
    assert [m["seq"] for m in await one.messages(bob, cid)] == list(range(1, 11))
