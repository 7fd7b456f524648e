"""docs/protocol.md documents every message type, close reason and default limit the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from collabcode.collab.connection import SocketLimits
from collabcode.collab.protocol import DEFAULT_MAX_MESSAGE_BYTES, MessageType
from collabcode.collab.room import RoomLimits
from collabcode.collab.rooms import RoomManager
from collabcode.collab.store import MemoryDocumentStore

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text("utf-8")
SECTION = DOC.split("## Collaboration socket", 1)[1].split("\n## ", 1)[0]
COLLAB_DOC = (ROOT / "docs" / "collaboration.md").read_text("utf-8")
SOURCES = [
    ROOT / "collabcode" / "collab" / name
    for name in ("protocol.py", "room.py", "rooms.py", "connection.py", "routes.py")
] + [ROOT / "collabcode" / "realtime" / "socket_writer.py"]  # its outbox bound: slow_consumer
REASON = re.compile(
    r"(?:_malformed\(|ProtocolError\(\s*CloseCode\.\w+,\s*|guarded\(.*,\s*|request_close\(\s*[\w.]+,\s*f?"
    r'|_close_now\(websocket, connection, [\w.]+, |reject\(websocket, )"([a-z_]+)'
)


def _reasons() -> set[str]:
    found = {"malformed_message"}  # the default of _malformed()
    for path in SOURCES:
        found |= set(REASON.findall(path.read_text("utf-8")))
    return found


def test_the_file_starts_with_the_wire_protocol_title() -> None:
    assert DOC.startswith("# Wire protocol\n")


def test_every_message_type_is_documented() -> None:
    for kind in MessageType:
        assert f"| `{kind.value}` |" in SECTION, kind


def test_every_close_reason_is_documented() -> None:
    reasons = _reasons()
    assert len(reasons) >= 10  # the scan itself works
    assert {"slow_consumer", "session_revoked", "rate_limited", "too_many_connections"} <= reasons
    missing = sorted(r for r in reasons if f"`{r}`" not in SECTION and f"`{r}:" not in SECTION)
    assert not missing, f"close reasons missing from docs/protocol.md: {missing}"


def test_close_codes_of_the_socket_are_documented() -> None:
    for code in (1001, 1003, 1007, 1008, 1009, 1011, 1013, 4401, 4429):
        assert f"| `{code}` |" in SECTION, code
    assert "going_away" in SECTION  # sent by the connection registry at shutdown


def test_documented_socket_limits_match_the_code() -> None:
    limits = SocketLimits()
    assert f"{limits.messages_per_second:g} frames/s with bursts of {limits.message_burst}" in COLLAB_DOC
    assert f"{limits.bytes_per_second // 2**20:g} MiB/s with bursts of {limits.byte_burst // 2**20} MiB" in COLLAB_DOC
    assert f"{limits.outbox_bytes // 2**20} MiB waiting to be sent" in COLLAB_DOC
    assert f"{limits.max_per_user} sockets per user and\n{limits.max_per_ip} per IP" in COLLAB_DOC
    assert f"re-checked every {limits.recheck_seconds:g} s" in COLLAB_DOC
    assert f"checked again every {limits.recheck_seconds:g} s" in SECTION
    caps = f"{limits.max_per_user} open collaboration sockets per\nuser and {limits.max_per_ip} per client IP"
    assert caps in SECTION


def test_documented_defaults_match_the_code() -> None:
    limits = RoomLimits()
    assert limits.max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES
    assert f"{limits.max_message_bytes // 2**20} MiB" in SECTION
    assert f"{limits.max_doc_bytes // 2**20} MiB" in SECTION
    assert f"{limits.max_awareness_state_bytes // 2**10} KiB" in SECTION
    assert f"{limits.max_pending_bytes // 2**10} KiB" in SECTION
    assert f"at most {limits.max_awareness_ids_per_peer} per connection" in SECTION
    manager = RoomManager(MemoryDocumentStore())
    assert f"every {manager._compact_every} appends" in SECTION
    assert f"after {manager._idle:g} s" in SECTION
