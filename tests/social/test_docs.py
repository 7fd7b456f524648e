"""The docs name every route, error code and limit of the social feature."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from collabcode.social import activity, avatars
from collabcode.social.admin import routes as admin_routes
from collabcode.social.routes import routes

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs" / "api.md").read_text("utf-8")
GUIDE = (ROOT / "docs" / "social.md").read_text("utf-8")
SOURCE = "\n".join(path.read_text("utf-8") for path in (ROOT / "collabcode" / "social").glob("*.py"))


def test_every_route_is_in_the_api_tables() -> None:
    section = API.split("## People and the dashboard", 1)[1].split("\n## ", 1)[0]
    for route in [*routes, *admin_routes]:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            assert f"`{method} {route.path}`" in section, f"{method} {route.path}"


def test_every_error_code_and_rule_is_documented() -> None:
    codes = set(re.findall(r'code="([a-z_]+)"', SOURCE))
    assert {"cannot_follow_self", "blocked", "unsupported_image", "setting_read_only"} <= codes
    assert not sorted(c for c in codes if f"{c}`" not in API)
    rules = set(re.findall(r'_refuse\("([a-z_]+)"', SOURCE))
    assert {"svg", "markup", "script", "type_mismatch"} <= rules
    assert not sorted(r for r in rules if f"`{r}`" not in API or f"`{r}`" not in GUIDE)


def test_limits_match_the_code() -> None:
    assert avatars.MAX_BYTES == 1 << 20 and "1 MiB" in GUIDE
    assert f"{avatars.MAX_SIDE}\u00d7{avatars.MAX_SIDE}" in GUIDE
    assert f"{avatars.STORED_SIDE}\u00d7{avatars.STORED_SIDE}" in GUIDE
    assert f"expire after {activity.LIVE_TTL_SECONDS:.0f} seconds" in GUIDE
    assert (
        f"Every {activity.SCAN_SECONDS:.0f}\nseconds" in GUIDE or f"Every {activity.SCAN_SECONDS:.0f} seconds" in GUIDE
    )
    assert (
        f"kept {activity.ACTIVITY_RETENTION_DAYS}\ndays" in GUIDE
        or f"kept {activity.ACTIVITY_RETENTION_DAYS} days" in GUIDE
    )
    assert f"({activity.RECENT_KEEP} are kept per person)" in GUIDE
