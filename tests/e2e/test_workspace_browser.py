"""The workspace editor in two (and three) browsers: live text, named cursors, per-user undo,
rename while open, and a read-only viewer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.fixtures_browser import PageProblems, editor_text, make_team, poll

pytestmark = pytest.mark.browser

PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse", "carol": "staple horse correct"}






@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    server = start_server(tmp_path / "data", env={"COLLABCODE_BCRYPT_ROUNDS": "4"})
    try:
        team = make_team(server, {name: (PASSWORDS[name], name.title()) for name in ("alice", "bob", "carol")})
        alice = team["alice"]
        with httpx.Client(base_url=server.url, timeout=10) as api:
            wid = api.post("/api/workspaces", json={"name": "Demo"}, headers=alice).json()["id"]
            fid = api.post(
                f"/api/workspaces/{wid}/files",
                json={"path": "src/main.py", "kind": "file", "content": "print('hello')\n"},
                headers=alice,
            ).json()["id"]
            assert api.post(
                f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=alice
            ).status_code in (200, 201)
            assert api.post(
                f"/api/workspaces/{wid}/members", json={"username": "carol", "role": "viewer"}, headers=alice
            ).status_code in (200, 201)
        yield server, {"wid": wid, "fid": fid, "alice": alice}
    finally:
        server.stop()


def open_as(
    browser: Any, server: LiveServer, user: str, path: str, problems: PageProblems, scheme: str = "light"
) -> Any:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800})
    r = context.request.post(
        server.url + "/api/auth/login",
        data={"login": user, "password": PASSWORDS[user]},
        headers={"origin": server.url},
    )
    assert r.status == 200
    page = context.new_page()
    problems.attach(page)
    page.goto(server.url + path)
    page.locator("[data-connection=connected]").wait_for(timeout=20_000)
    poll(page, "window.__collabcode && window.__collabcode.editor.getModel().getValue().includes('hello')")
    return page


def test_two_editors_a_rename_and_a_viewer(
    seeded: tuple[LiveServer, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    problems = PageProblems()
    url = f"/w/{wid}/f/{fid}?test=1"
    alice = open_as(browser, server, "alice", url, problems)
    bob = open_as(browser, server, "bob", url, problems, scheme="dark")

    # Each sees the other's text and named cursor.
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+End")
    alice.keyboard.insert_text("x = 'from alice'")
    poll(bob, "window.__collabcode.editor.getModel().getValue().includes(\"x = 'from alice'\")")
    bob.click(".monaco-editor .view-lines")
    bob.keyboard.press("Control+Home")
    bob.keyboard.insert_text("# from bob\n")
    poll(alice, "window.__collabcode.editor.getModel().getValue().startsWith('# from bob')")
    for page, other in ((alice, "Bob"), (bob, "Alice")):
        page.locator(".yRemoteSelectionHead").first.wait_for(state="attached")
        page.locator("[data-presence] [data-peer]").first.wait_for()
        assert (
            other.lower() in page.locator("[data-presence]").inner_text().lower()
            or page.locator("[data-presence] [data-peer]").count() >= 1
        )
    alice.locator("[data-save-state=saved]").wait_for()

    # Per-user undo: Alice's undo removes her line and keeps Bob's.
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+z")
    after = poll(
        alice,
        "(() => { const v = window.__collabcode.editor.getModel().getValue();"
        " return !v.includes('from alice') && v; })()",
    )
    assert after.startswith("# from bob"), after
    poll(bob, "!window.__collabcode.editor.getModel().getValue().includes('from alice')")
    assert editor_text(bob).startswith("# from bob")

    # Rename while both have it open: both keep editing the same document without reload.
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.patch(f"/api/workspaces/{wid}/files/{fid}", json={"path": "src/app.py"}, headers=ids["alice"])
        assert r.status_code == 200, r.text
    alice.locator("[data-tree-item][data-path='src/app.py']").wait_for(timeout=20_000)
    bob.click(".monaco-editor .view-lines")
    bob.keyboard.press("Control+End")
    bob.keyboard.insert_text("\nafter_rename = True")
    poll(alice, "window.__collabcode.editor.getModel().getValue().includes('after_rename = True')")
    bob.locator("[data-save-state=saved]").wait_for()
    alice.screenshot(path=str(tmp_path / "workspace-alice.png"))
    bob.screenshot(path=str(tmp_path / "workspace-bob-dark.png"))

    # A viewer sees the live text read-only and cannot type into it.
    carol = open_as(browser, server, "carol", url, problems)
    carol.locator("[data-readonly-badge]").wait_for()
    before = editor_text(carol)
    carol.click(".monaco-editor .view-lines")
    carol.keyboard.type("zzz")
    assert editor_text(carol) == before
    assert "zzz" not in editor_text(alice)

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    for page in (alice, bob, carol):
        page.context.close()
