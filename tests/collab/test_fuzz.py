"""Random, truncated and mutated frames: the room raises nothing but ProtocolError, a rejected
frame changes nothing, and the other peers keep working."""

from __future__ import annotations

from typing import Any

import pycrdt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collabcode.collab.protocol import (
    CloseCode,
    ProtocolError,
    encode_auth_denied,
    encode_awareness,
    encode_query_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
)
from collabcode.collab.room import AppliedUpdate, Room, RoomLimits
from tests.collab import FakePeer, text_update

STORED = text_update("def main():\n    return 42\n", client_id=1)


def _corpus() -> list[bytes]:
    """Valid frames of every kind, produced by pycrdt as a real client would."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=2)
    doc.apply_update(STORED)
    text = doc.get("content", type=pycrdt.Text)
    meta = doc.get("meta", type=pycrdt.Map)
    frames = [pycrdt.create_sync_message(doc), encode_sync_step1(b"\x00")]
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text.insert(4, "fuzz_")
    del text[0:3]
    text.insert(len(text), " ✓ 😀")
    meta["lang"] = "python"
    frames += [pycrdt.create_update_message(u) for u in updates]
    frames.append(encode_sync_step2(doc.get_update(pycrdt.get_state(STORED))))
    awareness = pycrdt.Awareness(doc)
    awareness.set_local_state({"cursor": {"anchor": 1, "head": 5}, "user": {"name": "x"}})
    frames.append(encode_awareness(awareness.encode_awareness_update([awareness.client_id])))
    frames += [encode_query_awareness(), encode_auth_denied("nope"), encode_sync_update(b"\x00\x00")]
    return frames


CORPUS = _corpus()

mutation = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 400)),
    st.tuples(st.just("flip"), st.integers(0, 400), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 400), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 400), st.integers(1, 8)),
)


def _mutate(frame: bytes, mutations: list[tuple[Any, ...]]) -> bytes:
    data = bytearray(frame)
    for op, pos, *arg in mutations:
        pos = pos % (len(data) + 1)
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and data:
            data[pos % len(data)] = arg[0]
        elif op == "insert":
            data.insert(pos, arg[0])
        elif op == "delete":
            del data[pos : pos + arg[0]]
    return bytes(data)


frames = st.one_of(
    st.binary(max_size=64),
    st.builds(_mutate, st.sampled_from(CORPUS), st.lists(mutation, min_size=1, max_size=4)),
    st.sampled_from(CORPUS),
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=frames, can_write=st.booleans())
def test_hostile_frames_only_raise_protocol_error(data: bytes, can_write: bool) -> None:
    applied: list[AppliedUpdate] = []
    room = Room(
        "doc-fuzz",
        state=STORED,
        limits=RoomLimits(max_message_bytes=4096, max_doc_bytes=8192),
        on_update=applied.append,
    )
    fuzzer = FakePeer("fuzzer", user_id="u-fuzz", can_write=can_write)
    other = FakePeer("other", user_id="u-other")
    room.add_peer(fuzzer)
    room.add_peer(other)
    before_state, before_awareness = room.encoded_state(), room.awareness_states()

    try:
        room.receive(fuzzer, data)
    except ProtocolError as exc:
        assert exc.close_code in {
            CloseCode.INVALID_PAYLOAD,
            CloseCode.POLICY_VIOLATION,
            CloseCode.MESSAGE_TOO_BIG,
        }
        assert room.encoded_state() == before_state
        assert room.awareness_states() == before_awareness
        assert other.sent == [] and applied == []
    else:
        # Whatever was accepted left a document every client can load.
        copy: pycrdt.Doc[Any] = pycrdt.Doc()
        copy.apply_update(room.encoded_state())
        assert str(copy.get("content", type=pycrdt.Text)) == room.text

    # The room still serves everyone else.
    other.sent.clear()
    room.receive(other, encode_sync_update(text_update("still alive", client_id=99)))
    assert "still alive" in room.text
    assert fuzzer.sent[-1] == other_update_frame(room, applied)


def other_update_frame(room: Room, applied: list[AppliedUpdate]) -> bytes:
    """The frame the fuzzer must have received for the other peer's edit."""
    return encode_sync_update(applied[-1].update)
