"""docs/history.md names every route, setting and event of the history feature."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from collabcode.history.routes import routes

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "history.md").read_text("utf-8")
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text("utf-8")
SOURCE = (ROOT / "collabcode" / "history" / "service.py").read_text("utf-8")


def test_every_route_is_in_the_api_table() -> None:
    assert len(routes) >= 10
    for route in routes:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            path = route.path.replace("{workspace_id}", "{w}").replace("{file_id}", "{f}")
            assert f"`{method} {path}`" in GUIDE, f"{method} {path}"


def test_every_event_and_error_code_is_documented() -> None:
    events = set(re.findall(r'"type": "((?:comment|history)\.[a-z]+)"', SOURCE))
    assert events == {"comment.added", "comment.updated", "history.checkpoint", "history.restored"}
    for event in events:
        assert f"`{event}`" in GUIDE, event
        assert f"`{event}`" in PROTOCOL, event
    codes = set(re.findall(r'code="([a-z_]+)"', SOURCE))
    assert codes
    for code in codes:
        assert code in GUIDE, code


def test_settings_are_documented() -> None:
    for name in ("COLLABCODE_HISTORY_RETENTION_DAYS", "COLLABCODE_HISTORY_IDLE_CHECKPOINT_SECONDS"):
        assert name in GUIDE, name
