"""Fetching the conversation list delivers the other person's last message (two ticks)."""

from __future__ import annotations

import asyncio

from tests.chat.harness import ChatEnv, eventually_async


async def test_the_conversation_list_marks_the_last_message_delivered(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    await env.send(alice, cid, "first")
    await env.send(alice, cid, "second")
    assert [m["status"] for m in await env.messages(alice, cid)] == ["sent", "sent"]
    # Alice listing her own conversations delivers nothing of hers.
    await env.call(alice, "GET", "/api/conversations", expect=200)
    await env.call(alice, "GET", f"/api/conversations/{cid}", expect=200)
    listed = await env.call(bob, "GET", "/api/conversations", expect=200)
    assert listed.json()["conversations"][0]["last_message"]["body"] == "second"

    async def delivered() -> bool:
        return [m["status"] for m in await env.messages(alice, cid)] == ["delivered", "delivered"]

    await eventually_async(delivered, "both messages delivered by bob's list")


async def test_a_single_conversation_fetch_delivers_too_but_a_deleted_last_message_does_not(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    kept = await env.send(alice, cid, "kept")
    gone = await env.send(alice, cid, "gone")
    await env.call(alice, "DELETE", f"/api/conversations/{cid}/messages/{gone['id']}", expect=200)
    await env.call(bob, "GET", "/api/conversations", expect=200)
    await env.call(bob, "GET", f"/api/conversations/{cid}", expect=200)
    await asyncio.sleep(0.3)  # deliveries are recorded in batches about 20 ms apart
    assert [m["status"] for m in await env.messages(alice, cid)] == ["sent", "sent"]
    third = await env.send(alice, cid, "third")
    await env.call(bob, "GET", f"/api/conversations/{cid}", expect=200)

    async def delivered() -> bool:
        statuses = {m["id"]: m["status"] for m in await env.messages(alice, cid)}
        return statuses[third["id"]] == "delivered" and statuses[kept["id"]] == "delivered"

    await eventually_async(delivered, "the fetched conversation's last message delivered")
