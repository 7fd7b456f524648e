"""The y-websocket wire format, decoded defensively.

Every frame a client sends is untrusted. Decoding never trusts a declared length, never reads
past the buffer, rejects trailing bytes, and bounds every integer to what JavaScript clients can
represent, so a hostile frame ends in exactly one exception type, :class:`ProtocolError`, carrying
the WebSocket close code the socket layer should use.

Framing (lib0 encoding, as in y-protocols and y-websocket)::

    message         = varuint(type) payload
    sync (0)        = varuint(step) varuint8array      step: 0 state vector, 1 diff, 2 update
    awareness (1)   = varuint8array(awareness update)
    auth (2)        = varuint(0 = permission denied) varstring(reason)
    query-awareness = (no payload)
    saved (100)     = varuint(receipt)                 collabcode clients only, never stock Yjs
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, TypeVar

import pycrdt

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "EMPTY_UPDATE",
    "MAX_SAFE_INTEGER",
    "MAX_VARINT_BYTES",
    "AuthMessage",
    "AwarenessEntry",
    "AwarenessMessage",
    "CloseCode",
    "Message",
    "MessageType",
    "ProtocolError",
    "QueryAwareness",
    "Reader",
    "Saved",
    "SyncStep1",
    "SyncStep2",
    "SyncType",
    "SyncUpdate",
    "decode_awareness_update",
    "decode_message",
    "decode_state_vector",
    "encode_auth_denied",
    "encode_awareness",
    "encode_awareness_update",
    "encode_query_awareness",
    "encode_saved",
    "encode_sync_step1",
    "encode_sync_step2",
    "encode_sync_update",
    "guarded",
    "parse_awareness_state",
    "validate_update",
    "write_var_uint",
    "write_var_uint8_array",
]

#: Largest integer a JavaScript number holds exactly; lib0 rejects anything above it.
MAX_SAFE_INTEGER: Final = 2**53 - 1
#: A varuint longer than this is rejected before its value is even computed.
MAX_VARINT_BYTES: Final = 10
#: Default cap on one WebSocket frame; the socket layer should use the same value.
DEFAULT_MAX_MESSAGE_BYTES: Final = 5 * 1024 * 1024
#: The update Yjs sends when it has nothing to say (no structs, empty delete set).
EMPTY_UPDATE: Final = b"\x00\x00"


class CloseCode(IntEnum):
    """WebSocket close codes the collaboration socket uses (see docs/protocol.md)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013


class ProtocolError(Exception):
    """A frame that ends the connection: the socket closes with ``close_code`` and ``reason``.

    ``reason`` is a short machine code chosen by the server; it never echoes client input.
    """

    def __init__(self, close_code: int, reason: str) -> None:
        super().__init__(f"{close_code} {reason}")
        self.close_code = close_code
        self.reason = reason


def _malformed(reason: str = "malformed_message") -> ProtocolError:
    return ProtocolError(CloseCode.INVALID_PAYLOAD, reason)


class MessageType(IntEnum):
    """Top-level message types; 0-3 are y-websocket's, 100 is ours."""

    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    SAVED = 100


class SyncType(IntEnum):
    """Sub-types of a sync message (y-protocols/sync.js)."""

    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


# --------------------------------------------------------------------------- lib0 primitives


def write_var_uint(value: int) -> bytes:
    """lib0 ``writeVarUint``: 7 bits per byte, least significant first."""
    if value < 0:
        raise ValueError(f"varuint must be >= 0, got {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def write_var_uint8_array(data: bytes) -> bytes:
    """lib0 ``writeVarUint8Array``: a varuint length followed by the bytes."""
    return write_var_uint(len(data)) + data


class Reader:
    """A bounds-checked lib0 decoder over one buffer; every failure is a ProtocolError(1007)."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def read_var_uint(self, *, maximum: int = MAX_SAFE_INTEGER) -> int:
        """Read a varuint of at most MAX_VARINT_BYTES bytes whose value is <= ``maximum``."""
        data, pos, end = self._data, self._pos, len(self._data)
        value = 0
        shift = 0
        for _ in range(MAX_VARINT_BYTES):
            if pos >= end:
                raise _malformed()
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                if value > maximum:
                    raise _malformed()
                self._pos = pos
                return value
            shift += 7
        raise _malformed()

    def read_bytes(self, length: int) -> bytes:
        if length > self.remaining:
            raise _malformed()
        start = self._pos
        self._pos += length
        return self._data[start : self._pos]

    def read_var_uint8_array(self) -> bytes:
        return self.read_bytes(self.read_var_uint(maximum=self.remaining))

    def read_var_string(self) -> str:
        try:
            return self.read_var_uint8_array().decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed() from None

    def expect_end(self) -> None:
        """Reject trailing bytes: a well-formed message is consumed exactly."""
        if self.remaining:
            raise _malformed()


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class SyncStep1:
    """The sender's state vector: "send me what I lack"."""

    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    """A diff answering a SyncStep1 (structurally a v1 update)."""

    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    """An incremental v1 update."""

    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    """Decoded awareness entries (structure only; states are parsed when used)."""

    entries: tuple[AwarenessEntry, ...]


@dataclass(frozen=True, slots=True)
class AuthMessage:
    """y-protocols auth message; clients have no reason to send one, the server ignores it."""

    kind: int
    reason: str


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    """Asks for every awareness state."""


@dataclass(frozen=True, slots=True)
class Saved:
    """Server to collabcode client: updates up to this per-connection receipt are durable."""

    receipt: int


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessMessage | AuthMessage | QueryAwareness | Saved


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    """One awareness record: ``state_json`` is the raw JSON text, ``"null"`` meaning removed."""

    client_id: int
    clock: int
    state_json: str

    @property
    def removed(self) -> bool:
        return self.state_json == "null"


def decode_message(data: bytes, *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> Message:
    """Decode one frame, enforcing size, bounds and exact consumption.

    Raises ProtocolError(1009) for an oversized frame and ProtocolError(1007) for anything else
    that is not exactly one well-formed message.
    """
    if len(data) > max_bytes:
        raise ProtocolError(CloseCode.MESSAGE_TOO_BIG, "message_too_large")
    reader = Reader(data)
    kind = reader.read_var_uint()
    message: Message
    if kind == MessageType.SYNC:
        step = reader.read_var_uint()
        payload = reader.read_var_uint8_array()
        if step == SyncType.STEP1:
            decode_state_vector(payload)
            message = SyncStep1(payload)
        elif step == SyncType.STEP2:
            message = SyncStep2(payload)
        elif step == SyncType.UPDATE:
            message = SyncUpdate(payload)
        else:
            raise _malformed("unknown_sync_type")
    elif kind == MessageType.AWARENESS:
        message = AwarenessMessage(decode_awareness_update(reader.read_var_uint8_array()))
    elif kind == MessageType.AUTH:
        message = AuthMessage(reader.read_var_uint(), reader.read_var_string())
    elif kind == MessageType.QUERY_AWARENESS:
        message = QueryAwareness()
    elif kind == MessageType.SAVED:
        message = Saved(reader.read_var_uint())
    else:
        raise _malformed("unknown_message_type")
    reader.expect_end()
    return message


def decode_state_vector(data: bytes) -> dict[int, int]:
    """Decode a v1 state vector (client id -> clock), bounded to JavaScript-safe integers."""
    reader = Reader(data)
    # Each entry takes at least two bytes, which caps the loop for a lying count.
    count = reader.read_var_uint(maximum=reader.remaining // 2)
    result: dict[int, int] = {}
    for _ in range(count):
        client = reader.read_var_uint()
        result[client] = reader.read_var_uint()
    reader.expect_end()
    return result


def decode_awareness_update(data: bytes) -> tuple[AwarenessEntry, ...]:
    """Decode an awareness update's structure; states stay raw JSON text (valid UTF-8)."""
    reader = Reader(data)
    # client id, clock and state length take at least one byte each.
    count = reader.read_var_uint(maximum=reader.remaining // 3)
    entries = []
    for _ in range(count):
        client_id = reader.read_var_uint()
        clock = reader.read_var_uint()
        entries.append(AwarenessEntry(client_id, clock, reader.read_var_string()))
    reader.expect_end()
    return tuple(entries)


def encode_awareness_update(entries: Iterable[AwarenessEntry]) -> bytes:
    """Encode awareness entries (the inverse of :func:`decode_awareness_update`)."""
    items = list(entries)
    parts = [write_var_uint(len(items))]
    for entry in items:
        parts.append(write_var_uint(entry.client_id))
        parts.append(write_var_uint(entry.clock))
        parts.append(write_var_uint8_array(entry.state_json.encode("utf-8")))
    return b"".join(parts)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def parse_awareness_state(state_json: str) -> dict[str, Any] | None:
    """Parse an awareness state: a JSON object, or ``null`` for "removed"; 1007 otherwise.

    NaN/Infinity are refused (JavaScript's JSON.parse refuses them too), and so are absurd
    nesting and integers Python will not parse.
    """
    try:
        value = json.loads(state_json, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _malformed("invalid_awareness") from None
    if value is None or isinstance(value, dict):
        return value
    raise _malformed("invalid_awareness")


def _frame(kind: int, payload: bytes) -> bytes:
    return write_var_uint(kind) + payload


def encode_sync_step1(state_vector: bytes) -> bytes:
    return _frame(MessageType.SYNC, bytes([SyncType.STEP1]) + write_var_uint8_array(state_vector))


def encode_sync_step2(update: bytes) -> bytes:
    return _frame(MessageType.SYNC, bytes([SyncType.STEP2]) + write_var_uint8_array(update))


def encode_sync_update(update: bytes) -> bytes:
    return _frame(MessageType.SYNC, bytes([SyncType.UPDATE]) + write_var_uint8_array(update))


def encode_awareness(update: bytes) -> bytes:
    return _frame(MessageType.AWARENESS, write_var_uint8_array(update))


def encode_query_awareness() -> bytes:
    return write_var_uint(MessageType.QUERY_AWARENESS)


def encode_auth_denied(reason: str) -> bytes:
    """y-protocols permission-denied message (stock clients log the reason)."""
    return _frame(MessageType.AUTH, write_var_uint(0) + write_var_uint8_array(reason.encode()))


def encode_saved(receipt: int) -> bytes:
    """Our "saved" message; only sent on connections that asked for it."""
    return _frame(MessageType.SAVED, write_var_uint(receipt))


# --------------------------------------------------------------------------- pycrdt guard

_T = TypeVar("_T")
_PASS_THROUGH: Final = (KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit)


def guarded(fn: Callable[[], _T], reason: str = "invalid_update") -> _T:
    """Run a pycrdt call on untrusted bytes; any failure becomes ProtocolError(1007).

    pycrdt surfaces Rust panics as ``pyo3_runtime.PanicException``, which derives from
    BaseException, so a plain ``except Exception`` would let one crash the connection task.
    Interpreter-level exits and cancellation still propagate.
    """
    try:
        return fn()
    except _PASS_THROUGH:
        raise
    except ProtocolError:
        raise
    except BaseException as exc:
        raise ProtocolError(CloseCode.INVALID_PAYLOAD, reason) from exc


def validate_update(update: bytes) -> None:
    """Decode a v1 update fully without touching any document.

    yrs decodes an update completely before integrating it, so a malformed update fails here,
    with the document untouched, and the later apply only sees bytes that decode. The state
    vector yrs reports is also bounded to JavaScript-safe integers (lib0 throws above 2**53),
    so no accepted update can make the document unreadable for browsers.
    """
    state = guarded(lambda: pycrdt.get_state(update))
    try:
        decode_state_vector(state)
    except ProtocolError:
        raise _malformed("invalid_update") from None
