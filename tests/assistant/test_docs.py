"""docs/assistant.md and docs/api.md stay true to the code: routes, error codes, secret patterns."""

from __future__ import annotations

import re
from pathlib import Path

from collabcode.assistant import prompts
from collabcode.assistant.routes import routes

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "collabcode" / "assistant"


def test_every_route_is_documented() -> None:
    assistant = (ROOT / "docs" / "assistant.md").read_text("utf-8")
    api = (ROOT / "docs" / "api.md").read_text("utf-8")
    for route in routes:
        path = getattr(route, "path", "")
        for method in sorted(getattr(route, "methods", set()) - {"HEAD"}):
            assert f"`{method} {path}" in assistant, f"{method} {path} missing from docs/assistant.md"
            assert f"`{method} {path}" in api, f"{method} {path} missing from docs/api.md"


def test_every_error_code_is_documented() -> None:
    doc = (ROOT / "docs" / "assistant.md").read_text("utf-8")
    source = "\n".join(p.read_text("utf-8") for p in PACKAGE.rglob("*.py"))
    codes = set(re.findall(r'code(?:,\s*message)?\s*=\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'status, code, message = \d+, "([a-z_]+)"', source))
    assert {"assistant_off", "superseded", "secret_file", "ai_timeout"} <= codes
    missing = sorted(code for code in codes if f"`{code}`" not in doc)
    assert not missing, f"error codes missing from docs/assistant.md: {missing}"


def test_secret_patterns_are_documented() -> None:
    doc = (ROOT / "docs" / "assistant.md").read_text("utf-8")
    for folder in prompts.SECRET_DIRS:
        assert f"`{folder}/`" in doc
