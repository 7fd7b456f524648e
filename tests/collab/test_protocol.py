"""The wire format matches pycrdt's (and so y-protocols') byte for byte, and hostile frames fail
with exactly one exception type carrying the right close code."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collabcode.collab.protocol import (
    MAX_SAFE_INTEGER,
    AuthMessage,
    AwarenessEntry,
    AwarenessMessage,
    CloseCode,
    ProtocolError,
    QueryAwareness,
    Reader,
    Saved,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_awareness_update,
    decode_message,
    decode_state_vector,
    encode_auth_denied,
    encode_awareness,
    encode_awareness_update,
    encode_query_awareness,
    encode_saved,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    guarded,
    parse_awareness_state,
    validate_update,
    write_var_uint,
)
from tests.collab import text_update


def _doc(text: str) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc


def _code(exc: pytest.ExceptionInfo[ProtocolError]) -> int:
    return exc.value.close_code


# --------------------------------------------------------------------------- round trips


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=MAX_SAFE_INTEGER))
def test_varuint_matches_pycrdt_and_round_trips(value: int) -> None:
    encoded = write_var_uint(value)
    assert encoded == pycrdt.write_var_uint(value)
    reader = Reader(encoded)
    assert reader.read_var_uint() == value
    assert reader.remaining == 0


def test_decodes_pycrdt_sync_step1() -> None:
    doc = _doc("hello")
    message = decode_message(pycrdt.create_sync_message(doc))
    assert message == SyncStep1(doc.get_state())
    assert decode_state_vector(doc.get_state()) == {doc.client_id: 5}


def test_decodes_pycrdt_step2_reply_and_update() -> None:
    source = _doc("hello")
    target: pycrdt.Doc[Any] = pycrdt.Doc()
    reply = pycrdt.handle_sync_message(pycrdt.create_sync_message(target)[1:], source)
    assert reply is not None
    assert decode_message(reply) == SyncStep2(source.get_update(target.get_state()))
    update = source.get_update()
    assert decode_message(pycrdt.create_update_message(update)) == SyncUpdate(update)


def test_pycrdt_accepts_our_sync_messages() -> None:
    source = _doc("shared text")
    target: pycrdt.Doc[Any] = pycrdt.Doc()
    ours = encode_sync_step1(target.get_state())
    assert ours == pycrdt.create_sync_message(target)
    reply = pycrdt.handle_sync_message(ours[1:], source)
    assert reply == encode_sync_step2(source.get_update(target.get_state()))
    assert pycrdt.handle_sync_message(encode_sync_step2(source.get_update())[1:], target) is None
    assert str(target.get("content", type=pycrdt.Text)) == "shared text"
    assert encode_sync_update(b"\x01\x02") == pycrdt.create_update_message(b"\x01\x02")


def test_awareness_round_trip_with_pycrdt() -> None:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    awareness = pycrdt.Awareness(doc)
    awareness.set_local_state({"cursor": {"anchor": 3}, "user": {"name": "ada"}})
    payload = awareness.encode_awareness_update([awareness.client_id])
    message = decode_message(pycrdt.create_awareness_message(payload))
    assert isinstance(message, AwarenessMessage)
    (entry,) = message.entries
    assert entry.client_id == awareness.client_id
    assert entry.clock == 1
    assert json.loads(entry.state_json) == {"cursor": {"anchor": 3}, "user": {"name": "ada"}}
    # Our encoding is the same bytes, and pycrdt applies it.
    assert encode_awareness_update([entry]) == payload
    assert encode_awareness(payload) == pycrdt.create_awareness_message(payload)
    other = pycrdt.Awareness(pycrdt.Doc())
    other.apply_awareness_update(encode_awareness_update([entry]), "test")
    assert other.states[awareness.client_id]["cursor"] == {"anchor": 3}


def test_non_ascii_awareness_uses_byte_lengths() -> None:
    entry = AwarenessEntry(7, 2, json.dumps({"name": "Zoë 😀"}, ensure_ascii=False))
    assert decode_awareness_update(encode_awareness_update([entry])) == (entry,)


def test_other_message_types_round_trip() -> None:
    assert decode_message(encode_query_awareness()) == QueryAwareness()
    assert decode_message(encode_saved(123456)) == Saved(123456)
    assert decode_message(encode_auth_denied("no access")) == AuthMessage(0, "no access")
    assert encode_saved(5)[0] == 100  # a type stock clients never handle


# --------------------------------------------------------------------------- hostile frames


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00", id="sync-without-step"),
        pytest.param(b"\x00\x00", id="step1-without-payload"),
        pytest.param(b"\x00\x02\x05\x00\x00", id="length-beyond-buffer"),
        pytest.param(encode_sync_update(b"\x00\x00") + b"\x00", id="trailing-byte"),
        pytest.param(b"\x00\x07\x00", id="unknown-sync-step"),
        pytest.param(b"\x09", id="unknown-type"),
        pytest.param(b"\x80" * 11, id="varint-too-long"),
        pytest.param(write_var_uint(2**53) + b"\x00", id="varint-above-2**53"),
        pytest.param(b"\x03\x00", id="query-with-payload"),
        pytest.param(encode_sync_step1(b"\x05"), id="step1-bad-state-vector"),
        pytest.param(encode_sync_step1(b"\x01\x01"), id="step1-truncated-state-vector"),
        pytest.param(encode_awareness(b"\x01\x01\x01\x02\xff\xfe"), id="awareness-not-utf8"),
        pytest.param(encode_awareness(b"\xff\xff\xff\x0f"), id="awareness-count-lies"),
        pytest.param(b"\x02\x00\x05ab", id="auth-truncated"),
    ],
)
def test_malformed_frames_are_1007(frame: bytes) -> None:
    with pytest.raises(ProtocolError) as exc:
        decode_message(frame)
    assert _code(exc) == CloseCode.INVALID_PAYLOAD


def test_oversized_frame_is_1009_before_parsing() -> None:
    frame = encode_sync_update(b"\x00" * 100)
    with pytest.raises(ProtocolError) as exc:
        decode_message(frame, max_bytes=50)
    assert _code(exc) == CloseCode.MESSAGE_TOO_BIG
    assert exc.value.reason == "message_too_large"
    assert decode_message(frame, max_bytes=len(frame)) == SyncUpdate(b"\x00" * 100)


def test_reason_never_echoes_input() -> None:
    with pytest.raises(ProtocolError) as exc:
        decode_message(b"\x02\x00\x09evil")
    assert "evil" not in str(exc.value)


@pytest.mark.parametrize(
    "state",
    ["[1, 2]", '"text"', "3", "{", '{"a": NaN}', '{"a": Infinity}', "[" * 100_000, "1" * 5000],
)
def test_awareness_state_must_be_an_object_or_null(state: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        parse_awareness_state(state)
    assert _code(exc) == CloseCode.INVALID_PAYLOAD


def test_awareness_state_object_and_null() -> None:
    assert parse_awareness_state('{"a": 1}') == {"a": 1}
    assert parse_awareness_state("null") is None


# --------------------------------------------------------------------------- pycrdt guard


class FakePanic(BaseException):
    """Stands in for pyo3's PanicException, which derives from BaseException."""


def _raise(exc: BaseException) -> None:
    raise exc


def test_guard_turns_panics_into_1007() -> None:
    with pytest.raises(ProtocolError) as exc:
        guarded(lambda: _raise(FakePanic("rust panicked")))
    assert _code(exc) == CloseCode.INVALID_PAYLOAD
    assert isinstance(exc.value.__cause__, FakePanic)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(1), asyncio.CancelledError(), GeneratorExit()])
def test_guard_lets_exits_and_cancellation_through(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        guarded(lambda: _raise(exc))


def test_validate_update_accepts_real_updates() -> None:
    validate_update(text_update("hi"))


@pytest.mark.parametrize(
    "update",
    [
        pytest.param(b"\x01", id="truncated"),
        pytest.param(b"\xff" * 20, id="garbage"),
        pytest.param(text_update("abc")[:-3], id="cut-short"),
        pytest.param(write_var_uint(2**31) + b"\x00", id="huge-client-count"),
    ],
)
def test_validate_update_rejects_undecodable_updates(update: bytes) -> None:
    with pytest.raises(ProtocolError) as exc:
        validate_update(update)
    assert _code(exc) == CloseCode.INVALID_PAYLOAD
