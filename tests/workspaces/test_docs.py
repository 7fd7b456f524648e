"""The workspace docs name every route, limit, rule and event the code has."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from collabcode.workspaces import paths
from collabcode.workspaces.archive import ImportLimits, SkipReason
from collabcode.workspaces.events import MAX_CHANGES_PER_EVENT
from collabcode.workspaces.routes import routes
from collabcode.workspaces.service import WorkspaceLimits

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs" / "api.md").read_text("utf-8").split("## Workspaces", 1)[1]
GUIDE = (ROOT / "docs" / "workspaces.md").read_text("utf-8")
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text("utf-8").split("## Workspace events", 1)[1]
SOURCES = [
    ROOT / "collabcode" / "workspaces" / name
    for name in ("paths.py", "service.py", "plan.py", "archive.py", "routes.py")
]


def test_every_route_is_in_the_api_table() -> None:
    for route in routes:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            path = route.path.replace("{workspace_id}", "{id}")
            assert f"`{method} {path}`" in API, f"{method} {path}"


def test_every_path_rule_is_documented() -> None:
    rules = set()
    for source in SOURCES:
        rules |= set(re.findall(r'PathRejected\(\s*"([a-z_]+)"', source.read_text("utf-8")))
        rules |= set(re.findall(r'"rule": "([a-z_]+)"', source.read_text("utf-8")))
    rules -= {"not_a_string", "folder_content", "text_only", "zip_only", "too_short", "too_long"}
    assert len(rules) >= 10
    missing = sorted(rule for rule in rules if f"`{rule}`" not in GUIDE)
    assert not missing, missing


def test_every_skip_reason_is_documented() -> None:
    for reason in SkipReason.__args__:  # type: ignore[attr-defined]
        assert f"`{reason}`" in GUIDE, reason


def test_every_error_code_is_documented() -> None:
    codes = set()
    for source in SOURCES:
        codes |= set(re.findall(r'code="([a-z_]+)"', source.read_text("utf-8")))
        codes |= set(re.findall(r'PlanConflict\("([a-z_]+)"', source.read_text("utf-8")))
    assert len(codes) >= 10
    missing = sorted(code for code in codes if f"`{code}`" not in API)
    assert not missing, missing


def test_limits_match_the_code() -> None:
    limits = WorkspaceLimits()
    imports = ImportLimits(max_file_bytes=limits.max_file_bytes)
    assert f"| size of one file | {limits.max_file_bytes // 2**20} MiB" in GUIDE
    assert f"| files and folders in one workspace | {limits.max_entries:,} |" in GUIDE
    assert f"| workspaces one person belongs to | {limits.max_workspaces_per_user} |" in GUIDE
    assert f"| members of one workspace | {limits.max_members} |" in GUIDE
    assert f"more than {imports.max_entries:,} entries" in GUIDE
    assert f"a table of contents over {imports.max_directory_bytes // 2**20} MiB" in GUIDE
    assert f"{limits.max_import_bytes // 2**20} MiB in total" in GUIDE
    assert f"larger than {imports.ratio_floor // 2**20} MiB and packed more than {imports.max_ratio} times" in GUIDE
    assert f"at most {paths.MAX_SEGMENT_BYTES} bytes (UTF-8) per name, {paths.MAX_PATH_BYTES} bytes" in GUIDE
    assert f"{paths.MAX_DEPTH} levels deep" in GUIDE
    assert f"longer than {MAX_CHANGES_PER_EVENT} entries" in PROTOCOL


def test_event_types_are_documented() -> None:
    source = (ROOT / "collabcode" / "workspaces" / "service.py").read_text("utf-8")
    source += (ROOT / "collabcode" / "workspaces" / "events.py").read_text("utf-8")
    source += (ROOT / "collabcode" / "workspaces" / "plan.py").read_text("utf-8")
    types = set(re.findall(r'"type": "([a-z_.]+)"', source))
    ops = set(re.findall(r'"op": "([a-z_]+)"', source))
    assert types == {"tree.changed", "members.changed", "workspace.updated", "workspace.deleted"}
    assert ops == {"created", "moved", "deleted", "updated"}
    for name in types:
        assert f"`{name}`" in PROTOCOL, name
    for op in ops:
        assert f"| `{op}` |" in PROTOCOL, op
