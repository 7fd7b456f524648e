"""The call docs name every route, frame type, error code and setting the code has."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from collabcode.calls.routes import routes
from collabcode.calls.service import CallLimits

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs" / "api.md").read_text("utf-8").split("## Calls", 1)[1].split("\n## ", 1)[0]
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text("utf-8").split("## Calls", 1)[1].split("\n## ", 1)[0]
GUIDE = (ROOT / "docs" / "calls.md").read_text("utf-8")
DEPLOY = (ROOT / "docs" / "deploy.md").read_text("utf-8")
SOURCE = "\n".join(p.read_text("utf-8") for p in (ROOT / "collabcode" / "calls").glob("*.py"))


def test_every_route_is_in_the_api_table() -> None:
    for route in routes:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            assert f"`{method} {route.path}`" in API, f"{method} {route.path}"


def test_every_frame_and_error_code_is_documented() -> None:
    client = set(re.findall(r'add_handler\(\s*f?"([a-z.{}]+)"', SOURCE))
    server = set(re.findall(r'"type": "([a-z.]+)"', SOURCE)) | {"rtc.offer", "rtc.answer", "rtc.candidate"}
    assert {"rtc.offer", "rtc.candidate"} <= client and {"call.ringing", "call.updated", "call.ended"} <= server
    for name in ("call.accept", "call.decline", "call.cancel", "call.end", *client - {"call.{name}"}, *server):
        assert f"`{name}`" in PROTOCOL, name
    codes = set(re.findall(r'_conflict\(\s*"([a-z_]+)"', SOURCE)) | set(re.findall(r'code="([a-z_]+)"', SOURCE))
    assert {"busy", "call_full", "not_connected"} <= codes
    for code in codes:
        assert code in API or code in PROTOCOL, code
    for reason in ("missed", "declined", "cancelled", "hangup", "connection_lost"):
        assert f'"{reason}"' in SOURCE and reason in GUIDE


def test_limits_in_the_guide_match_the_code() -> None:
    limits = CallLimits()
    assert f"ring timeout | {limits.ring_seconds:.0f} s" in GUIDE
    assert f"| {limits.hangup_grace_seconds:.0f} s |" in GUIDE
    assert f"people in a workspace call | {limits.max_participants} |" in GUIDE
    assert f"{limits.signal_burst} at once, then {1 / limits.signal_per:.0f} per second" in GUIDE
    for flag in ("--stun-port", "--turn", "--turn-url", "--turn-min-port", "--public-host", "denied-peer-ip"):
        assert flag in DEPLOY, flag
