"""The chat and events docs name every route, frame type, close reason and error code the code has."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from collabcode.chat.routes import routes
from collabcode.chat.schemas import MAX_BODY_CHARS
from collabcode.chat.service import ChatLimits
from collabcode.realtime.socket import EventsLimits

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs" / "api.md").read_text("utf-8").split("## Conversations", 1)[1]
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text("utf-8").split("## Events socket", 1)[1].split("\n## ", 1)[0]
GUIDE = (ROOT / "docs" / "chat.md").read_text("utf-8")
SOURCES = [
    *(ROOT / "collabcode" / "chat").glob("*.py"),
    *(ROOT / "collabcode" / "realtime").glob("*.py"),
]


def _source() -> str:
    return "\n".join(path.read_text("utf-8") for path in SOURCES)


def test_every_route_is_in_the_api_tables() -> None:
    for route in routes:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            assert f"`{method} {route.path}`" in API, f"{method} {route.path}"


def test_every_frame_type_is_documented() -> None:
    source = _source()
    client = set(re.findall(r'add_handler\(\s*"([a-z.]+)"', source))
    server = set(re.findall(r'"type": "([a-z.]+)"', source))
    assert {"message.send", "typing", "presence.set"} <= client
    assert {"message", "receipt", "typing", "presence", "hello", "synced", "resync", "error"} <= server
    missing = sorted(t for t in client | server if f"`{t}`" not in PROTOCOL)
    assert not missing, missing


def test_every_close_reason_and_error_code_is_documented() -> None:
    source = _source()
    reasons = set(re.findall(r'request_close\(\s*[A-Z_0-9]+,\s*"([a-z_]+)', source))
    reasons |= set(re.findall(r'request_close\(\s*\d+,\s*"([a-z_]+)', source))
    reasons |= {"rate_limited", "going_away", "session_revoked"}
    assert len(reasons) >= 8
    assert not sorted(r for r in reasons if f"`{r}" not in PROTOCOL)
    codes = set(re.findall(r'code="([a-z_]+)"', source)) | set(re.findall(r'_error\(\s*ref,\s*"([a-z_]+)"', source))
    assert {"blocked", "client_id_reused", "invalid_frame"} <= codes
    assert not sorted(c for c in codes if f"{c}`" not in API and f"{c}`" not in PROTOCOL)


def test_limits_match_the_code() -> None:
    limits, socket = ChatLimits(), EventsLimits()
    assert f"1\u2013{MAX_BODY_CHARS} characters" in PROTOCOL
    assert f"a frame above {socket.max_frame_bytes // 1024} KiB" in PROTOCOL
    assert (
        f"more than {socket.frames_per_second:g} frames per second sustained (burst {socket.frame_burst})" in PROTOCOL
    )
    assert f"more than {socket.max_sockets_per_user} sockets" in PROTOCOL
    assert f"{limits.discovery_per_user_per_day} numbers per user and {limits.discovery_per_ip_per_day} per" in API
    assert f"`expires_in: {limits.typing_ttl:g}`" in GUIDE
    assert f"edit a message for {limits.edit_window_seconds / 60:g} minutes" in GUIDE
    assert f"more than {socket.max_replay} events behind" in PROTOCOL
    assert f"up to {socket.max_in_flight} at a time" in PROTOCOL
