"""Room behaviour: sync, relay, permissions, origins, limits, saved receipts."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest

from collabcode.collab.protocol import (
    EMPTY_UPDATE,
    CloseCode,
    ProtocolError,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_saved,
    encode_sync_step1,
    encode_sync_update,
)
from collabcode.collab.room import ORIGIN_SERVER, AppliedUpdate, CorruptDocumentError, Room, RoomLimits
from tests.collab import FakePeer, SimClient, pump, text_update


def _recorder() -> tuple[list[AppliedUpdate], Any]:
    applied: list[AppliedUpdate] = []
    return applied, applied.append


def test_two_clients_converge_through_the_room() -> None:
    room = Room("doc-1")
    alice, bob = SimClient("alice"), SimClient("bob")
    for client in (alice, bob):
        room.add_peer(client)
        client.connect()
    pump(room, alice, bob)
    alice.text.insert(0, "hello")
    bob.text.insert(0, "world")  # concurrent: neither has seen the other's edit
    pump(room, alice, bob)
    assert str(alice.text) == str(bob.text) == room.text
    assert sorted(room.text) == sorted("helloworld")


def test_late_joiner_with_offline_edits_syncs_both_ways() -> None:
    room = Room("doc-1", state=text_update("server "))
    late = SimClient("late")
    late.text.insert(0, "offline")
    late.outbox.clear()  # edits made before connecting are exchanged by the sync handshake
    room.add_peer(late)
    late.connect()
    pump(room, late)
    assert "offline" in room.text and "server" in room.text
    assert str(late.text) == room.text


def test_update_is_encoded_once_and_not_echoed_to_its_sender() -> None:
    applied, hook = _recorder()
    room = Room("doc-1", on_update=hook)
    a, b, c = FakePeer("a"), FakePeer("b"), FakePeer("c")
    for peer in (a, b, c):
        room.add_peer(peer)
    update = text_update("x")
    room.receive(a, encode_sync_update(update))
    assert a.sent == []
    assert len(b.sent) == len(c.sent) == 1
    assert b.sent[0] is c.sent[0]
    assert decode_message(b.sent[0]) == SyncUpdate(applied[0].update)
    assert [(u.index, u.origin) for u in applied] == [(1, a)]
    # A duplicate changes nothing: not relayed, not stored again.
    room.receive(b, encode_sync_update(update))
    assert len(applied) == 1 and len(a.sent) == 0


def test_step1_answers_with_diff_and_asks_writers_only() -> None:
    room = Room("doc-1", state=text_update("abc"))
    writer, viewer = FakePeer("w"), FakePeer("v", can_write=False)
    for peer in (writer, viewer):
        room.add_peer(peer)
        room.receive(peer, encode_sync_step1(b"\x00"))
    first, second = map(decode_message, writer.sent)
    assert isinstance(first, SyncStep2) and isinstance(second, SyncStep1)
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.apply_update(first.update)
    assert str(doc.get("content", type=pycrdt.Text)) == "abc"
    assert [type(decode_message(m)) for m in viewer.sent] == [SyncStep2]


def test_viewer_write_is_dropped_and_flagged_for_1008() -> None:
    applied, hook = _recorder()
    room = Room("doc-1", state=text_update("original"), on_update=hook)
    viewer, other = FakePeer("v", can_write=False), FakePeer("o")
    room.add_peer(viewer)
    room.add_peer(other)
    before = room.encoded_state()
    with pytest.raises(ProtocolError) as exc:
        room.receive(viewer, encode_sync_update(text_update("defaced")))
    assert exc.value.close_code == CloseCode.POLICY_VIOLATION
    assert exc.value.reason == "read_only"
    assert room.encoded_state() == before and room.text == "original"
    assert other.sent == [] and applied == []


def test_viewer_empty_update_is_ignored() -> None:
    room = Room("doc-1")
    viewer = FakePeer("v", can_write=False)
    room.add_peer(viewer)
    room.receive(viewer, encode_sync_update(EMPTY_UPDATE))
    room.receive(viewer, b"\x00\x01\x02" + EMPTY_UPDATE)  # an empty step 2
    assert room.text == ""


def test_permission_change_applies_to_the_next_frame() -> None:
    room = Room("doc-1")
    peer = FakePeer("p")
    room.add_peer(peer)
    room.receive(peer, encode_sync_update(text_update("a", client_id=1)))
    peer.can_write = False
    with pytest.raises(ProtocolError):
        room.receive(peer, encode_sync_update(text_update("b", client_id=2)))
    peer.can_write = True
    room.receive(peer, encode_sync_update(text_update("c", client_id=3)))
    assert sorted(room.text) == ["a", "c"]


def test_malformed_update_leaves_the_doc_unchanged() -> None:
    applied, hook = _recorder()
    room = Room("doc-1", state=text_update("keep"), on_update=hook)
    peer, other = FakePeer("p"), FakePeer("o")
    room.add_peer(peer)
    room.add_peer(other)
    before = room.encoded_state()
    bad = text_update("inserted")[:-4]
    with pytest.raises(ProtocolError) as exc:
        room.receive(peer, encode_sync_update(bad))
    assert exc.value.close_code == CloseCode.INVALID_PAYLOAD
    assert room.encoded_state() == before
    assert other.sent == [] and applied == []


def test_saved_frames_from_clients_are_refused() -> None:
    room = Room("doc-1")
    peer = FakePeer("p")
    room.add_peer(peer)
    with pytest.raises(ProtocolError) as exc:
        room.receive(peer, encode_saved(1))
    assert exc.value.close_code == CloseCode.INVALID_PAYLOAD


def test_remote_changes_are_relayed_but_not_stored() -> None:
    applied, hook = _recorder()
    room = Room("doc-1", on_update=hook)
    a, b = FakePeer("a"), FakePeer("b")
    room.add_peer(a)
    room.add_peer(b)
    room.apply_remote(text_update("from another process"))
    assert room.text == "from another process"
    assert len(a.sent) == len(b.sent) == 1 and a.sent[0] is b.sent[0]
    assert applied == []


def test_server_changes_are_relayed_and_stored() -> None:
    applied, hook = _recorder()
    room = Room("doc-1", on_update=hook)
    a = FakePeer("a")
    room.add_peer(a)
    room.apply_server_update(text_update("generated"))
    assert [u.origin for u in applied] == [ORIGIN_SERVER]
    assert len(a.sent) == 1


def test_replace_text_edits_only_the_difference() -> None:
    applied, hook = _recorder()
    room = Room("doc-1", on_update=hook)
    client = SimClient("c")
    room.add_peer(client)
    client.connect()
    pump(room, client)
    body = "def f():\n    return '😀' * 100\n" * 50
    room.replace_text(body)
    room.replace_text(body.replace("return '😀'", "return '🎉'", 1))
    pump(room, client)
    assert str(client.text) == room.text == body.replace("return '😀'", "return '🎉'", 1)
    assert len(applied) == 2
    assert len(applied[1].update) < 100  # a small edit, not a rewrite of the whole file
    room.replace_text(room.text)
    assert len(applied) == 2  # no change, nothing stored
    room.replace_text("")
    assert room.text == "" and str(client.text) != ""  # until delivered
    pump(room, client)
    assert str(client.text) == ""


def test_document_size_limit_refuses_growth_but_allows_deletion() -> None:
    state = text_update("x" * 400)
    room = Room("doc-1", state=state, limits=RoomLimits(max_doc_bytes=len(state) + 2))
    client = SimClient("c")
    room.add_peer(client)
    client.connect()
    pump(room, client)
    before = room.encoded_state()
    client.text.insert(0, "y" * 10)
    with pytest.raises(ProtocolError) as exc:
        pump(room, client)
    assert (exc.value.close_code, exc.value.reason) == (CloseCode.MESSAGE_TOO_BIG, "doc_too_large")
    assert room.encoded_state() == before
    with pytest.raises(ProtocolError):
        room.replace_text("z" * 1000)
    assert room.encoded_state() == before
    # At the limit a deletion still goes through: the check measures the result exactly.
    fresh = SimClient("d")
    room.add_peer(fresh)
    fresh.connect()
    pump(room, fresh)
    del fresh.text[0:300]
    pump(room, fresh)
    assert room.text == "x" * 100
    assert len(room.encoded_state()) < len(state)


def test_saved_is_sent_only_to_opted_in_peers_after_durability() -> None:
    room = Room("doc-1", on_update=lambda _: None)
    mine, stock = FakePeer("mine", wants_saved=True), FakePeer("stock")
    room.add_peer(mine)
    room.add_peer(stock)
    room.receive(mine, encode_sync_update(text_update("a", client_id=1)))
    room.receive(stock, encode_sync_update(text_update("b", client_id=2)))
    room.receive(mine, encode_sync_update(text_update("c", client_id=3)))
    assert mine.saved() == []
    room.mark_durable(1)
    assert mine.saved() == [1]
    room.mark_durable(3)
    assert mine.saved() == [1, 2]
    room.receive(mine, encode_sync_update(EMPTY_UPDATE))  # nothing new to wait for
    assert mine.saved() == [1, 2, 3]
    assert stock.saved() == []
    assert all(m[0] != 100 for m in stock.sent)


def test_a_failing_peer_does_not_stop_delivery() -> None:
    room = Room("doc-1")

    class Broken(FakePeer):
        def send(self, data: bytes) -> None:
            raise ConnectionError("queue full")

    sender, broken, healthy = FakePeer("s"), Broken("b"), FakePeer("h")
    for peer in (sender, broken, healthy):
        room.add_peer(peer)
    room.receive(sender, encode_sync_update(text_update("x")))
    assert len(healthy.sent) == 1


def test_stored_state_that_does_not_decode_is_refused() -> None:
    with pytest.raises(CorruptDocumentError):
        Room("doc-1", state=b"\xff\xff\xff")


def test_unknown_peer_and_closed_room() -> None:
    room = Room("doc-1")
    with pytest.raises(KeyError):
        room.receive(FakePeer("ghost"), encode_sync_update(EMPTY_UPDATE))
    room.close()
    with pytest.raises(RuntimeError):
        room.add_peer(FakePeer("late"))


def _two_edits() -> tuple[bytes, bytes]:
    """Two successive updates of one client; the second depends on the first."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=77)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("content", type=pycrdt.Text)
    text.insert(0, "first ")
    text.insert(6, "second")
    return updates[0], updates[1]


def test_an_update_arriving_before_its_dependency_is_integrated_later() -> None:
    room = Room("doc-1")
    peer = FakePeer("p")
    room.add_peer(peer)
    first, second = _two_edits()
    room.receive(peer, encode_sync_update(second))
    assert room.text == "" and room.pending_bytes == len(second)
    room.receive(peer, encode_sync_update(first))
    assert room.text == "first second"


def test_pending_parts_past_the_budget_are_dropped() -> None:
    room = Room("doc-1", limits=RoomLimits(max_pending_bytes=0))
    peer = FakePeer("p")
    room.add_peer(peer)
    first, second = _two_edits()
    room.receive(peer, encode_sync_update(second))
    assert room.pending_bytes == 0  # over budget: the document was rebuilt without it
    room.receive(peer, encode_sync_update(first))
    assert room.text == "first "
    room.receive(peer, encode_sync_update(text_update("still editable", client_id=5)))
    assert "still editable" in room.text


def test_deleting_unknown_ranges_counts_as_pending() -> None:
    room = Room("doc-1", state=text_update("abc", client_id=5))
    peer = FakePeer("p")
    room.add_peer(peer)
    # Empty struct section; delete set: client 5, one range at clock 1000, length 3.
    room.receive(peer, encode_sync_update(b"\x00\x01\x05\x01\xe8\x07\x03"))
    assert room.pending_bytes > 0
    # Deleting a range the document has is an ordinary change.
    known = Room("doc-2", state=text_update("abc", client_id=5))
    known.add_peer(peer)
    known.receive(peer, encode_sync_update(b"\x00\x01\x05\x01\x00\x01"))
    assert known.text == "bc" and known.pending_bytes == 0


def test_doc_transactions_carry_the_origin() -> None:
    room = Room("doc-1")
    peer = FakePeer("p")
    room.add_peer(peer)
    origins: list[object] = []
    text = room.doc.get("content", type=pycrdt.Text)
    text.observe(lambda event: origins.append(event.transaction.origin))
    room.receive(peer, encode_sync_update(text_update("a", client_id=1)))
    room.apply_remote(text_update("b", client_id=2))
    room.apply_server_update(text_update("c", client_id=3))
    assert origins == ["peer:p", "remote", "server"]
