"""Blocking: neither side can message the other, and neither sees the other's presence."""

from __future__ import annotations

from tests.chat.harness import ChatEnv


async def test_blocked_people_cannot_message_either_way(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    old = await env.send(bob, cid, "before the block")
    await env.call(alice, "POST", "/api/users/bob/block", expect=204)
    await env.call(alice, "POST", "/api/users/bob/block", expect=204)  # idempotent
    url = f"/api/conversations/{cid}/messages"
    for sender in (bob, alice):
        refused = await env.call(sender, "POST", url, json={"body": "hello?", "client_id": "b1"}, expect=403)
        assert refused.json()["error"]["code"] == "blocked"
    edit = await env.call(bob, "PATCH", f"{url}/{old['id']}", json={"body": "changed"}, expect=403)
    assert edit.json()["error"]["code"] == "blocked"
    reopen = await env.call(bob, "POST", "/api/conversations", json={"username": "alice"}, expect=403)
    assert reopen.json()["error"]["code"] == "blocked"
    # The conversation stays readable for both.
    assert [m["body"] for m in await env.messages(bob, cid)] == ["before the block"]
    listing = (await env.call(alice, "GET", "/api/conversations", expect=200)).json()["conversations"]
    assert listing[0]["blocked"] is True and listing[0]["presence"] is None
    assert (await env.call(bob, "GET", f"/api/conversations/{cid}")).json()["presence"] is None
    assert await env.hub.presence.presence_audience(alice.id) == set()
    assert await env.hub.presence.presence_audience(bob.id) == set()

    blocks = (await env.call(alice, "GET", "/api/blocks", expect=200)).json()["blocks"]
    assert [b["username"] for b in blocks] == ["bob"] and blocks[0]["blocked_at"]
    assert (await env.call(bob, "GET", "/api/blocks")).json()["blocks"] == []

    await env.call(alice, "DELETE", "/api/users/bob/block", expect=204)
    assert (await env.send(bob, cid, "thanks"))["seq"] == 2
    assert await env.hub.presence.presence_audience(alice.id) == {bob.id}


async def test_block_targets(env: ChatEnv) -> None:
    alice = await env.person("alice")
    assert (await env.call(alice, "POST", "/api/users/alice/block", expect=422)).json()["error"][
        "code"
    ] == "cannot_block_self"
    await env.call(alice, "POST", "/api/users/nobody/block", expect=404)
    await env.call(alice, "POST", "/api/users/..%2f/block", expect=404)
    await env.call(alice, "DELETE", "/api/users/nobody/block", expect=404)
