"""Property-based fuzzing of every WebSocket message handler (issue #11).

Hypothesis generates hostile frames (valid frames mutated: truncated, bytes flipped, fields of
the wrong type, huge strings, deep nesting, unknown types, valid types with hostile fields) and
``mallory`` sends them on a fresh socket per example. After every example:

- the socket either answered (an ``error`` frame for a bad frame) or was closed with a contract
  close code (docs/protocol.md: 1003 wrong data type, 1007 bad frame, 1008 policy, 1009 too big,
  1013 overload, 4429 rate), never 1011, and the server logged no crash; a frame that must close
  the socket (not JSON, too deep, too big, binary, claiming an identity) does close it, and every
  frame that must be refused gets an ``error`` frame carrying its ``ref``;
- the bystanders' data is unchanged: the alice-bob conversation, alice's messages to mallory, the
  call alice placed to bob, the document bob is editing (text and bob's cursor);
- the server still serves the bystanders' sockets, open since the start.

Runs on one app (SQLite, fake clock so the bystanders' call keeps ringing) in a background thread.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from websockets.asyncio.client import connect

from collabcode.collab.protocol import (
    AwarenessEntry,
    encode_auth_denied,
    encode_awareness,
    encode_awareness_update,
    encode_query_awareness,
    encode_saved,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    write_var_uint,
)
from collabcode.realtime.frames import IDENTITY_FIELDS
from collabcode.realtime.hub import events_hub
from tests.collab.live import joined
from tests.fuzz.leaks import leaked_trace
from tests.fuzz.ws_world import (
    BOB_CLIENT,
    BOB_TEXT,
    OWN,
    SHARED,
    World,
    drain,
    dumps,
    frame_model,
    send_all,
    start_world,
    stop_world,
)

pytestmark = [
    # On a failure hypothesis imports libcst to suggest a patch, and libcst trips a deprecation
    # warning (an error under this suite's filterwarnings) that would hide the failing example.
    pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"),
    # The server runs in another thread and uses the random module (jittered timers); hypothesis
    # sees the global random state move during a draw and blames the strategies.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

#: Close codes the contract allows after a client's bad frames (never 1011). 1013 (try again
#: later) is an overload answer, not a verdict on the frame, but a busy machine may give it.
COLLAB_CLOSES = {1003, 1007, 1008, 1009, 1013, 4429}
EVENTS_CLOSES = {1003, 1007, 1008, 1009, 1013, 4429}
EVENTS_MAX_FRAME = 64 * 1024
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    running = start_world(Path(tmp_path_factory.mktemp("ws-fuzz")) / "data")
    try:
        yield running
    finally:
        stop_world(running)


# ---------------------------------------------------------------------------------------- collab

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


awareness_states = st.one_of(
    st.just("null"),
    json_values.map(json.dumps),
    st.dictionaries(st.sampled_from(["user", "cursor", "assistant", "name", "color"]), json_values).map(json.dumps),
    st.integers(1, 3000).map(nested),
    st.integers(1000, 300_000).map(lambda n: '{"user": {"name": "' + "x" * n + '"}}'),
    st.sampled_from(['{"a": NaN}', '{"user": {"name": Infinity}}', "{", "[1,2", '"just a string"', "1e999999"]),
    st.text(max_size=40),
)
awareness_entries = st.builds(
    AwarenessEntry,
    client_id=st.one_of(st.just(BOB_CLIENT), st.integers(0, 2**53 - 1), st.just(2**53 - 1)),
    clock=st.one_of(st.integers(0, 10), st.integers(0, 2**53 - 1)),
    state_json=awareness_states,
)


#: Client ids of generated documents (drawn, never random: the same draw must give the same bytes).
client_ids = st.integers(1, 2**32) | st.just(2**53 - 1)


def update_of(text: str, delete: bool, client_id: int) -> bytes:
    """A v1 update from a fresh document: an insert, or an insert then a deletion of it."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
    content = doc.get("content", type=pycrdt.Text)
    content.insert(0, text)
    if delete and text:
        content.clear()
    return doc.get_update()


def state_vector_of(text: str, client_id: int) -> bytes:
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
    doc.get("content", type=pycrdt.Text).insert(0, text)
    return doc.get_state()


def weighted(choices: dict[str, tuple[int, st.SearchStrategy[Any]]]) -> st.SearchStrategy[Any]:
    """One of ``choices``, picked ``weight`` times as often as a weight of 1."""
    names = [name for name, (weight, _) in choices.items() for _ in range(weight)]
    return st.sampled_from(names).flatmap(lambda name: choices[name][1])


valid_collab_frames = weighted(
    {
        "step1": (2, st.builds(state_vector_of, st.text(max_size=30), client_ids).map(encode_sync_step1)),
        "update": (
            3,
            st.builds(update_of, st.text(min_size=1, max_size=40), st.booleans(), client_ids).flatmap(
                lambda update: st.sampled_from([encode_sync_update(update), encode_sync_step2(update)])
            ),
        ),
        "empty_update": (1, st.just(encode_sync_update(b"\x00\x00"))),
        "awareness": (
            5,
            st.lists(awareness_entries, max_size=4).map(lambda e: encode_awareness(encode_awareness_update(e))),
        ),
        "query": (1, st.just(encode_query_awareness())),
        "auth": (1, st.text(max_size=20).map(encode_auth_denied)),
        "saved": (1, st.integers(0, 2**53).map(encode_saved)),
    }
)


@st.composite
def mutated(draw: st.DrawFn, frames: st.SearchStrategy[bytes]) -> bytes:
    """A valid frame, possibly damaged: truncated, a byte flipped, junk added, a huge varint."""
    frame = draw(frames)
    # Mostly intact, so later frames of an example are still read before the socket closes.
    how = draw(st.sampled_from(["keep"] * 6 + ["truncate", "flip", "append", "prefix", "varint", "length"]))
    if how == "truncate" and frame:
        return frame[: draw(st.integers(0, len(frame) - 1))]
    if how == "flip" and frame:
        at = draw(st.integers(0, len(frame) - 1))
        return frame[:at] + bytes([frame[at] ^ draw(st.integers(1, 255))]) + frame[at + 1 :]
    if how == "append":
        return frame + draw(st.binary(min_size=1, max_size=16))
    if how == "prefix":
        return draw(st.binary(min_size=1, max_size=4)) + frame
    if how == "varint":
        # An over-long or over-large varint where the message type or a length goes.
        return draw(st.sampled_from([b"\xff" * 11, b"\x80" * 10 + b"\x01", write_var_uint(2**53)])) + frame[1:]
    if how == "length" and len(frame) > 2:
        # Claim a payload far longer than the frame.
        return frame[:2] + write_var_uint(draw(st.integers(len(frame), 2**40))) + frame[3:]
    return frame


def hostile_bob_updates() -> list[bytes]:
    """Valid updates against bob's document: delete his text, insert into it, replace it."""
    replica: pycrdt.Doc[Any] = pycrdt.Doc()
    replica.get("content", type=pycrdt.Text).insert(0, BOB_TEXT)
    updates: list[bytes] = []
    for edit in ("delete", "insert", "replace"):
        doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=BOB_CLIENT)
        text = doc.get("content", type=pycrdt.Text)
        text.insert(0, BOB_TEXT)
        before = doc.get_state()
        if edit == "delete":
            del text[0:10]
        elif edit == "insert":
            text.insert(5, "pwned")
        else:
            text.clear()
            text.insert(0, "pwned")
        updates.append(encode_sync_update(doc.get_update(before)))
        updates.append(encode_sync_step2(doc.get_update()))
    return updates


collab_frames = weighted(
    {
        "frame": (12, mutated(valid_collab_frames)),
        "hostile_update": (2, st.sampled_from(hostile_bob_updates())),
        "bytes": (1, st.binary(max_size=64)),
        "text": (1, st.text(max_size=20)),  # a text frame on a binary protocol
    }
)


async def collab_attack(world: World, which: str, frames: list[bytes | str]) -> tuple[int | None, str]:
    """mallory sends ``frames`` then a frame no client may send (closes with 1007); the close."""
    url = world.collab_url(which)
    ws = await connect(url, additional_headers=world.headers("mallory"), max_size=None, open_timeout=10)
    await send_all(ws, [*frames, encode_saved(1)])
    try:
        async for _ in ws:
            pass
    except Exception:
        pass  # any way the socket ends; the close frame below tells how
    await world.wait_gone(lambda: world.collab_open("mallory"), "mallory's collab socket")
    received = ws.protocol.close_rcvd
    return (received.code, received.reason) if received is not None else (None, "")


def check_collab(world: World, code: int | None, reason: str) -> None:
    assert code in COLLAB_CLOSES, f"closed with {code} {reason!r}"
    assert not world.app.errors.crashes(), world.app.errors.crashes()
    world.app.run(world.shared_document_intact())


@FUZZ
@given(
    frames=st.lists(collab_frames, min_size=1, max_size=6),
    target=st.sampled_from([SHARED, OWN]),
)
def test_collab_frames_never_crash_or_touch_the_bystander(world: World, frames: list[bytes | str], target: str) -> None:
    world.app.errors.clear()
    code, reason = world.app.run(collab_attack(world, target, frames))
    check_collab(world, code, reason)


def test_collab_viewer_is_closed_1008_for_a_write(world: World) -> None:
    """The sharpest case, pinned: a read-only peer's valid edit of the shared document."""
    code, reason = world.app.run(collab_attack(world, SHARED, hostile_bob_updates()[:1]))
    assert (code, reason) == (1008, "read_only")
    check_collab(world, code, reason)


def test_collab_oversized_frame_closes_1009(world: World) -> None:
    frame = encode_sync_update(b"\x00" * (5 * 1024 * 1024))
    code, reason = world.app.run(collab_attack(world, OWN, [frame]))
    assert code == 1009, (code, reason)
    check_collab(world, code, reason)


def test_collab_keeps_serving_a_second_client_on_mallorys_document(world: World) -> None:
    """After all the damage, a writer still edits mallory's document normally."""

    async def edit() -> None:
        writer = await joined("writer", world.collab_url(OWN), headers=world.headers("mallory"))
        reader = await joined("reader", world.collab_url(OWN), headers=world.headers("mallory"))
        try:
            writer.type("still works")
            await reader.wait_for(lambda: "still works" in str(reader.text), "the edit to arrive")
        finally:
            await writer.close()
            await reader.close()

    world.app.run(edit())


# ---------------------------------------------------------------------------------------- events

hostile_values = st.one_of(
    json_values,
    st.integers(1000, 70_000).map(lambda n: "x" * n),
    st.integers(9, 40).map(lambda d: json.loads(nested(d))),
    st.sampled_from(["", " ", "\u202e", "\x00", "a" * 33, "A" * 32, "../../etc/passwd", "<script>"]),
)


def templates(world: World) -> list[dict[str, Any]]:
    """One valid frame per served type, aimed at the bystanders' data wherever an id goes."""
    alice, bob = world.people["alice"].id, world.people["bob"].id
    pair, own, call = world.pair_conversation, world.mallory_conversation, world.call_id
    message = world.alice_messages[0]
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    frames: list[dict[str, Any]] = [
        {"type": "ping"},
        {"type": "presence.set", "state": "away"},
        {"type": "message.send", "conversation_id": pair, "client_id": "c1", "body": "injected"},
        {"type": "message.send", "conversation_id": own, "client_id": "c2", "body": "hello"},
        {"type": "message.edit", "conversation_id": pair, "message_id": message, "body": "edited"},
        {"type": "message.edit", "conversation_id": own, "message_id": world.alice_messages[-1], "body": "edited"},
        {"type": "message.delete", "conversation_id": pair, "message_id": message},
        {"type": "message.delete", "conversation_id": own, "message_id": world.alice_messages[-1]},
        {"type": "message.read", "conversation_id": pair, "message_id": message},
        {"type": "message.read", "conversation_id": own, "message_id": world.alice_messages[-1]},
        {"type": "typing", "conversation_id": pair, "active": True},
        {"type": "rtc.offer", "call_id": call, "to": bob, "sdp": sdp},
        {"type": "rtc.answer", "call_id": call, "to": alice, "sdp": sdp},
        {"type": "rtc.candidate", "call_id": call, "to": bob, "candidate": {"candidate": "candidate:1 1 udp 1 h"}},
        {"type": "rtc.candidate", "call_id": call, "to": alice, "candidate": None},
        *({"type": f"call.{action}", "call_id": call} for action in ("accept", "decline", "cancel", "end")),
    ]
    served = {frame["type"] for frame in frames}
    missing = set(events_types(world)) - served
    assert not missing, f"frame types without a fuzz template: {sorted(missing)}"
    return frames


def events_types(world: World) -> list[str]:
    return sorted(events_hub(world.app.services).handlers)


@st.composite
def events_frame(draw: st.DrawFn, bases: list[dict[str, Any]], index: int) -> bytes | str:
    """A frame built from a template, then damaged as JSON or as text."""
    frame = dict(draw(st.sampled_from(bases)))
    frame["ref"] = f"f{index}"
    # Damage that closes the socket (identity, text) is rarer, so most examples send several frames.
    how = draw(
        st.sampled_from(
            ["keep"] * 3
            + ["retype"] * 4
            + ["random_id"] * 2
            + ["drop", "extra", "unknown", "shape", "text", "identity"]
        )
    )
    fields = [k for k in frame if k != "ref"]
    if how == "drop":
        del frame[draw(st.sampled_from(fields))]
    elif how == "retype":
        frame[draw(st.sampled_from(fields))] = draw(hostile_values)
    elif how == "extra":
        frame[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in IDENTITY_FIELDS))] = draw(json_values)
    elif how == "identity":
        frame[draw(st.sampled_from(sorted(IDENTITY_FIELDS)))] = draw(st.sampled_from(["alice", "0" * 32]))
    elif how == "unknown":
        frame["type"] = draw(st.text(max_size=30) | st.sampled_from(["message", "call.", "rtc.offer ", "PING"]))
    elif how == "random_id":
        hex_id = st.text("0123456789abcdef", min_size=32, max_size=32)
        frame.update({k: draw(hex_id) for k in fields if k.endswith("_id") or k == "to"})
    text = dumps(frame)
    if how == "text":
        damage = draw(st.sampled_from(["truncate", "nan", "bytes", "big", "deep"]))
        if damage == "truncate":
            return text[: draw(st.integers(0, len(text) - 1))]
        if damage == "nan":
            return text[:-1] + ',"n":NaN}'
        if damage == "bytes":
            return text.encode()
        if damage == "big":
            return text[:-1] + ',"pad":"' + "y" * EVENTS_MAX_FRAME + '"}'
        return text[:-1] + ',"deep":' + nested(draw(st.integers(8, 5000))) + "}"
    if how == "shape":
        shapes = ["[]", "null", "1", '"ping"', "{}", '{"type":1}', '{"type":null}', "[[[]]]"]
        return draw(st.sampled_from(shapes))
    return text


def expectation(world: World, raw: bytes | str) -> str:
    """What the contract says must happen to one frame: ``close:<code>``, ``error``, or ``any``."""
    if isinstance(raw, bytes):
        return "close:1003"
    if len(raw.encode("utf-8")) > EVENTS_MAX_FRAME:
        return "close:1009"
    try:
        value = json.loads(raw, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    except (ValueError, RecursionError):
        return "close:1007"
    if depth(value) > 8:
        return "close:1007"
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return "error"
    if IDENTITY_FIELDS.intersection(value):
        return "close:1008"
    model = frame_model(world, value["type"])
    if model is None:
        return "error"
    try:
        model.model_validate(value)
    except ValidationError:
        return "error"
    return "any"


def depth(value: Any) -> int:
    """Nesting depth, counted as the server counts it (a scalar is 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


async def events_attack(world: World, frames: list[bytes | str]) -> tuple[bool, int | None, str, list[dict[str, Any]]]:
    """mallory sends ``frames`` and a ping; (pong came, close code, reason, frames received)."""
    client = await world.events_socket("mallory")
    sentinel = f"done:{uuid.uuid4().hex[:8]}"
    await send_all(client.ws, [*frames, dumps({"type": "ping", "ref": sentinel})])
    alive = await drain(client, sentinel)
    await client.close()
    await world.wait_gone(lambda: world.events_open("mallory"), "mallory's events socket")
    return alive, client.close_code if not alive else None, client.close_reason, client.frames


@st.composite
def events_batches(draw: st.DrawFn, bases: list[dict[str, Any]]) -> list[bytes | str]:
    count = draw(st.integers(1, 8))
    return [draw(events_frame(bases, i)) for i in range(count)]


@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_events_frames_never_crash_or_touch_the_bystanders(world: World, data: st.DataObject) -> None:
    world.app.errors.clear()
    before = world.app.run(world.bystander_chat())
    frames = data.draw(events_batches(templates(world)), label="frames")
    expected = [expectation(world, frame) for frame in frames]
    alive, code, reason, received = world.app.run(events_attack(world, frames))

    errors = [f for f in received if f.get("type") == "error"]
    for error in errors:
        assert {"ref", "code", "status", "message"} <= error.keys(), error
        assert error["status"] != 500 and error["code"] != "internal_error", error
        assert leaked_trace(json.dumps(error)) is None, error
    closes = {int(e.split(":")[1]) for e in expected if e.startswith("close:")}
    if alive:
        assert not closes, f"frames that must close the socket were answered: {expected}"
        answered = {e.get("ref") for e in errors}
        for i, outcome in enumerate(expected):
            if outcome == "error" and isinstance(frames[i], str) and f'"ref":"f{i}"' in frames[i]:
                assert f"f{i}" in answered, f"frame {i} ({frames[i][:120]!r}) got no error frame"
    else:
        assert code in EVENTS_CLOSES, f"closed with {code} {reason!r}"
        explained = code in closes or code in (1013, 4429) or (code, reason) == (1008, "too_many_errors")
        assert explained, f"closed with {code} {reason!r}, not what these frames call for: {expected}"
    assert not world.app.errors.crashes(), world.app.errors.crashes()
    assert world.app.run(world.bystander_chat()) == before
    world.app.run(world.bystanders_alive())


def test_every_served_frame_type_has_a_template(world: World) -> None:
    """A new frame type without a template here fails, so the fuzz keeps covering every handler."""
    assert {frame["type"] for frame in templates(world)} == set(events_types(world))
