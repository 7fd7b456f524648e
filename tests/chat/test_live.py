"""Two people chatting over ``/ws/events`` on a live server: ticks, typing, retries, catch-up."""

from __future__ import annotations

import asyncio
import uuid

from tests.chat.harness import ChatEnv, EventsClient, Frame, eventually_async


def _receipt(cid: str, *, delivered: int | None = None, read: int | None = None) -> object:
    def match(frame: Frame) -> bool:
        if frame.get("type") != "receipt" or frame.get("conversation_id") != cid:
            return False
        return (delivered is None or frame["delivered_seq"] >= delivered) and (
            read is None or frame["read_seq"] == read
        )

    return match


async def test_sender_sees_sent_then_delivered_then_read(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    a = await live.socket(alice)
    await a.send({"type": "message.send", "ref": "s1", "conversation_id": cid, "client_id": "c1", "body": "hi bob"})
    sent = await a.wait_type("message.sent", ref="s1")
    assert sent["message"]["status"] == "sent" and sent["created"] is True
    message = sent["message"]
    # Bob is offline: one tick stays one tick.
    stored = await live.messages(alice, cid)
    assert stored[0]["status"] == "sent"

    b = await live.socket(bob)  # connecting without a cursor: state comes from HTTP
    listing = (await live.call(bob, "GET", "/api/conversations", expect=200)).json()
    assert listing["conversations"][0]["unread_count"] == 1
    await b.send({"type": "message.send", "conversation_id": cid, "client_id": "c2", "body": "hi alice"})
    got = await a.wait_for(lambda f: f.get("type") == "message" and f["message"]["body"] == "hi alice", "bob's reply")
    assert got["message"]["sender_id"] == bob.id and got["message"]["status"] is None

    await a.send({"type": "message.send", "conversation_id": cid, "client_id": "c3", "body": "second"})
    second = (await a.wait_type("message.sent", client_id="c3"))["message"]
    arrived = await b.wait_for(lambda f: f.get("type") == "message" and f["message"]["id"] == second["id"], "second")
    assert arrived["message"]["body"] == "second" and "client_id" not in arrived["message"]
    await a.wait_for(_receipt(cid, delivered=second["seq"]), "delivered tick")  # type: ignore[arg-type]
    assert (await live.messages(alice, cid))[-1]["status"] == "delivered"

    await b.send({"type": "message.read", "ref": "r1", "conversation_id": cid, "message_id": second["id"]})
    ack = await b.wait_type("ack", ref="r1")
    assert ack["read_seq"] == second["seq"] and ack["unread_count"] == 0
    await a.wait_for(_receipt(cid, read=second["seq"]), "read tick")  # type: ignore[arg-type]
    statuses = {m["id"]: m["status"] for m in await live.messages(alice, cid)}
    assert statuses[message["id"]] == "read" and statuses[second["id"]] == "read"


async def test_typing_is_forwarded_throttled_and_expires(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    a, b = await live.socket(alice), await live.socket(bob)
    for _ in range(5):
        await a.send({"type": "typing", "conversation_id": cid})
    await a.send({"type": "ping", "ref": "p"})
    await a.wait_type("pong", ref="p")  # every typing frame before it was handled
    typing = await b.wait_type("typing", conversation_id=cid)
    assert typing == {"type": "typing", "conversation_id": cid, "user_id": alice.id, "expires_in": 5.0}
    await b.send({"type": "ping", "ref": "p"})
    await b.wait_type("pong", ref="p")
    assert len(b.of_type("typing")) == 1  # throttled: one per 2 s
    await a.send({"type": "typing", "conversation_id": cid, "active": False})
    stop = await b.wait_for(lambda f: f.get("type") == "typing" and f["expires_in"] == 0, "typing stopped")
    assert stop["user_id"] == alice.id
    assert a.of_type("typing") == []  # never echoed to the typist
    count = await live.services.db.fetch_val("SELECT COUNT(*) FROM user_events WHERE kind LIKE 'typ%'")
    assert count == 0  # never stored


async def test_socket_retries_never_duplicate(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    a = await live.socket(alice)
    frame = {"type": "message.send", "conversation_id": cid, "client_id": "retry-1", "body": "exactly once"}
    for i in range(3):
        await a.send({**frame, "ref": f"try{i}"})
    replies = [await a.wait_type("message.sent", ref=f"try{i}") for i in range(3)]
    assert [r["created"] for r in replies] == [True, False, False]
    assert len({r["message"]["id"] for r in replies}) == 1
    await a.send({**frame, "ref": "other", "body": "different"})
    error = await a.wait_type("error", ref="other")
    assert error["code"] == "client_id_reused" and error["status"] == 409
    assert len(await live.messages(bob, cid)) == 1


async def test_reconnecting_with_a_cursor_replays_what_was_missed(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    b = await live.socket(bob)
    first = await live.send(alice, cid, "one")
    await b.wait_type("message")
    cursor = b.last_cursor
    assert cursor is not None
    await b.close()
    second = await live.send(alice, cid, "two")
    doomed = await live.send(alice, cid, "secret")
    await live.call(alice, "PATCH", f"/api/conversations/{cid}/messages/{first['id']}", json={"body": "one (edited)"})
    await live.call(alice, "DELETE", f"/api/conversations/{cid}/messages/{doomed['id']}", expect=200)

    again = await live.socket(bob, cursor=cursor)
    replayed = [f for f in again.frames if isinstance(f.get("cursor"), int) and f["type"] != "synced"]
    synced = again.of_type("synced")[0]
    cursors = [f["cursor"] for f in replayed]
    assert cursors == sorted(cursors) and cursors[0] == cursor + 1 and synced["cursor"] == cursors[-1]
    bodies = [(f["type"], f["message"]["id"], f["message"]["body"]) for f in replayed]
    assert ("message", second["id"], "two") in bodies
    assert ("message", doomed["id"], "") in bodies  # replayed as the stub it is now
    assert ("message.updated", first["id"], "one (edited)") in bodies
    assert "secret" not in str(again.frames)
    # Nothing is sent twice and nothing is missing afterwards.
    await live.send(alice, cid, "three")
    live_frame = await again.wait_for(lambda f: f.get("type") == "message" and f["message"]["body"] == "three", "three")
    assert live_frame["cursor"] == synced["cursor"] + 1


async def test_a_cursor_from_nowhere_asks_for_a_reload(live: ChatEnv) -> None:
    alice = await live.person("alice")
    a = await live.socket(alice, cursor=10_000)
    assert a.of_type("resync") == [{"type": "resync", "cursor": 0}]


async def test_a_lost_bus_message_is_repaired_from_the_database(live: ChatEnv) -> None:
    """Frames travel over a lossy bus; a socket that sees a gap in cursors reads the missing ones."""
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    b = await live.socket(bob)
    hub = live.hub
    original = hub._deliver_local
    dropped: list[str] = []

    def lossy(user_id: str, text: str, frame: Frame) -> None:
        if user_id == bob.id and frame.get("type") == "message" and not dropped:
            dropped.append(text)  # the first message to bob is lost on the way
            return
        original(user_id, text, frame)

    hub._deliver_local = lossy  # type: ignore[method-assign]
    try:
        await live.send(alice, cid, "lost")
        await live.send(alice, cid, "found")
        found = await b.wait_for(lambda f: f.get("type") == "message" and f["message"]["body"] == "found", "found")
    finally:
        hub._deliver_local = original  # type: ignore[method-assign]
    bodies = [f["message"]["body"] for f in b.of_type("message")]
    assert bodies == ["lost", "found"] and dropped
    assert b.of_type("message")[0]["cursor"] + 1 == found["cursor"]


async def test_several_tabs_and_edits_over_the_socket(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    tab1, tab2, b = await live.socket(alice), await live.socket(alice), await live.socket(bob)
    await tab1.send({"type": "message.send", "conversation_id": cid, "client_id": "t1", "body": "typo"})
    sent = (await tab1.wait_type("message.sent"))["message"]
    await tab2.wait_for(lambda f: f.get("type") == "message" and f["message"]["id"] == sent["id"], "other tab")
    await tab2.send(
        {"type": "message.edit", "ref": "e", "conversation_id": cid, "message_id": sent["id"], "body": "fixed"}
    )
    assert (await tab2.wait_type("ack", ref="e"))["message"]["body"] == "fixed"
    for client in (tab1, b):
        updated = await client.wait_type("message.updated")
        assert updated["message"]["body"] == "fixed" and updated["message"]["edited"] is True
    await b.send({"type": "message.delete", "ref": "d", "conversation_id": cid, "message_id": sent["id"]})
    assert (await b.wait_type("error", ref="d"))["code"] == "not_sender"
    await b.send({"type": "message.read", "conversation_id": cid, "message_id": sent["id"]})
    # Bob's own other devices learn the new read mark too.
    b2 = await live.socket(bob, cursor=0)
    read = await b2.wait_type("conversation.read")
    assert read["read_seq"] == 1 and read["unread_count"] == 0


async def test_many_messages_arrive_in_order_exactly_once(live: ChatEnv) -> None:
    alice, bob = await live.person("alice"), await live.person("bob")
    cid = await live.open(alice, bob)
    a, b = await live.socket(alice), await live.socket(bob)
    count = 40
    for i in range(count):
        await a.send({"type": "message.send", "conversation_id": cid, "client_id": f"n{i}", "body": f"#{i}"})
        if i % 10 == 9:
            await a.wait_type("message.sent", client_id=f"n{i}")
    await b.wait_for(lambda f: f.get("type") == "message" and f["message"]["body"] == f"#{count - 1}", "last")
    got = b.of_type("message")
    assert [f["message"]["body"] for f in got] == [f"#{i}" for i in range(count)]
    assert [f["message"]["seq"] for f in got] == list(range(1, count + 1))

    async def all_delivered() -> bool:
        return {m["status"] for m in await live.messages(alice, cid, limit=100)} == {"delivered"}

    await eventually_async(all_delivered, "every message delivered")


async def _settle(client: EventsClient) -> None:
    ref = uuid.uuid4().hex[:8]
    await client.send({"type": "ping", "ref": ref})
    await client.wait_type("pong", ref=ref)


async def test_frames_go_only_to_the_people_in_the_conversation(live: ChatEnv) -> None:
    alice, bob, carol = await live.person("alice"), await live.person("bob"), await live.person("carol")
    cid = await live.open(alice, bob)
    c = await live.socket(carol)
    b = await live.socket(bob)
    await live.send(alice, cid, "for bob only")
    await b.wait_type("message")
    await c.send({"type": "typing", "conversation_id": cid})
    error = await c.wait_type("error")
    assert error["code"] == "not_found" and error["status"] == 404
    await asyncio.gather(_settle(b), _settle(c))
    assert c.of_type("message") == [] and b.of_type("typing") == []
