"""Presence stores (memory and Redis, one contract) and presence as people see it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from collabcode.clock import FakeClock
from collabcode.realtime.presence import FallbackPresence, MemoryPresence, PresenceStore, RedisPresence
from tests import services
from tests.chat.harness import ChatEnv


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def presence_store(request: pytest.FixtureRequest) -> AsyncIterator[PresenceStore]:
    store: PresenceStore
    if request.param == "memory":
        store = MemoryPresence(ttl=60)
    else:
        store = RedisPresence(services.require_redis(), key_prefix=f"test-{uuid.uuid4().hex[:10]}:", ttl=60)
    try:
        yield store
    finally:
        await store.close()


async def test_status_counts_every_socket(presence_store: PresenceStore) -> None:
    now = 1_000.0
    user = uuid.uuid4().hex
    first = await presence_store.update(user, "tab1", "online", now)
    assert (first.before, first.after) == ("offline", "online")
    second = await presence_store.update(user, "tab2", "away", now)
    assert (second.before, second.after) == ("online", "online")
    hidden = await presence_store.update(user, "tab1", "away", now)
    assert (hidden.before, hidden.after) == ("online", "away")
    assert await presence_store.status([user, "nobody"], now) == {user: "away", "nobody": "offline"}
    await presence_store.update(user, "tab1", None, now)
    last = await presence_store.update(user, "tab2", None, now)
    assert (last.before, last.after) == ("away", "offline")


async def test_sockets_that_stop_renewing_expire(presence_store: PresenceStore) -> None:
    user, other = uuid.uuid4().hex, uuid.uuid4().hex
    await presence_store.update(user, "dead-process-tab", "online", 1_000.0)
    await presence_store.update(other, "tab", "online", 1_000.0)
    await presence_store.update(other, "tab", "online", 1_050.0)  # renewed by its heartbeat
    assert await presence_store.sweep(1_030.0) == []
    assert (await presence_store.status([user], 1_059.0))[user] == "online"
    assert (await presence_store.status([user], 1_061.0))[user] == "offline"
    changes = await presence_store.sweep(1_061.0)
    assert [(c.user_id, c.before, c.after) for c in changes] == [(user, "online", "offline")]
    assert await presence_store.sweep(1_062.0) == []
    assert (await presence_store.status([other], 1_061.0))[other] == "online"


async def test_the_redis_store_keeps_working_in_memory_while_redis_is_down() -> None:
    clock = FakeClock()
    broken = RedisPresence("redis://127.0.0.1:1/0")  # nothing listens there
    store = FallbackPresence(broken, clock)
    try:
        change = await store.update("u1", "s1", "online", clock.now())
        assert (change.before, change.after) == ("offline", "online")
        assert store.degraded
        assert await store.status(["u1"], clock.now()) == {"u1": "online"}
    finally:
        await store.close()


async def test_people_in_a_conversation_see_each_other_come_and_go(live: ChatEnv) -> None:
    alice, bob, carol = await live.person("alice"), await live.person("bob"), await live.person("carol")
    await live.open(alice, bob)
    a = await live.socket(alice)
    c = await live.socket(carol)
    snapshot = a.of_type("presence.snapshot")[0]
    assert snapshot["users"] == [{"user_id": bob.id, "status": "offline", "last_seen_at": None}]
    assert c.of_type("presence.snapshot")[0]["users"] == []

    b = await live.socket(bob)
    await a.wait_type("presence", user_id=bob.id, status="online")
    assert await live.hub.is_online(bob.id)
    await b.send({"type": "presence.set", "state": "away"})
    await a.wait_type("presence", user_id=bob.id, status="away")
    second_tab = await live.socket(bob)
    await a.wait_type("presence", user_id=bob.id, status="online")
    await second_tab.close()
    await a.wait_type("presence", user_id=bob.id, status="away")
    await b.close()
    offline = await a.wait_type("presence", user_id=bob.id, status="offline")
    assert offline["last_seen_at"] is not None
    assert not await live.hub.is_online(bob.id)
    assert [f for f in c.frames if f.get("type") == "presence"] == []  # carol shares no conversation

    listing = (await live.call(alice, "GET", "/api/conversations")).json()["conversations"]
    assert listing[0]["presence"]["status"] == "offline" and listing[0]["presence"]["last_seen_at"] is not None


async def test_invisible_people_appear_offline(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    a = await live.socket(alice)
    await live.socket(bob)
    await a.wait_type("presence", user_id=bob.id, status="online")
    settings = await live.call(bob, "PATCH", "/api/me/privacy", json={"invisible": True}, expect=200)
    assert settings.json()["invisible"] is True
    hidden = await a.wait_type("presence", user_id=bob.id, status="offline")
    assert hidden["last_seen_at"] is None
    assert (await live.call(alice, "GET", f"/api/conversations/{cid}")).json()["presence"] == {
        "status": "offline",
        "last_seen_at": None,
    }
    assert await live.hub.is_online(bob.id)  # the server still knows, for delivery
    await live.call(bob, "PATCH", "/api/me/privacy", json={"invisible": False}, expect=200)
    await a.wait_type("presence", user_id=bob.id, status="online")


async def test_a_block_hides_presence_at_once(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    await live.open(alice, bob)
    a, b = await live.socket(alice), await live.socket(bob)
    await a.wait_type("presence", user_id=bob.id, status="online")
    await live.call(bob, "POST", "/api/users/alice/block", expect=204)
    await a.wait_type("presence", user_id=bob.id, status="offline")
    await b.wait_type("presence", user_id=alice.id, status="offline")
    await b.send({"type": "presence.set", "state": "away"})
    await b.send({"type": "ping", "ref": "p"})
    await b.wait_type("pong", ref="p")
    again = await live.socket(alice)
    assert again.of_type("presence.snapshot")[0]["users"] == []
    assert [f for f in a.frames if f.get("type") == "presence" and f.get("status") == "away"] == []
