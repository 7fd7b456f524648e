"""Who may call whom, who may see a call, and workspace calls (mesh of at most four)."""

from __future__ import annotations

import logging

import pytest

from tests.calls.harness import CallEnv, states


async def test_only_connected_people_without_blocks_can_call(env: CallEnv) -> None:
    alice, bob, mallory = await env.person("alice"), await env.person("bob"), await env.person("mallory")
    await env.call(None, "POST", "/api/calls", json={"callee": "bob", "media": "video"}, expect=401)

    # Strangers: no conversation, no workspace in common.
    assert (await env.start(mallory, alice, expect=403))["error"]["code"] == "not_connected"
    assert (await env.start(alice, mallory, expect=403))["error"]["code"] == "not_connected"
    assert (await env.start(alice, alice, expect=422))["error"]["code"] == "cannot_call_self"
    await env.call(alice, "POST", "/api/calls", json={"callee": "nobody", "media": "video"}, expect=404)
    for bad in (
        {"callee": "bob"},
        {"callee": "bob", "media": "screen"},
        {"media": "audio"},
        {"callee": "bob", "workspace_id": "0" * 32, "media": "audio"},
        {"callee": "bob", "media": "audio", "caller": "mallory"},
    ):
        await env.call(alice, "POST", "/api/calls", json=bad, expect=422)

    # A workspace in common is enough.
    await env.workspace(alice, mallory)
    call = await env.start(mallory, alice)
    await env.act(mallory, call["id"], "cancel")

    # A block either way stops calls both ways.
    cid = await env.open(alice, bob)
    await env.call(bob, "POST", "/api/users/alice/block", expect=204)
    for caller, callee in ((alice, bob), (bob, alice)):
        assert (await env.start(caller, callee, expect=403))["error"]["code"] == "blocked"
    await env.call(bob, "DELETE", "/api/users/alice/block", expect=204)
    assert (await env.start(alice, bob, conversation_id=cid))["conversation_id"] == cid
    # A conversation the two are not both in is not theirs to name.
    other = await env.open(alice, mallory)
    body = {"callee": "mallory", "media": "audio", "conversation_id": other}
    await env.call(bob, "POST", "/api/calls", json=body, expect=404)


async def test_strangers_cannot_see_or_touch_a_call(env: CallEnv, caplog: pytest.LogCaptureFixture) -> None:
    alice, bob, eve = await env.person("alice"), await env.person("bob"), await env.person("eve")
    await env.open(alice, bob)
    call = await env.start(alice, bob)
    url = f"/api/calls/{call['id']}"
    missing = "0123456789abcdef" * 2
    with caplog.at_level(logging.WARNING, logger="collabcode.security"):
        stranger = await env.call(eve, "GET", url, expect=404)
        unknown = await env.call(eve, "GET", f"/api/calls/{missing}", expect=404)
        assert stranger.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
        for action in ("accept", "decline", "cancel", "end"):
            await env.call(eve, "POST", f"{url}/{action}", expect=404)
    denied = [r for r in caplog.records if getattr(r, "event", None) == "authz.denied"]
    assert denied and all(getattr(r, "resource", None) == "call" for r in denied)
    await env.call(eve, "GET", "/api/calls/not-an-id", expect=404)
    await env.call(eve, "POST", "/api/calls/..%2f/accept", expect=404)
    assert (await env.call(eve, "GET", "/api/calls", expect=200)).json()["calls"] == []
    await env.call(eve, "GET", "/api/calls?conversation_id=xyz", expect=422)
    await env.call(eve, "GET", "/api/calls?limit=1000", expect=422)
    # The call is untouched.
    assert (await env.get(bob, call["id"]))["state"] == "ringing"


async def test_workspace_call_rings_present_members_and_holds_four(env: CallEnv) -> None:
    people = [await env.person(name) for name in ("ann", "ben", "cat", "dan", "eli")]
    outsider = await env.person("olga")
    ann, ben, cat, dan, eli = people
    workspace_id = await env.workspace(ann, ben, cat, dan, eli)
    sockets = {p.username: await env.socket(p) for p in (ann, ben, cat, dan)}  # eli is away

    call = await env.call(ann, "POST", "/api/calls", json={"workspace_id": workspace_id, "media": "video"}, expect=201)
    view = call.json()
    assert view["kind"] == "workspace" and view["workspace_id"] == workspace_id and view["max_participants"] == 4
    assert states(view) == {"ann": "joined", "ben": "ringing", "cat": "ringing", "dan": "ringing"}
    for name in ("ben", "cat", "dan"):
        await sockets[name].wait_type("call.ringing")

    assert (await env.act(ben, view["id"], "accept"))["state"] == "active"
    await env.act(cat, view["id"], "decline")
    # Starting a call in the workspace while one runs joins it.
    body = {"workspace_id": workspace_id, "media": "audio"}
    joined = await env.call(dan, "POST", "/api/calls", json=body, expect=200)
    assert joined.json()["id"] == view["id"]
    # A member who was not rung (away at the start) may join too: the call is full at four.
    await env.person("eli")
    await env.act(cat, view["id"], "accept")
    full = await env.act(eli, view["id"], "accept", expect=409)
    assert full["error"]["code"] == "call_full" and "4" in full["error"]["message"]
    await env.act(outsider, view["id"], "accept", expect=404)
    await env.call(outsider, "POST", "/api/calls", json=body, expect=404)
    assert (await env.get(eli, view["id"]))["state"] == "active"  # members may see it

    # People leave; with one left the call ends.
    await env.act(dan, view["id"], "end")
    assert (await env.act(eli, view["id"], "accept"))["state"] == "active"
    for person in (eli, cat, ben):
        await env.act(person, view["id"], "end")
    final = await env.get(ann, view["id"])
    assert final["state"] == "ended" and final["end_reason"] == "hangup"
