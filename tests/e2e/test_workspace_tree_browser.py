"""The workspace editor's tree and people: drag-and-drop and keyboard moves (the id, and the
open editor, survive), a file deleted by someone else while open, following a teammate,
losing access, and losing the connection."""

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


def add_file(server: LiveServer, ids: dict[str, Any], path: str, content: str = "") -> str:
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.post(
            f"/api/workspaces/{ids['wid']}/files",
            json={"path": path, "kind": "file", "content": content},
            headers=ids["alice"],
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def tree_paths(server: LiveServer, ids: dict[str, Any]) -> dict[str, str]:
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.get(f"/api/workspaces/{ids['wid']}/tree", headers=ids["alice"])
        return {e["id"]: e["path"] for e in r.json()["entries"]}


def test_move_by_drag_and_keyboard_and_a_file_deleted_elsewhere(
    seeded: tuple[LiveServer, dict[str, Any]],  # noqa: F811
    browser: Any,
) -> None:
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    add_file(server, ids, "docs/readme.md", "# docs\n")
    util = add_file(server, ids, "util.py", "def shout(text):\n    return text.upper()\n")
    problems = PageProblems()
    alice = open_as(browser, server, "alice", f"/w/{wid}/f/{fid}?test=1", problems)
    alice.locator("[data-tree-item][data-path='docs']").wait_for()

    # A file created elsewhere shows up at once (a workspace event, not the 15 s poll).
    add_file(server, ids, "docs/live.md", "live\n")
    alice.locator("[data-tree-item][data-path='docs/live.md']").wait_for(timeout=5_000)

    # Drag the open file onto the docs folder: same id, the editor stays live.
    alice.drag_and_drop(f"[data-tree-item][data-file-id='{fid}'] > div", "[data-tree-item][data-path='docs'] > div")
    alice.locator(f"[data-tree-item][data-path='docs/main.py'][data-file-id='{fid}']").wait_for()
    assert tree_paths(server, ids)[fid] == "docs/main.py"
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+End")
    alice.keyboard.insert_text("moved = True\n")
    alice.locator("[data-save-state=saved]").wait_for()
    with httpx.Client(base_url=server.url, timeout=10) as api:
        content = api.get(f"/api/workspaces/{wid}/files/{fid}/content", headers=ids["alice"]).text
    assert "moved = True" in content

    # Keyboard: Shift+F10 on util.py, "Move to…", pick docs/.
    alice.locator(f"[data-tree-item][data-file-id='{util}']").click()
    alice.locator(f"[data-tree-item][data-file-id='{util}']").focus()
    alice.keyboard.press("Shift+F10")
    alice.locator("[data-context-menu] [data-menu-item=move]").wait_for()
    alice.keyboard.press("ArrowDown")  # Open, Rename…, Move to…
    alice.keyboard.press("ArrowDown")
    alice.keyboard.press("Enter")
    alice.locator("[data-folder-choice]").select_option("docs")
    alice.click("[data-dialog-submit]")
    alice.locator(f"[data-tree-item][data-path='docs/util.py'][data-file-id='{util}']").wait_for()
    assert tree_paths(server, ids)[util] == "docs/util.py"

    # Reopening restores the tabs, the active file and its cursor.
    alice.evaluate("window.__collabcode.editor.setPosition({lineNumber: 2, column: 5})")
    time.sleep(0.8)
    alice.reload()
    alice.locator("[data-connection=connected]").wait_for(timeout=20_000)
    assert alice.locator("[data-tab]").count() == 2
    assert alice.locator("[data-tab][aria-selected=true]").get_attribute("data-file-id") == util
    poll(
        alice,
        "(() => { const p = window.__collabcode.editor.getPosition(); return p.lineNumber === 2 && p.column === 5 })()",
    )

    # Someone else deletes the open file: the tab stays, marked, read-only, with a notice.
    alice.click(f"[data-tab][data-file-id='{fid}']")
    before = editor_text(alice)
    with httpx.Client(base_url=server.url, timeout=10) as api:
        assert api.delete(f"/api/workspaces/{wid}/files/{fid}", headers=ids["alice"]).status_code in (200, 204)
    alice.locator(f"[data-tab][data-file-id='{fid}'][data-gone=deleted]").wait_for(timeout=10_000)
    alice.click(f"[data-tab][data-file-id='{fid}']")
    alice.locator("[data-editor-notice] [data-gone=deleted]").wait_for()
    alice.locator(f"[data-tab][data-file-id='{fid}'][data-gone=deleted]").wait_for()
    assert alice.evaluate(READ_ONLY)
    assert editor_text(alice) == before
    alice.click(f"[data-tab][data-file-id='{fid}'] [data-tab-close]")
    assert alice.locator(f"[data-tab][data-file-id='{fid}']").count() == 0

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    alice.context.close()


def test_follow_a_teammate_then_lose_access_and_the_connection(
    seeded: tuple[LiveServer, dict[str, Any]],  # noqa: F811
    browser: Any,
) -> None:
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    long_text = "".join(f"line_{n} = {n}\n" for n in range(1, 301))
    other = add_file(server, ids, "src/long.py", long_text)
    problems = PageProblems()
    alice = open_as(browser, server, "alice", f"/w/{wid}/f/{fid}?test=1", problems)
    bob = open_as(browser, server, "bob", f"/w/{wid}/f/{fid}?test=1", problems)

    # Bob switches to another file (main.py stays open in a tab) and scrolls down.
    bob.click(f"[data-tree-item][data-file-id='{other}']")
    poll(bob, "window.__collabcode.editor.getModel().getValue().includes('line_300')")
    bob.evaluate("window.__collabcode.editor.revealLineNearTop(200)")

    # Alice follows Bob: his file opens and her editor shows his lines.
    alice.locator("[data-presence] [data-peer=Bob]").click()
    alice.locator("[data-following-pill]", has_text="Following Bob").wait_for()
    poll(alice, f"location.pathname.endsWith('/f/{other}')")
    poll(
        alice,
        "(() => { const r = window.__collabcode.editor.getVisibleRanges()[0];"
        " return r && r.startLineNumber <= 200 && r.endLineNumber >= 200; })()",
    )
    # He scrolls again; she follows.
    bob.evaluate("window.__collabcode.editor.revealLineNearTop(40)")
    poll(
        alice,
        "(() => { const r = window.__collabcode.editor.getVisibleRanges()[0];"
        " return r && r.startLineNumber <= 40 && r.endLineNumber >= 40; })()",
    )
    # Typing stops following.
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.type("x")
    alice.locator("[data-following-pill]").wait_for(state="hidden")
    bob.evaluate("window.__collabcode.editor.revealLineNearTop(250)")
    time.sleep(1)
    first = alice.evaluate("window.__collabcode.editor.getVisibleRanges()[0].startLineNumber")
    assert first < 200, first

    # Bob is removed from the workspace: his tabs keep their text, read-only, with a notice.
    with httpx.Client(base_url=server.url, timeout=10) as api:
        members = api.get(f"/api/workspaces/{wid}/members", headers=ids["alice"]).json()["members"]
        bob_id = next(m["user_id"] for m in members if m["username"] == "bob")
        r = api.delete(f"/api/workspaces/{wid}/members/{bob_id}", headers=ids["alice"])
        assert r.status_code in (200, 204), r.text
    bob.locator("[data-editor-notice] [data-gone=access]").wait_for(timeout=15_000)
    assert bob.evaluate(READ_ONLY)
    assert "line_300" in editor_text(bob)

    # The server goes away: Alice sees the lost-connection banner, her edits are kept.
    server.stop()
    alice.locator("[data-offline-banner]", has_text="connection to the server was lost").wait_for(timeout=15_000)
    alice.locator("[data-connection=offline], [data-connection=connecting]").first.wait_for()

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    for page in (alice, bob):
        page.context.close()
