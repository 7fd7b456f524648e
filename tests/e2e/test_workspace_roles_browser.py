"""Roles in the workspace editor: an editor made a viewer while typing stops writing within
5 s (read-only editor, badge; from then on nothing reaches the server), and a viewer cannot
type."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.e2e.test_workspace_browser import open_as, seeded  # noqa: F401  (seeded is a fixture)
from tests.fixtures_browser import PageProblems, editor_text, poll

pytestmark = pytest.mark.browser

READ_ONLY = "window.__collabcode.editor.getOption(window.__collabcode.monaco.editor.EditorOption.readOnly)"


def server_text(server: LiveServer, ids: dict[str, Any]) -> str:
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.get(f"/api/workspaces/{ids['wid']}/files/{ids['fid']}/content", headers=ids["alice"])
        assert r.status_code == 200, r.text
        return r.text


def test_editor_demoted_while_typing_stops_writing(seeded: tuple[LiveServer, dict[str, Any]], browser: Any) -> None:  # noqa: F811
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    problems = PageProblems()
    url = f"/w/{wid}/f/{fid}?test=1"
    bob = open_as(browser, server, "bob", url, problems)
    assert bob.locator("[data-readonly-badge]").is_hidden()
    assert not bob.evaluate(READ_ONLY)

    bob.click(".monaco-editor .view-lines")
    bob.keyboard.press("Control+End")
    for _ in range(5):
        bob.keyboard.type("X")
        time.sleep(0.05)
    bob.locator("[data-save-state=saved]").wait_for()
    assert "XXXXX" in server_text(server, ids)

    with httpx.Client(base_url=server.url, timeout=10) as api:
        members = api.get(f"/api/workspaces/{wid}/members", headers=ids["alice"]).json()["members"]
        bob_id = next(m["user_id"] for m in members if m["username"] == "bob")
        r = api.patch(f"/api/workspaces/{wid}/members/{bob_id}", json={"role": "viewer"}, headers=ids["alice"])
        assert r.status_code == 200, r.text
    demoted = time.monotonic()

    # Bob keeps typing: within 5 s the editor is read-only and says so.
    while not bob.evaluate(READ_ONLY):
        assert time.monotonic() - demoted < 5, "still writable 5 s after the demotion"
        bob.keyboard.type("Q")
        time.sleep(0.1)
    bob.locator("[data-readonly-badge]").wait_for(timeout=1000)
    bob.locator("[data-role-changed]").wait_for(timeout=1000)
    assert bob.locator("[data-new-file]").is_hidden()

    # The editor shows the server's text again (what the server refused is dropped), and
    # typing now changes nothing, here or on the server.
    bob.locator("[data-connection=connected]").wait_for(timeout=10_000)
    deadline = time.monotonic() + 10
    while editor_text(bob) != server_text(server, ids):
        assert time.monotonic() < deadline, (editor_text(bob), server_text(server, ids))
        time.sleep(0.1)
    before = editor_text(bob)
    bob.click(".monaco-editor .view-lines")
    bob.keyboard.type("ZZZ")
    time.sleep(0.5)
    assert editor_text(bob) == before
    stored = server_text(server, ids)
    assert "Z" not in stored and "XXXXX" in stored, stored

    # Made an editor again (without typing: the role change arrives as a workspace event), Bob
    # can write again.
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.patch(f"/api/workspaces/{wid}/members/{bob_id}", json={"role": "editor"}, headers=ids["alice"])
        assert r.status_code == 200, r.text
    promoted = time.monotonic()
    poll(bob, f"!{READ_ONLY}", timeout=5)
    assert time.monotonic() - promoted < 5
    bob.locator("[data-readonly-badge]").wait_for(state="hidden")
    bob.locator("[data-connection=connected]").wait_for(timeout=10_000)
    bob.click(".monaco-editor .view-lines")
    bob.keyboard.press("Control+End")
    bob.keyboard.type("Pok")
    poll(bob, "window.__collabcode.editor.getModel().getValue().includes('Pok')")
    bob.locator("[data-save-state=saved]").wait_for()
    assert "Pok" in server_text(server, ids)

    # A viewer who opens the file later cannot type either.
    carol = open_as(browser, server, "carol", url, problems)
    carol.locator("[data-readonly-badge]").wait_for()
    assert carol.evaluate(READ_ONLY)
    carol.click(".monaco-editor .view-lines")
    carol.keyboard.type("zzz")
    time.sleep(0.3)
    assert "zzz" not in editor_text(carol)
    assert "zzz" not in server_text(server, ids)

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    for page in (bob, carol):
        page.context.close()
