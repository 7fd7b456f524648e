"""Messages over HTTP: sequence numbers, idempotent sends, paging, edits, deletes, read marks."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from collabcode.chat.schemas import MAX_BODY_CHARS
from tests.chat.harness import ChatEnv, Person, eventually_async


async def _pair(env: ChatEnv) -> tuple[Person, Person, str]:
    alice, bob = await env.person("alice"), await env.person("bob")
    return alice, bob, await env.open(alice, bob)


async def test_a_sent_message_is_stored_with_the_next_seq(env: ChatEnv) -> None:
    alice, bob, cid = await _pair(env)
    first = await env.call(
        alice, "POST", f"/api/conversations/{cid}/messages", json={"body": "hello", "client_id": "c-1"}, expect=201
    )
    message = first.json()
    assert message["seq"] == 1 and message["status"] == "sent" and message["sender_id"] == alice.id
    assert message["client_id"] == "c-1" and message["body"] == "hello"
    assert (await env.send(bob, cid, "hi"))["seq"] == 2
    assert [m["body"] for m in await env.messages(bob, cid)] == ["hello", "hi"]


async def test_retries_never_duplicate_and_a_reused_key_with_other_content_is_409(env: ChatEnv) -> None:
    alice, bob, cid = await _pair(env)
    url = f"/api/conversations/{cid}/messages"
    first = await env.call(alice, "POST", url, json={"body": "once", "client_id": "k1"}, expect=201)
    retries = await asyncio.gather(
        *(env.call(alice, "POST", url, json={"body": "once", "client_id": "k1"}) for _ in range(5))
    )
    assert {r.status_code for r in retries} == {200}
    assert {r.json()["id"] for r in retries} == {first.json()["id"]}
    conflict = await env.call(alice, "POST", url, json={"body": "other", "client_id": "k1"}, expect=409)
    assert conflict.json()["error"]["code"] == "client_id_reused"
    # The same key from another sender is another message.
    assert (await env.call(bob, "POST", url, json={"body": "once", "client_id": "k1"}, expect=201)).json()["seq"] == 2
    assert [m["seq"] for m in await env.messages(alice, cid)] == [1, 2]


async def test_concurrent_senders_get_unique_consecutive_seqs(env: ChatEnv) -> None:
    alice, bob, cid = await _pair(env)
    sends = [env.send(alice if i % 2 else bob, cid, f"m{i}") for i in range(40)]
    results = await asyncio.gather(*sends)
    assert sorted(m["seq"] for m in results) == list(range(1, 41))
    stored = await env.messages(alice, cid, limit=100)
    assert [m["seq"] for m in stored] == list(range(1, 41))


async def test_paging_by_seq(env: ChatEnv) -> None:
    alice, _, cid = await _pair(env)
    for i in range(7):
        await env.send(alice, cid, f"m{i + 1}")
    page = await env.call(alice, "GET", f"/api/conversations/{cid}/messages", params={"limit": 3}, expect=200)
    assert [m["seq"] for m in page.json()["messages"]] == [5, 6, 7] and page.json()["has_more"] is True
    older = await env.call(alice, "GET", f"/api/conversations/{cid}/messages", params={"limit": 3, "before": 5})
    assert [m["seq"] for m in older.json()["messages"]] == [2, 3, 4]
    oldest = await env.call(alice, "GET", f"/api/conversations/{cid}/messages", params={"limit": 3, "before": 2})
    assert [m["seq"] for m in oldest.json()["messages"]] == [1] and oldest.json()["has_more"] is False
    newer = await env.call(alice, "GET", f"/api/conversations/{cid}/messages", params={"after": 5})
    assert [m["seq"] for m in newer.json()["messages"]] == [6, 7] and newer.json()["has_more"] is False
    for bad in ({"limit": 0}, {"limit": 101}, {"before": "x"}, {"before": 3, "after": 1}, {"after": -1}):
        await env.call(alice, "GET", f"/api/conversations/{cid}/messages", params=bad, expect=422)


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("", "string_too_short"),
        ("   \n ", "empty"),
        ("x" * (MAX_BODY_CHARS + 1), "too_long"),
        ("nul\x00", "control_character"),
        ("rtl \u202e override", "bidi_or_invisible_character"),
    ],
)
async def test_invalid_bodies_are_422(env: ChatEnv, body: str, rule: str) -> None:
    alice, _, cid = await _pair(env)
    response = await env.call(
        alice, "POST", f"/api/conversations/{cid}/messages", json={"body": body, "client_id": "x"}, expect=422
    )
    assert response.json()["error"]["details"] == {"field": "body", "rule": rule}
    assert await env.messages(alice, cid) == []


async def test_multiline_unicode_is_kept_nfc(env: ChatEnv) -> None:
    alice, _, cid = await _pair(env)
    message = await env.send(alice, cid, "line 1\r\nCafe\u0301 👩‍💻")
    assert message["body"] == "line 1\nCafé 👩‍💻"


async def test_edit_within_15_minutes_by_the_sender_only(env: ChatEnv) -> None:
    alice, bob, cid = await _pair(env)
    message = await env.send(alice, cid, "helo")
    url = f"/api/conversations/{cid}/messages/{message['id']}"
    await env.advance(14 * 60)
    edited = await env.call(alice, "PATCH", url, json={"body": "hello"}, expect=200)
    assert edited.json()["body"] == "hello" and edited.json()["edited"] is True and edited.json()["edited_at"]
    assert edited.json()["seq"] == message["seq"]
    not_sender = await env.call(bob, "PATCH", url, json={"body": "hacked"}, expect=403)
    assert not_sender.json()["error"]["code"] == "not_sender"
    await env.advance(2 * 60)
    late = await env.call(alice, "PATCH", url, json={"body": "too late"}, expect=403)
    assert late.json()["error"]["code"] == "edit_window_closed"
    assert [m["body"] for m in await env.messages(bob, cid)] == ["hello"]


async def test_delete_for_everyone_leaves_a_stub(env: ChatEnv) -> None:
    alice, bob, cid = await _pair(env)
    message = await env.send(alice, cid, "oops")
    await env.send(alice, cid, "after")
    url = f"/api/conversations/{cid}/messages/{message['id']}"
    assert (await env.call(bob, "DELETE", url, expect=403)).json()["error"]["code"] == "not_sender"
    stub = (await env.call(alice, "DELETE", url, expect=200)).json()
    assert stub["deleted"] is True and stub["body"] == "" and stub["seq"] == 1
    assert (await env.call(alice, "DELETE", url, expect=200)).json() == stub  # idempotent
    seen = await env.messages(bob, cid)
    assert [(m["seq"], m["deleted"], m["body"]) for m in seen] == [(1, True, ""), (2, False, "after")]
    gone = await env.call(alice, "PATCH", url, json={"body": "back"}, expect=409)
    assert gone.json()["error"]["code"] == "message_deleted"
    body = await env.services.db.fetch_val("SELECT body FROM messages WHERE id = ?", (message["id"],))
    assert body == ""  # erased from the database, not only hidden


async def test_read_marks_only_move_forward(env: ChatEnv) -> None:
    alice, bob, cid = await _pair(env)
    sent = [await env.send(alice, cid, f"m{i}") for i in range(3)]
    url = f"/api/conversations/{cid}/read"
    assert (await env.call(bob, "POST", url, json={"message_id": sent[1]["id"]}, expect=200)).json()[
        "unread_count"
    ] == 1
    back = await env.call(bob, "POST", url, json={"message_id": sent[0]["id"]}, expect=200)
    assert back.json() == {"conversation_id": cid, "read_seq": 2, "unread_count": 1}
    assert [m["status"] for m in await env.messages(alice, cid)] == ["read", "read", "sent"]
    await env.messages(bob, cid)  # fetching a message delivers it

    async def delivered() -> bool:
        return [m["status"] for m in await env.messages(alice, cid)] == ["read", "read", "delivered"]

    await eventually_async(delivered, "message 3 delivered")
    await env.call(bob, "POST", url, json={"message_id": uuid.uuid4().hex}, expect=404)


async def test_read_receipts_can_be_turned_off_both_ways(env: ChatEnv) -> None:
    alice, bob, cid = await _pair(env)
    sent = await env.send(alice, cid, "did you read this?")
    reply = await env.send(bob, cid, "maybe")
    await env.call(bob, "PATCH", "/api/me/privacy", json={"read_receipts": False}, expect=200)
    await env.call(bob, "POST", f"/api/conversations/{cid}/read", json={"message_id": sent["id"]}, expect=200)
    await env.call(alice, "POST", f"/api/conversations/{cid}/read", json={"message_id": reply["id"]}, expect=200)
    alice_sees = await env.messages(alice, cid)
    assert alice_sees[0]["status"] == "delivered"  # bob hides his reads
    bob_sees = await env.messages(bob, cid)
    assert bob_sees[1]["status"] == "delivered"  # ...and so does not see alice's
    assert (await env.call(alice, "GET", f"/api/conversations/{cid}")).json()["peer_read_seq"] is None
    await env.call(bob, "PATCH", "/api/me/privacy", json={"read_receipts": True}, expect=200)
    assert (await env.messages(alice, cid))[0]["status"] == "read"


async def test_the_same_key_twice_in_one_batch(env: ChatEnv) -> None:
    alice, _, cid = await _pair(env)
    url = f"/api/conversations/{cid}/messages"
    same, other = {"body": "one", "client_id": "k"}, {"body": "two", "client_id": "k"}
    bodies = (same, same, other)
    results = await asyncio.gather(*(env.call(alice, "POST", url, json=b) for b in bodies))
    assert sorted(r.status_code for r in results).count(201) == 1
    stored = next(r.json() for r in results if r.status_code == 201)
    for body, result in zip(bodies, results, strict=True):
        if body["body"] == stored["body"]:
            assert result.status_code in (200, 201) and result.json()["id"] == stored["id"]
        else:
            assert result.status_code == 409
    assert len(await env.messages(alice, cid)) == 1
