"""docs/protocol.md documents every message type, close reason and default limit the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from collabcode.collab.protocol import DEFAULT_MAX_MESSAGE_BYTES, MessageType
from collabcode.collab.room import RoomLimits
from collabcode.collab.rooms import RoomManager
from collabcode.collab.store import MemoryDocumentStore

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text("utf-8")
SECTION = DOC.split("## Collaboration socket", 1)[1].split("\n## ", 1)[0]
SOURCES = [ROOT / "collabcode" / "collab" / name for name in ("protocol.py", "room.py", "rooms.py")]
REASON = re.compile(r'(?:_malformed\(|ProtocolError\(\s*CloseCode\.\w+,\s*|guarded\(.*,\s*)"([a-z_]+)"')


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
    missing = sorted(r for r in reasons if f"`{r}`" not in SECTION)
    assert not missing, f"close reasons missing from docs/protocol.md: {missing}"


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
