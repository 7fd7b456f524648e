"""Nobody reaches a conversation they are not in; identity comes from the server only."""

from __future__ import annotations

import uuid

import pytest

from tests.chat.harness import ChatEnv

NOT_FOUND = {"code": "not_found", "message": "Not found."}


def _assert_not_found(response: object) -> None:
    status = getattr(response, "status_code", None)
    assert status == 404, getattr(response, "text", "")
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert {"code": error["code"], "message": error["message"]} == NOT_FOUND
    assert set(error) == {"code", "message", "request_id"}


async def test_a_third_user_gets_404_on_every_route_like_a_missing_id(env: ChatEnv) -> None:
    alice, bob, mallory = await env.person("alice"), await env.person("bob"), await env.person("mallory")
    cid = await env.open(alice, bob)
    message = await env.send(alice, cid, "private")
    missing_cid, missing_mid = uuid.uuid4().hex, uuid.uuid4().hex
    for conversation, message_id in ((cid, message["id"]), (missing_cid, missing_mid), (cid.upper(), message["id"])):
        base = f"/api/conversations/{conversation}"
        calls = [
            ("GET", base, None),
            ("GET", base + "/messages", None),
            ("POST", base + "/messages", {"body": "let me in", "client_id": "m1"}),
            ("POST", base + "/read", {"message_id": message_id}),
            ("PATCH", f"{base}/messages/{message_id}", {"body": "edited"}),
            ("DELETE", f"{base}/messages/{message_id}", None),
        ]
        for method, url, body in calls:
            _assert_not_found(
                await env.call(mallory, method, url, json=body) if body else await env.call(mallory, method, url)
            )
    assert [m["body"] for m in await env.messages(alice, cid)] == ["private"]
    listing = (await env.call(mallory, "GET", "/api/conversations", expect=200)).json()
    assert listing["conversations"] == []


async def test_a_message_id_from_another_conversation_is_404(env: ChatEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    with_bob, with_carol = await env.open(alice, bob), await env.open(alice, carol)
    elsewhere = await env.send(alice, with_carol, "for carol")
    _assert_not_found(
        await env.call(bob, "POST", f"/api/conversations/{with_bob}/read", json={"message_id": elsewhere["id"]})
    )
    _assert_not_found(await env.call(alice, "DELETE", f"/api/conversations/{with_bob}/messages/{elsewhere['id']}"))


@pytest.mark.parametrize("field", ["sender", "sender_id", "user_id", "created_at", "seq"])
async def test_claimed_fields_are_refused(env: ChatEnv, field: str) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    response = await env.call(
        alice,
        "POST",
        f"/api/conversations/{cid}/messages",
        json={"body": "from bob, honest", "client_id": "s1", field: bob.id},
        expect=422,
    )
    assert response.json()["error"]["details"]["rule"] == "extra_forbidden"
    assert await env.messages(bob, cid) == []


async def test_everything_needs_a_signed_in_user(env: ChatEnv) -> None:
    cid = uuid.uuid4().hex
    for method, url in (
        ("GET", "/api/conversations"),
        ("GET", f"/api/conversations/{cid}/messages"),
        ("POST", f"/api/conversations/{cid}/messages"),
        ("GET", "/api/blocks"),
        ("GET", "/api/me/privacy"),
        ("POST", "/api/contacts/discover"),
        ("GET", "/api/users/search?q=al"),
    ):
        assert (await env.call(None, method, url)).status_code == 401, url


async def test_bad_json_and_content_types(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(alice, bob)
    url = f"/api/conversations/{cid}/messages"
    assert (
        await env.call(alice, "POST", url, content=b"{nope", headers={"content-type": "application/json"})
    ).status_code == 400
    assert (
        await env.call(alice, "POST", url, content=b"body=x", headers={"content-type": "text/plain"})
    ).status_code == 415
    assert (await env.call(alice, "POST", url, json=["not", "an", "object"])).status_code == 422
