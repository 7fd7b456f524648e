"""Signaling frames over real ``/ws/events`` sockets: relayed only between joined participants."""

from __future__ import annotations

import logging

import pytest

from tests.calls.harness import CallEnv, EventsClient
from tests.chat.harness import eventually

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


async def test_relay_between_participants_with_server_stamped_from(
    env: CallEnv, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob, eve = await env.person("alice"), await env.person("bob"), await env.person("eve")
    await env.open(alice, bob)
    await env.open(eve, bob)
    a_ws, b_ws, e_ws = await env.socket(alice), await env.socket(bob), await env.socket(eve)
    call = await env.start(alice, bob)
    cid = call["id"]

    # Before bob answers, nothing is relayed to him.
    await a_ws.send({"type": "rtc.offer", "ref": "o1", "call_id": cid, "to": bob.id, "sdp": SDP})
    early = await a_ws.wait_type("error", ref="o1")
    assert early["code"] == "peer_not_joined" and early["status"] == 409
    await env.act(bob, cid, "accept")

    await a_ws.send({"type": "rtc.offer", "ref": "o2", "call_id": cid, "to": bob.id, "sdp": SDP})
    await a_ws.wait_type("ack", ref="o2")
    offer = await b_ws.wait_type("rtc.offer")
    assert offer == {"type": "rtc.offer", "call_id": cid, "from": alice.id, "sdp": SDP}
    await b_ws.send({"type": "rtc.answer", "call_id": cid, "to": alice.id, "sdp": SDP})
    assert (await a_ws.wait_type("rtc.answer"))["from"] == bob.id
    candidate = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    await b_ws.send({"type": "rtc.candidate", "call_id": cid, "to": alice.id, "candidate": candidate})
    await b_ws.send({"type": "rtc.candidate", "call_id": cid, "to": alice.id, "candidate": None})
    got = await a_ws.wait_for(
        lambda f: f.get("type") == "rtc.candidate" and f["candidate"] is None, "end of candidates"
    )
    first = next(f for f in a_ws.of_type("rtc.candidate") if f["candidate"] is not None)
    assert first["candidate"] == {**candidate, "usernameFragment": None} and got["from"] == bob.id

    # A third person: refused, logged, and nothing reaches the peers.
    with caplog.at_level(logging.WARNING, logger="collabcode.security"):
        for ref, frame in enumerate(
            (
                {"type": "rtc.offer", "call_id": cid, "to": bob.id, "sdp": SDP},
                {"type": "rtc.candidate", "call_id": cid, "to": alice.id, "candidate": None},
                {"type": "rtc.offer", "call_id": "f" * 32, "to": alice.id, "sdp": SDP},
                {"type": "call.end", "call_id": cid},
            )
        ):
            await e_ws.send({**frame, "ref": f"e{ref}"})
            error = await e_ws.wait_type("error", ref=f"e{ref}")
            assert error["code"] == "not_found" and error["status"] == 404
    assert [r for r in caplog.records if getattr(r, "event", None) == "authz.denied" and r.action == "signal"]
    # A participant may not impersonate anyone either: a client "from" closes the socket.
    await b_ws.send({"type": "rtc.answer", "call_id": cid, "to": alice.id, "sdp": SDP, "from": eve.id})
    assert (await b_ws.wait_closed())[0] == 1008
    await a_ws.send({"type": "ping", "ref": "p"})
    await a_ws.wait_type("pong", ref="p")
    assert [f["from"] for f in a_ws.frames if f.get("type", "").startswith("rtc.")] == [bob.id, bob.id, bob.id]
    assert not [f for f in b_ws.frames if f.get("type", "").startswith("rtc.") and f.get("from") != alice.id]


async def test_signaling_limits(env: CallEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await env.open(alice, bob)
    a_ws, b_ws = await env.socket(alice), await env.socket(bob)
    cid = (await env.start(alice, bob))["id"]
    await env.act(bob, cid, "accept")

    bad_frames = {
        "big": {"type": "rtc.offer", "call_id": cid, "to": bob.id, "sdp": "v=0\r\n" + "a" * 40_000},
        "notsdp": {"type": "rtc.offer", "call_id": cid, "to": bob.id, "sdp": "hello"},
        "ctrl": {"type": "rtc.answer", "call_id": cid, "to": bob.id, "sdp": "v=0\x00"},
        "cand": {"type": "rtc.candidate", "call_id": cid, "to": bob.id, "candidate": {"candidate": "x" * 2000}},
        "extra": {"type": "rtc.candidate", "call_id": cid, "to": bob.id, "candidate": None, "room": 1},
        "noto": {"type": "rtc.offer", "call_id": cid, "sdp": "v=0"},
        "self": {"type": "rtc.offer", "call_id": cid, "to": alice.id, "sdp": "v=0"},
    }
    for ref, frame in bad_frames.items():
        await a_ws.send({**frame, "ref": ref})
        error = await a_ws.wait_type("error", ref=ref)
        assert error["status"] == 422, error
    # Flooding one call gets 429 errors (not counted against the socket) before the socket limit.
    env.clock.advance(60)
    for i in range(50):
        await b_ws.send({"type": "rtc.candidate", "ref": f"c{i}", "call_id": cid, "to": alice.id, "candidate": None})
    limited = await b_ws.wait_type("error", code="rate_limited")
    assert limited["status"] == 429 and limited["retry_after"] >= 1
    await b_ws.send({"type": "ping", "ref": "still-open"})
    await b_ws.wait_type("pong", ref="still-open")
    relayed = await eventually_count(a_ws, "rtc.candidate", 40)
    assert relayed == 40  # the burst, on a clock that does not move

    # After the call ends, nothing is relayed.
    await env.act(alice, cid, "end")
    await a_ws.send({"type": "rtc.offer", "ref": "late", "call_id": cid, "to": bob.id, "sdp": SDP})
    assert (await a_ws.wait_type("error", ref="late"))["code"] == "call_ended"


async def eventually_count(ws: EventsClient, kind: str, at_least: int) -> int:
    await eventually(lambda: len(ws.of_type(kind)) >= at_least, f"{at_least} {kind} frames")
    return len(ws.of_type(kind))


async def test_call_actions_as_frames(env: CallEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await env.open(alice, bob)
    a_ws, b_ws = await env.socket(alice), await env.socket(bob)
    cid = (await env.start(alice, bob))["id"]
    await b_ws.send({"type": "call.accept", "ref": "a", "call_id": cid})
    assert (await b_ws.wait_type("ack", ref="a"))["call"]["state"] == "active"
    await a_ws.send({"type": "call.end", "ref": "e", "call_id": cid})
    assert (await a_ws.wait_type("ack", ref="e"))["call"]["end_reason"] == "hangup"
    await b_ws.wait_type("call.ended")
