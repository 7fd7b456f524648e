"""The app shell and the scratch editor in headless Chromium against a real server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.fixtures_browser import PageProblems

pytestmark = pytest.mark.browser

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_home_shows_live_status(
    live_server: LiveServer, page: Any, page_problems: PageProblems, tmp_path: Path
) -> None:
    page.goto(live_server.url + "/")
    page.get_by_role("heading", level=1).wait_for()
    assert "collabcode" in page.title().lower()
    page.get_by_text("ready", exact=False).first.wait_for()
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
    assert not page_problems.csp_violations, page_problems.console_errors
    assert not page_problems.page_errors


def test_unknown_page_shows_not_found(live_server: LiveServer, page: Any) -> None:
    response = page.goto(live_server.url + "/definitely/not/here")
    assert response is not None and response.status == 404
    assert "not found" in page.locator("main").inner_text().lower()


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_scratch_editor_types_and_renders(live_server: LiveServer, browser: Any, scheme: str, tmp_path: Path) -> None:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = PageProblems()
    problems.attach(page)
    try:
        page.goto(live_server.url + "/scratch?test=1")
        page.wait_for_selector("html[data-editor-ready='1']", timeout=30_000)
        page.click(".monaco-editor .view-lines")
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        # Typed keystrokes (Monaco auto-indents after Enter, so type line by line).
        page.keyboard.type("def greet(name):")
        page.keyboard.press("Enter")
        page.keyboard.type("return f'hello {name}'")
        value = page.evaluate("window.__collabcode.editor.getModel().getValue()")
        assert value == "def greet(name):\n    return f'hello {name}'"
        page.locator(".monaco-editor .view-line", has_text="hello").wait_for()
        assert page.locator("[data-status-cursor]").inner_text().strip() != ""
        shot = tmp_path / f"scratch-{scheme}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        if scheme == "dark" and os.environ.get("COLLABCODE_UPDATE_SCREENSHOTS"):
            shutil.copyfile(shot, DOCS_SHOTS / "scratch-editor.png")
        # The text survives a reload: it is kept in this browser only.
        page.reload()
        page.wait_for_selector("html[data-editor-ready='1']", timeout=30_000)
        assert page.evaluate("window.__collabcode.editor.getModel().getValue()") == value
        assert not problems.csp_violations, problems.console_errors
        assert not problems.page_errors, problems.page_errors
    finally:
        context.close()
