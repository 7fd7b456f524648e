"""Awareness: the server owns identity, peers only touch their own client ids, and stock
clients' habit of re-sending everything they hear neither loops nor spoofs."""

from __future__ import annotations

import json

import pytest

from collabcode.collab.protocol import (
    AwarenessEntry,
    AwarenessMessage,
    CloseCode,
    ProtocolError,
    decode_message,
    encode_awareness,
    encode_awareness_update,
    encode_query_awareness,
)
from collabcode.collab.room import Room, RoomLimits
from tests.collab import FakePeer, SimClient, pump


def _awareness_frame(*entries: tuple[int, int, object]) -> bytes:
    return encode_awareness(
        encode_awareness_update(AwarenessEntry(cid, clock, json.dumps(state)) for cid, clock, state in entries)
    )


def _connected(room: Room, *clients: SimClient) -> None:
    for client in clients:
        room.add_peer(client)
        client.connect()
    pump(room, *clients)


def test_user_field_is_stamped_from_the_server_identity() -> None:
    room = Room("doc-1")
    mallory, alice = SimClient("mallory"), SimClient("alice")
    _connected(room, mallory, alice)
    mallory.awareness.set_local_state({"user": {"id": "user-admin", "name": "Admin", "color": "#f00"}, "cursor": 4})
    pump(room, mallory, alice)
    seen = alice.awareness.states[mallory.awareness.client_id]
    assert seen["user"] == {"id": "user-mallory", "name": "mallory", "color": "#00ff00"}
    assert seen["cursor"] == 4
    assert room.awareness_states()[mallory.awareness.client_id] == seen


def test_everyone_sees_everyone_and_the_echoes_settle() -> None:
    room = Room("doc-1")
    clients = [SimClient(name) for name in ("a", "b", "c")]
    _connected(room, *clients)
    for client in clients:
        client.awareness.set_local_state_field("cursor", client.user_name)
    rounds = pump(room, *clients)
    assert rounds < 10
    expected = {c.awareness.client_id: c.user_name for c in clients}
    for client in clients:
        states = client.awareness.states
        assert {cid: states[cid]["cursor"] for cid in expected} == expected
        for other in clients:
            if other is not client:
                assert states[other.awareness.client_id]["user"]["id"] == other.user_id


def test_a_peer_cannot_set_another_peers_state() -> None:
    room = Room("doc-1")
    alice, mallory = SimClient("alice"), FakePeer("mallory", user_id="user-mallory")
    _connected(room, alice)
    room.add_peer(mallory)
    victim = alice.awareness.client_id
    room.receive(mallory, _awareness_frame((victim, 999, {"cursor": "fake"})))
    assert room.awareness_states()[victim]["user"]["id"] == "user-alice"
    assert "cursor" not in room.awareness_states()[victim]
    assert alice.inbox == []


def test_a_peer_cannot_remove_another_peers_state() -> None:
    room = Room("doc-1")
    alice, mallory = SimClient("alice"), FakePeer("mallory", user_id="user-mallory")
    _connected(room, alice)
    room.add_peer(mallory)
    victim = alice.awareness.client_id
    room.receive(mallory, _awareness_frame((victim, 999, None)))
    assert victim in room.awareness_states()
    assert alice.inbox == []


def test_leaving_removes_the_peers_states_for_everyone() -> None:
    room = Room("doc-1")
    alice, bob = SimClient("alice"), SimClient("bob")
    _connected(room, alice, bob)
    assert alice.awareness.client_id in bob.awareness.states
    room.remove_peer(alice)
    pump(room, bob)
    assert alice.awareness.client_id not in bob.awareness.states
    assert alice.awareness.client_id not in room.awareness_states()


def test_another_user_cannot_adopt_a_departed_id() -> None:
    room = Room("doc-1")
    alice = SimClient("alice")
    _connected(room, alice)
    departed = alice.awareness.client_id
    room.remove_peer(alice)
    mallory = FakePeer("mallory", user_id="user-mallory")
    room.add_peer(mallory)
    room.receive(mallory, _awareness_frame((departed, 10_000, {"cursor": 1})))
    assert departed not in room.awareness_states()


def test_the_same_user_reconnecting_is_visible_again() -> None:
    room = Room("doc-1")
    alice, bob = SimClient("alice"), SimClient("bob")
    _connected(room, alice, bob)
    room.remove_peer(alice)  # the connection dropped; the browser keeps its awareness clock
    pump(room, bob)
    assert alice.awareness.client_id not in bob.awareness.states
    alice.inbox.clear()
    alice.peer_id = "conn-alice-2"
    room.add_peer(alice)
    alice.connect()
    pump(room, alice, bob)
    assert bob.awareness.states[alice.awareness.client_id]["user"]["id"] == "user-alice"


def test_a_reconnect_racing_its_old_connection_recovers() -> None:
    room = Room("doc-1")
    bob = SimClient("bob")
    old = SimClient("alice")
    _connected(room, old, bob)
    new = SimClient("alice")  # same browser awareness, new connection, old not closed yet
    new.awareness = old.awareness
    new.awareness.observe(new._on_awareness)
    new.peer_id = "conn-alice-new"
    room.add_peer(new)
    new.connect()
    pump(room, new, bob)
    room.remove_peer(old)  # the server finally notices the dead socket
    pump(room, new, bob)
    assert bob.awareness.states[new.awareness.client_id]["user"]["id"] == "user-alice"


def test_query_awareness_answers_with_all_states() -> None:
    room = Room("doc-1")
    alice, bob = SimClient("alice"), SimClient("bob")
    _connected(room, alice, bob)
    asker = FakePeer("asker")
    room.add_peer(asker)
    asker.sent.clear()
    room.receive(asker, encode_query_awareness())
    (message,) = map(decode_message, asker.sent)
    assert isinstance(message, AwarenessMessage)
    ids = {e.client_id for e in message.entries}
    assert ids == {alice.awareness.client_id, bob.awareness.client_id}


def test_a_peer_may_introduce_only_a_few_ids() -> None:
    room = Room("doc-1", limits=RoomLimits(max_awareness_ids_per_peer=2))
    peer = FakePeer("p")
    room.add_peer(peer)
    room.receive(peer, _awareness_frame(*((cid, 1, {"n": cid}) for cid in range(1, 6))))
    assert sorted(room.awareness_states()) == [1, 2]


def test_non_ascii_names_survive_stamping() -> None:
    room = Room("doc-1")
    zoe, other = FakePeer("z", user_name="Zoë 😀"), FakePeer("o")
    room.add_peer(zoe)
    room.add_peer(other)
    room.receive(zoe, _awareness_frame((42, 1, {"cursor": 1})))
    (message,) = other.awareness()
    (entry,) = message.entries
    assert json.loads(entry.state_json)["user"]["name"] == "Zoë 😀"


def test_a_bad_entry_rejects_the_whole_message() -> None:
    room = Room("doc-1")
    peer = FakePeer("p")
    room.add_peer(peer)
    frame = encode_awareness(encode_awareness_update([AwarenessEntry(1, 1, '{"ok": 1}'), AwarenessEntry(2, 1, "[1]")]))
    with pytest.raises(ProtocolError) as exc:
        room.receive(peer, frame)
    assert exc.value.close_code == CloseCode.INVALID_PAYLOAD
    assert room.awareness_states() == {}


def test_two_tabs_of_one_user_cannot_take_each_others_ids() -> None:
    room = Room("doc-1")
    tab_a = SimClient("a", user_id="user-same")
    tab_b = SimClient("b", user_id="user-same")
    _connected(room, tab_a, tab_b)
    held = tab_a.awareness.client_id
    room.receive(tab_b, _awareness_frame((held, 500, {"cursor": "b"})))
    assert "cursor" not in room.awareness_states()[held]
    room.remove_peer(tab_b)
    assert held in room.awareness_states()  # tab B leaving does not take tab A's state along


def test_a_stale_echo_does_not_resurrect_a_departed_state() -> None:
    room = Room("doc-1")
    tab_a = SimClient("a", user_id="user-same")
    tab_b = SimClient("b", user_id="user-same")
    _connected(room, tab_a, tab_b)
    departed = tab_a.awareness.client_id
    tab_a.awareness.set_local_state_field("cursor", 7)
    room.receive(tab_a, tab_a.outbox.pop())
    # Tab B re-sends what it just heard, but tab A's connection closes before that arrives.
    tab_b.process_inbox()
    echo = tab_b.outbox.pop()
    room.remove_peer(tab_a)
    room.receive(tab_b, echo)
    assert departed not in room.awareness_states()


def test_an_oversized_state_closes_with_1009() -> None:
    room = Room("doc-1", limits=RoomLimits(max_awareness_state_bytes=64))
    peer = FakePeer("p")
    room.add_peer(peer)
    room.receive(peer, _awareness_frame((1, 1, {"pad": "x" * 40})))
    with pytest.raises(ProtocolError) as exc:
        room.receive(peer, _awareness_frame((1, 2, {"pad": "é" * 40})))  # 80 bytes, 40 characters
    assert (exc.value.close_code, exc.value.reason) == (CloseCode.MESSAGE_TOO_BIG, "awareness_too_large")
    assert room.awareness_states()[1]["pad"] == "x" * 40
