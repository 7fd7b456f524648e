"""Conversations over HTTP: one per pair, listing with last message, unread count and presence."""

from __future__ import annotations

import asyncio

from tests.chat.harness import ChatEnv


async def test_opening_is_idempotent_and_the_same_for_both_sides(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    first = await env.call(alice, "POST", "/api/conversations", json={"username": "bob"}, expect=201)
    again = await env.call(alice, "POST", "/api/conversations", json={"username": "BOB"}, expect=200)
    other_side = await env.call(bob, "POST", "/api/conversations", json={"username": "alice"}, expect=200)
    assert first.json()["id"] == again.json()["id"] == other_side.json()["id"]
    assert first.json()["peer"] == {
        "id": bob.id,
        "username": "bob",
        "display_name": "Bob",
        "avatar_color": first.json()["peer"]["avatar_color"],
    }


async def test_concurrent_opens_make_one_conversation(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    results = await asyncio.gather(
        *(
            env.call(
                alice if i % 2 else bob, "POST", "/api/conversations", json={"username": "bob" if i % 2 else "alice"}
            )
            for i in range(8)
        )
    )
    assert {r.status_code for r in results} <= {200, 201}
    assert len({r.json()["id"] for r in results}) == 1
    assert sum(r.status_code == 201 for r in results) == 1


async def test_unknown_people_and_yourself(env: ChatEnv) -> None:
    alice = await env.person("alice")
    missing = await env.call(alice, "POST", "/api/conversations", json={"username": "nobody"}, expect=404)
    assert missing.json()["error"]["code"] == "not_found"
    own = await env.call(alice, "POST", "/api/conversations", json={"username": "alice"}, expect=422)
    assert own.json()["error"]["code"] == "cannot_message_self"
    await env.call(alice, "POST", "/api/conversations", json={"username": "no spaces"}, expect=422)
    await env.call(None, "POST", "/api/conversations", json={"username": "alice"}, expect=401)


async def test_list_shows_last_message_unread_count_and_receipts(env: ChatEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    with_bob = await env.open(alice, bob)
    with_carol = await env.open(carol, alice)
    await env.send(alice, with_bob, "hi bob")
    env.clock.advance(1)
    await env.send(carol, with_carol, "hi alice")
    second = await env.send(carol, with_carol, "are you there?")

    listing = (await env.call(alice, "GET", "/api/conversations", expect=200)).json()
    assert listing["cursor"] >= 3
    conversations = listing["conversations"]
    assert [c["id"] for c in conversations] == [with_carol, with_bob]  # newest activity first
    from_carol = conversations[0]
    assert from_carol["unread_count"] == 2
    assert from_carol["last_message"]["body"] == "are you there?"
    assert from_carol["last_message"]["status"] is None  # not alice's message: no ticks
    assert "client_id" not in from_carol["last_message"]
    assert from_carol["presence"] == {"status": "offline", "last_seen_at": None}
    assert from_carol["blocked"] is False
    to_bob = conversations[1]
    assert to_bob["unread_count"] == 0
    assert to_bob["last_message"]["status"] == "sent"

    read = await env.call(
        alice, "POST", f"/api/conversations/{with_carol}/read", json={"message_id": second["id"]}, expect=200
    )
    assert read.json() == {"conversation_id": with_carol, "read_seq": 2, "unread_count": 0}
    carol_view = (await env.call(carol, "GET", f"/api/conversations/{with_carol}", expect=200)).json()
    assert carol_view["peer_read_seq"] == 2
    assert carol_view["last_message"]["status"] == "read"


async def test_a_conversation_appears_for_the_other_side_with_its_first_message(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    assert [c["id"] for c in (await env.call(alice, "GET", "/api/conversations")).json()["conversations"]] == [cid]
    assert (await env.call(bob, "GET", "/api/conversations")).json()["conversations"] == []
    await env.send(alice, cid, "hello")
    assert [c["id"] for c in (await env.call(bob, "GET", "/api/conversations")).json()["conversations"]] == [cid]
