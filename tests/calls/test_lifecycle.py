"""Call lifecycle on a fake clock: ring, answer, hang up, ring out, busy, decline, cancel, races."""

from __future__ import annotations

import asyncio

from tests.calls.harness import CallEnv, states


async def test_ring_answer_and_hang_up(env: CallEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    a_ws, b_ws = await env.socket(alice), await env.socket(bob)

    call = await env.start(alice, bob)
    assert call["state"] == "ringing" and call["media"] == "video" and call["kind"] == "direct"
    assert call["conversation_id"] == cid and call["caller"]["username"] == "alice"
    assert states(call) == {"alice": "joined", "bob": "ringing"}
    ringing = await b_ws.wait_type("call.ringing")
    assert ringing["call"]["id"] == call["id"]

    live = (await env.call(bob, "GET", "/api/calls?state=live", expect=200)).json()["calls"]
    assert [c["id"] for c in live] == [call["id"]]
    answered = await env.act(bob, call["id"], "accept")
    assert answered["state"] == "active" and answered["answered_at"]
    assert states(answered) == {"alice": "joined", "bob": "joined"}
    updated = await a_ws.wait_for(
        lambda f: f.get("type") == "call.updated" and f["call"]["state"] == "active", "active call"
    )
    assert updated["call"]["id"] == call["id"]
    assert (await env.act(bob, call["id"], "accept"))["state"] == "active"  # idempotent

    env.clock.advance(30)
    ended = await env.act(alice, call["id"], "end")
    assert ended["state"] == "ended" and ended["end_reason"] == "hangup" and ended["ended_at"]
    for ws in (a_ws, b_ws):
        frame = await ws.wait_type("call.ended")
        assert frame["call"]["end_reason"] == "hangup"
    await env.act(bob, call["id"], "end", expect=409)

    live = (await env.call(bob, "GET", "/api/calls?state=live", expect=200)).json()["calls"]
    assert live == []
    await env.call(bob, "GET", "/api/calls?state=ended", expect=422)
    for person in (alice, bob):
        history = (await env.call(person, "GET", "/api/calls", expect=200)).json()
        assert [c["id"] for c in history["calls"]] == [call["id"]] and history["has_more"] is False
    # The call is over: a new one may start.
    again = await env.start(bob, alice)
    assert again["id"] != call["id"]


async def test_ring_timeout_is_a_missed_call_in_the_conversation(env: CallEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    a_ws, b_ws = await env.socket(alice), await env.socket(bob)
    call = await env.start(alice, bob, media="audio")

    await env.tick(44)
    assert (await env.get(bob, call["id"]))["state"] == "ringing"
    await env.tick(2)
    missed = await env.get(bob, call["id"])
    assert missed["state"] == "ended" and missed["end_reason"] == "missed"
    assert states(missed) == {"alice": "left", "bob": "missed"}
    for ws in (a_ws, b_ws):
        frame = await ws.wait_type("call.ended")
        assert frame["call"]["end_reason"] == "missed" and frame["call"]["conversation_id"] == cid
    # A durable missed-call frame for bob, replayed to a socket that reconnects from before it.
    marker = await b_ws.wait_type("call.missed")
    assert marker["call"]["id"] == call["id"] and isinstance(marker["cursor"], int)
    assert not a_ws.of_type("call.missed")
    again = await env.socket(bob, cursor=marker["cursor"] - 1)
    replayed = await again.wait_type("call.missed")
    assert replayed == marker
    # The chat shows it: the conversation's call history.
    listed = (await env.call(bob, "GET", f"/api/calls?conversation_id={cid}", expect=200)).json()["calls"]
    assert [(c["id"], c["end_reason"]) for c in listed] == [(call["id"], "missed")]
    await env.act(bob, call["id"], "accept", expect=409)


async def test_busy_and_already_in_a_call(env: CallEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    await env.open(alice, bob)
    await env.open(carol, bob)
    await env.open(carol, alice)
    for person in (alice, bob, carol):
        await env.socket(person)
    call = await env.start(alice, bob)
    await env.act(bob, call["id"], "accept")

    assert (await env.start(carol, bob, expect=409))["error"]["code"] == "busy"
    assert (await env.start(carol, alice, expect=409))["error"]["code"] == "busy"
    assert (await env.start(alice, carol, expect=409))["error"]["code"] == "already_in_call"
    # Ringing someone makes the caller busy too.
    await env.act(alice, call["id"], "end")
    ringing = await env.start(carol, alice)
    assert (await env.start(bob, carol, expect=409))["error"]["code"] == "busy"
    await env.act(carol, ringing["id"], "cancel")
    assert (await env.start(bob, carol))["state"] == "ringing"


async def test_decline_and_cancel(env: CallEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await env.open(alice, bob)
    a_ws = await env.socket(alice)
    b_ws = await env.socket(bob)

    call = await env.start(alice, bob)
    assert (await env.act(alice, call["id"], "decline", expect=409))["error"]["code"] == "not_ringing"
    declined = await env.act(bob, call["id"], "decline")
    assert declined["state"] == "ended" and declined["end_reason"] == "declined"
    assert states(declined)["bob"] == "declined"
    assert (await a_ws.wait_type("call.ended"))["call"]["end_reason"] == "declined"
    assert not b_ws.of_type("call.missed")  # declining is not missing

    call = await env.start(alice, bob)
    assert (await env.act(bob, call["id"], "cancel", expect=403))["error"]["code"] == "not_caller"
    cancelled = await env.act(alice, call["id"], "cancel")
    assert cancelled["state"] == "ended" and cancelled["end_reason"] == "cancelled"
    assert states(cancelled) == {"alice": "left", "bob": "missed"}
    assert (await b_ws.wait_type("call.missed"))["call"]["id"] == call["id"]

    call = await env.start(alice, bob)
    await env.act(bob, call["id"], "accept")
    assert (await env.act(alice, call["id"], "cancel", expect=409))["error"]["code"] == "not_ringing"
    # The caller hanging up a call nobody answered yet is a cancel.
    await env.act(alice, call["id"], "end")
    call = await env.start(alice, bob)
    assert (await env.act(alice, call["id"], "end"))["end_reason"] == "cancelled"


async def test_calling_each_other_at_once_is_one_call(env: CallEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await env.open(alice, bob)
    await env.socket(alice)
    await env.socket(bob)

    first = await env.start(alice, bob)
    second = await env.start(bob, alice, expect=200)
    assert second["id"] == first["id"] and second["state"] == "active"
    assert states(second) == {"alice": "joined", "bob": "joined"}
    assert (await env.start(alice, bob, expect=200))["id"] == first["id"]  # already in it
    await env.act(alice, first["id"], "end")

    # Truly at the same moment: both requests race; there is still exactly one call, answered.
    for _ in range(3):
        a, b = await asyncio.gather(
            env.call(alice, "POST", "/api/calls", json={"callee": "bob", "media": "audio"}),
            env.call(bob, "POST", "/api/calls", json={"callee": "alice", "media": "audio"}),
        )
        assert sorted([a.status_code, b.status_code]) == [200, 201], (a.text, b.text)
        assert a.json()["id"] == b.json()["id"]
        final = await env.get(alice, a.json()["id"])
        assert final["state"] == "active"
        await env.act(bob, final["id"], "end")


async def test_hang_up_when_the_last_socket_goes_and_survive_a_reconnect(env: CallEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await env.open(alice, bob)
    a_ws = await env.socket(alice)
    b_ws = await env.socket(bob)
    call = await env.start(alice, bob)
    await env.act(bob, call["id"], "accept")

    # A network blip: bob's socket drops and comes back within the grace period.
    await b_ws.close()
    await env.wait_offline(bob)
    await env.tick()
    await env.tick(15)
    b_ws = await env.socket(bob)
    await env.tick()
    await env.tick(30)
    assert (await env.get(alice, call["id"]))["state"] == "active"

    # The tab closes for good: after the grace period bob leaves and the call ends.
    await b_ws.close()
    await env.wait_offline(bob)
    await env.tick()
    await env.tick(19)
    assert (await env.get(alice, call["id"]))["state"] == "active"
    await env.tick(2)
    ended = await env.get(alice, call["id"])
    assert ended["state"] == "ended" and ended["end_reason"] == "connection_lost"
    assert (await a_ws.wait_type("call.ended"))["call"]["id"] == call["id"]


async def test_history_pages_newest_first(env: CallEnv) -> None:
    from datetime import datetime

    alice, bob = await env.person("alice"), await env.person("bob")
    await env.open(alice, bob)
    made = []
    for _ in range(3):
        call = await env.start(alice, bob, media="audio")
        await env.act(alice, call["id"], "cancel")
        made.append(call["id"])
        env.clock.advance(1)
    page = (await env.call(bob, "GET", "/api/calls?limit=2", expect=200)).json()
    assert [c["id"] for c in page["calls"]] == made[:0:-1] and page["has_more"] is True
    oldest_shown = datetime.fromisoformat(page["calls"][-1]["started_at"].replace("Z", "+00:00"))
    before = int(oldest_shown.timestamp() * 1000)
    rest = (await env.call(bob, "GET", f"/api/calls?limit=2&before={before}", expect=200)).json()
    assert [c["id"] for c in rest["calls"]] == made[:1] and rest["has_more"] is False
