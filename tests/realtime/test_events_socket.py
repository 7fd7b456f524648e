"""``/ws/events`` handshake and hostile input: every refusal and close code of the contract."""

from __future__ import annotations

import json
import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from collabcode.realtime.events_routes import LIMITS_KEY
from collabcode.realtime.socket import EventsLimits
from tests.chat.harness import ChatEnv, EventsClient, Person


async def _refused(url: str, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, open_timeout=5, **kwargs):  # type: ignore[arg-type]
            pass
    status: int = caught.value.response.status_code
    return status


async def _ticket(live: ChatEnv, person: Person) -> str:
    response = await live.call(person, "POST", "/api/auth/ws-ticket", expect=200)
    ticket: str = response.json()["ticket"]
    return ticket


async def test_ticket_and_origin(live: ChatEnv, caplog: pytest.LogCaptureFixture) -> None:
    alice = await live.person("alice")
    origin = f"http://127.0.0.1:{live.port}"
    ticket = await _ticket(live, alice)
    async with connect(live.ws_url(ticket=ticket), origin=origin, open_timeout=5) as ws:  # type: ignore[arg-type]
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["user_id"] == alice.id and hello["username"] == "alice"
    assert await _refused(live.ws_url(ticket=ticket), origin=origin) == 403  # single use
    fresh = await _ticket(live, alice)
    assert await _refused(live.ws_url(ticket=fresh), origin="https://evil.example") == 403
    assert await _refused(live.ws_url(), additional_headers=alice.headers, origin="https://evil.example") == 403
    assert await _refused(live.ws_url()) == 403
    assert await _refused(live.ws_url(ticket="forged"), origin=origin) == 403
    assert (
        await _refused(live.ws_url().replace("/ws/events", "/ws/events?cursor=-1"), additional_headers=alice.headers)
        == 403
    )
    reasons = {
        getattr(r, "reason", None) for r in caplog.records if getattr(r, "event", None) == "ws.handshake_rejected"
    }
    assert {"origin_not_allowed", "origin_missing", "invalid_cursor"} <= reasons


async def test_too_many_sockets_per_user_are_refused(live: ChatEnv) -> None:
    alice = await live.person("alice")
    live.services.extras[LIMITS_KEY] = EventsLimits(max_sockets_per_user=2)
    await live.socket(alice)
    await live.socket(alice)
    assert await _refused(live.ws_url(), additional_headers=alice.headers) == 403


async def _closed_by(client: EventsClient, frame: str | bytes) -> tuple[int | None, str]:
    await client.ws.send(frame)
    return await client.wait_closed()


@pytest.mark.parametrize(
    ("frame", "code", "reason"),
    [
        ("{not json", 1007, "invalid_json"),
        ('{"type": "ping", "x": NaN}', 1007, "invalid_json"),
        ("[" * 20 + "]" * 20, 1007, "invalid_json"),
        (b"\x00binary", 1003, "text_only"),
        (json.dumps({"type": "ping", "pad": "x" * 70_000}), 1009, "message_too_large"),
        (json.dumps({"type": "message.send", "sender": "someone-else"}), 1008, "identity_spoofing"),
        (
            json.dumps({"type": "typing", "user_id": "someone-else", "conversation_id": "0" * 32}),
            1008,
            "identity_spoofing",
        ),
    ],
    ids=["bad-json", "nan", "too-deep", "binary", "too-big", "sender", "user-id"],
)
async def test_hostile_frames_close_the_socket(live: ChatEnv, frame: str | bytes, code: int, reason: str) -> None:
    alice = await live.person("alice")
    client = await live.socket(alice)
    assert await _closed_by(client, frame) == (code, reason)


async def test_invalid_frames_get_error_frames_until_they_pile_up(live: ChatEnv) -> None:
    alice = await live.person("alice")
    client = await live.socket(alice)
    await client.send({"type": "no.such.type", "ref": "u1"})
    assert (await client.wait_type("error", ref="u1"))["code"] == "unknown_type"
    await client.send({"type": "message.send", "ref": "v1", "conversation_id": "zz", "client_id": "c", "body": "x"})
    invalid = await client.wait_type("error", ref="v1")
    assert invalid["code"] == "invalid_frame" and invalid["details"]["field"] == "conversation_id"
    await client.send({"type": "presence.set", "ref": "v2", "state": "online", "extra": 1})
    assert (await client.wait_type("error", ref="v2"))["details"]["rule"] == "extra_forbidden"
    await client.send([1, 2, 3])  # type: ignore[arg-type]
    assert (await client.wait_type("error", ref=None))["code"] == "invalid_frame"
    for i in range(30):
        await client.send({"type": "nope", "ref": f"n{i}"})
    assert await client.wait_closed() == (1008, "too_many_errors")


async def test_frame_rate_limit_closes_with_4429(live: ChatEnv, caplog: pytest.LogCaptureFixture) -> None:
    alice = await live.person("alice")
    live.services.extras[LIMITS_KEY] = EventsLimits(frames_per_second=1, frame_burst=5)
    client = await live.socket(alice)
    for i in range(8):
        await client.send({"type": "ping", "ref": f"p{i}"})
    code, reason = await client.wait_closed()
    assert code == 4429 and reason.startswith("rate_limited:")
    assert any(getattr(r, "event", None) == "ratelimit.hit" for r in caplog.records)


async def test_logout_closes_the_socket_with_4401(live: ChatEnv) -> None:
    alice = await live.person("alice")
    client = await live.socket(alice)
    await live.call(alice, "POST", "/api/auth/logout", expect=204)
    assert await client.wait_closed() == (4401, "session_revoked")


async def test_shutdown_closes_with_1001(live: ChatEnv, caplog: pytest.LogCaptureFixture) -> None:
    alice = await live.person("alice")
    client = await live.socket(alice)
    with caplog.at_level(logging.INFO):
        await live.services.connections.close_all(1001, "going_away")
        assert await client.wait_closed() == (1001, "going_away")
    assert live.services.connections.count("events") == 0
