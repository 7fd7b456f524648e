"""Two app instances ("processes") on one PostgreSQL and one broker: a call between people on
different processes rings, is answered, relays signaling and hangs up across them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from collabcode.calls.service import calls_service
from collabcode.db import Database, open_database
from collabcode.pubsub import Bus
from tests import services
from tests.calls.harness import CallEnv, call_env

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def _name(base: str) -> str:
    return f"{base}{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def processes(
    fresh_postgres_url: str, bus_pair: tuple[Bus, Bus], tmp_path: Path
) -> AsyncIterator[tuple[CallEnv, CallEnv]]:
    redis_url = services.REDIS_URL if bus_pair[0].kind == "redis" else None
    async with AsyncExitStack() as stack:
        envs = []
        people: dict[str, object] = {}
        for bus in bus_pair:
            database: Database = open_database(fresh_postgres_url, pool_size=5)
            await database.connect()
            stack.push_async_callback(database.close)
            env = await stack.enter_async_context(
                call_env(database, tmp_path / "data", bus=bus, people=people, redis_url=redis_url)
            )
            envs.append(env)
        yield envs[0], envs[1]


async def test_a_call_across_processes(processes: tuple[CallEnv, CallEnv]) -> None:
    one, two = processes
    alice = await one.person(_name("alice"))
    bob = await two.person(_name("bob"))
    await one.open(alice, bob)
    a_ws = await one.socket(alice)
    b_ws = await two.socket(bob)

    call = await one.start(alice, bob)
    assert (await b_ws.wait_type("call.ringing"))["call"]["id"] == call["id"]
    await two.act(bob, call["id"], "accept")
    await a_ws.wait_for(lambda f: f.get("type") == "call.updated" and f["call"]["state"] == "active", "answered")

    await a_ws.send({"type": "rtc.offer", "call_id": call["id"], "to": bob.id, "sdp": SDP})
    assert (await b_ws.wait_type("rtc.offer"))["from"] == alice.id
    await b_ws.send({"type": "rtc.answer", "call_id": call["id"], "to": alice.id, "sdp": SDP})
    assert (await a_ws.wait_type("rtc.answer"))["from"] == bob.id

    # Bob's process sees Alice online (through the shared presence), so its timeout check keeps the call.
    await calls_service(two.services).tick()
    assert (await two.get(bob, call["id"]))["state"] == "active"
    await b_ws.send({"type": "call.end", "ref": "bye", "call_id": call["id"]})
    await b_ws.wait_type("ack", ref="bye")
    assert (await a_ws.wait_type("call.ended"))["call"]["end_reason"] == "hangup"
