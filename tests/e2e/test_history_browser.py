"""File history in the browser: two users edit a file, then one scrubs back through its
versions, compares, restores (both editors follow), reads who wrote each line, and comments on
a selection that the other sees live; a viewer cannot restore. Screenshots go to docs/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.e2e.test_accessibility_browser import describe, run_axe
from tests.fixtures_browser import PageProblems, editor_text, make_team, poll

pytestmark = pytest.mark.browser

PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse", "carol": "staple horse correct"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ORIGINAL = "print('hello')\n"






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
                json={"path": "src/main.py", "kind": "file", "content": ORIGINAL},
                headers=alice,
            ).json()["id"]
            for name, role in (("bob", "editor"), ("carol", "viewer")):
                r = api.post(f"/api/workspaces/{wid}/members", json={"username": name, "role": role}, headers=alice)
                assert r.status_code in (200, 201), r.text
        yield server, {"wid": wid, "fid": fid, "alice": alice}
    finally:
        server.stop()


def open_as(
    browser: Any, server: LiveServer, user: str, path: str, problems: PageProblems, scheme: str = "light"
) -> Any:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1360, "height": 820})
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


def type_at_end(page: Any, text: str) -> None:
    page.click(".monaco-editor .view-lines")
    page.keyboard.press("Control+End")
    page.keyboard.insert_text(text)
    page.locator("[data-save-state=saved]").wait_for()


def line_author(page: Any, line: int) -> str:
    """The authorship tooltip of a line of the live editor ('' when it has none)."""
    return str(
        page.evaluate(
            f"""(() => {{
              const decorations = window.__collabcode.editor.getLineDecorations({line}) || [];
              const bar = decorations.find(
                (d) => (d.options.linesDecorationsClassName || '').includes('cc-author-bar'));
              return bar ? bar.options.linesDecorationsTooltip : '';
            }})()"""
        )
    )


def open_history(page: Any) -> None:
    page.locator("[data-history-toggle]").click()
    page.locator("[data-history-panel]").wait_for()
    page.locator("[data-history-version]").first.wait_for()


def test_history_scrub_compare_restore_authorship_and_comments(
    seeded: tuple[LiveServer, dict[str, Any]], browser: Any
) -> None:
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    problems = PageProblems()
    url = f"/w/{wid}/f/{fid}?test=1"
    alice = open_as(browser, server, "alice", url, problems)
    bob = open_as(browser, server, "bob", url, problems, scheme="dark")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    type_at_end(alice, "alice_line = 1\n")
    poll(bob, "window.__collabcode.editor.getModel().getValue().includes('alice_line = 1')")
    type_at_end(bob, "bob_line = 2\n")
    poll(alice, "window.__collabcode.editor.getModel().getValue().includes('bob_line = 2')")
    edited = editor_text(alice)
    assert edited == ORIGINAL + "alice_line = 1\nbob_line = 2\n", edited

    # The timeline lists the versions; a named checkpoint shows on the newest one.
    open_history(alice)
    assert alice.locator("[data-history-version]").count() >= 3
    alice.locator("[data-history-checkpoint]").click()
    alice.locator("#dialog-input").fill("before cleanup")
    alice.locator("[data-dialog-submit]").click()
    alice.locator("[data-history-checkpoint-name='before cleanup']").wait_for()

    # Authorship: who last wrote each line, by name.
    alice.locator("[data-authorship-toggle]").click()
    alice.locator("[data-authorship-version]").wait_for()
    poll(alice, "document.querySelectorAll('.cc-author-bar').length >= 3")
    # "Alice · Nov 26, 2026, 6:27 AM": the two lines may have been written a minute apart.
    assert line_author(alice, 1).split(" · ")[0] == line_author(alice, 2).split(" · ")[0] != ""
    assert line_author(alice, 1).startswith("Alice"), line_author(alice, 1)
    assert line_author(alice, 3).startswith("Bob"), line_author(alice, 3)
    assert alice.locator("[data-authorship-person]").count() == 2
    alice.locator("[data-authorship-legend]").scroll_into_view_if_needed()
    alice.locator(".monaco-editor .view-line").nth(2).hover(position={"x": 40, "y": 5})
    alice.locator(".monaco-hover").get_by_text("Bob").first.wait_for()
    alice.screenshot(path=str(SCREENSHOTS / "history-authorship.png"))
    alice.mouse.move(600, 600)

    # A comment on Alice's line, made from the selection; Bob sees it live in his margin and list.
    open_history(bob)
    alice.evaluate(
        "window.__collabcode.editor.setSelection({startLineNumber: 2, startColumn: 1, endLineNumber: 2, endColumn: 15})"
    )
    alice.locator("[data-comment-input]").fill("Should this be a constant?")
    alice.locator("[data-comment-submit]").click()
    alice.locator("[data-comment-id] [data-comment-body]").wait_for()
    bob.locator("[data-comment-id] [data-comment-body]").wait_for()
    assert bob.locator("[data-comment-id] [data-comment-body]").inner_text() == "Should this be a constant?"
    assert bob.locator("[data-comment-goto]").inner_text().strip() == "alice_line = 1"
    bob.locator(".cc-comment-glyph").first.wait_for()
    bob.locator("[data-comment-id]").scroll_into_view_if_needed()
    bob.locator(".cc-comment-glyph").first.hover()
    bob.locator(".monaco-hover").get_by_text("Should this be a constant?").wait_for()
    bob.screenshot(path=str(SCREENSHOTS / "history-comments-dark.png"))
    bob.mouse.move(600, 600)
    violations = run_axe(bob)
    assert not violations, describe(violations)

    # Who contributed, and the trailers for a commit message (everyone but the caller).
    alice.locator("[data-contributor=bob]").wait_for()
    alice.locator("[data-copy-trailers]").click()
    poll(alice, "document.querySelector('[data-trailers]').value.includes('Co-authored-by: Bob')")
    assert "alice" not in alice.locator("[data-trailers]").input_value().lower()

    # Scrub to the oldest version: the read-only view shows the original text.
    slider = alice.locator("[data-history-slider]")
    slider.focus()
    slider.press("Home")
    alice.locator("[data-history-view]").wait_for()
    poll(
        alice,
        "(() => { const t = document.querySelector('[data-history-readonly] .view-lines')?.innerText || '';"
        " return t.includes('hello') && !t.includes('alice_line'); })()",
    )
    assert "read only" in alice.locator("[data-history-view-heading]").inner_text()
    assert editor_text(alice) == edited  # the live document is untouched
    alice.screenshot(path=str(SCREENSHOTS / "history-version.png"))

    # Compare with the current text: a diff editor with both sides.
    alice.locator("[data-history-compare]").click()
    alice.locator("[data-history-diff] .editor.original").wait_for()
    poll(
        alice,
        "(() => { const d = document.querySelector('[data-history-diff]');"
        " const o = d.querySelector('.editor.original .view-lines')?.innerText || '';"
        " const m = d.querySelector('.editor.modified .view-lines')?.innerText || '';"
        " return o.includes('hello') && !o.includes('bob_line') && m.includes('bob_line'); })()",
    )
    alice.screenshot(path=str(SCREENSHOTS / "history-diff.png"))
    violations = run_axe(alice)
    assert not violations, describe(violations)

    # Or between two versions.
    first_edit = alice.locator("[data-history-version]").nth(-2).get_attribute("data-history-version")
    alice.locator("[data-history-compare-target]").select_option(first_edit)
    alice.locator("[data-history-view-heading]").get_by_text(f"Version 1 compared with version {first_edit}").wait_for()
    alice.locator("[data-history-compare-target]").select_option("live")
    alice.locator("[data-history-view-heading]").get_by_text("compared with the current text").wait_for()

    # Restore it: both editors show the old text, and what Bob types afterwards stays.
    alice.locator("[data-history-restore]").click()
    alice.locator("[data-confirm]").click()
    alice.locator("[data-history-feedback]").get_by_text("Restored version").wait_for()
    assert alice.locator("[data-history-view]").is_hidden()
    poll(alice, f"window.__collabcode.editor.getModel().getValue() === {json.dumps(ORIGINAL)}")
    poll(bob, f"window.__collabcode.editor.getModel().getValue() === {json.dumps(ORIGINAL)}")
    type_at_end(bob, "after_restore = 3\n")
    poll(alice, "window.__collabcode.editor.getModel().getValue().endsWith('after_restore = 3\\n')")
    assert editor_text(alice) == ORIGINAL + "after_restore = 3\n"

    # The commented code is gone: the comment says so and offers the version it came from.
    alice.locator("[data-comment-deleted]").wait_for()
    alice.locator("[data-comment-show-version]").click()
    poll(
        alice, "(document.querySelector('[data-history-readonly] .view-lines')?.innerText || '').includes('alice_line')"
    )
    alice.locator("[data-history-back-to-live]").click()
    assert alice.locator("[data-history-view]").is_hidden()

    # Bob resolves it; Alice's list follows live.
    bob.locator("[data-comment-deleted]").wait_for()
    bob.locator("[data-comment-resolve=resolve]").click()
    alice.locator("[data-comments-empty]").get_by_text("1 resolved").wait_for()
    bob.screenshot(path=str(SCREENSHOTS / "history-panel-dark.png"))

    # A viewer reads the history but cannot restore or add checkpoints, and is told why.
    carol = open_as(browser, server, "carol", url, problems)
    carol.keyboard.press("Alt+Shift+H")  # the shortcut opens the panel too
    carol.locator("[data-history-panel]").wait_for()
    carol.locator("[data-history-version]").first.wait_for()
    carol.locator("[data-history-version]").last.click()
    carol.locator("[data-history-view]").wait_for()
    assert carol.locator("[data-history-restore]").is_disabled()
    assert carol.locator("[data-history-checkpoint]").is_disabled()
    assert carol.locator("[data-history-readonly-note]").is_visible()
    carol.keyboard.press("Escape")
    assert carol.locator("[data-history-view]").is_hidden()

    # Closing the tab while it is compared with the live text leaves the panel empty, cleanly.
    alice.locator("[data-history-version]").last.click()
    alice.locator("[data-history-compare]").click()
    alice.locator("[data-history-diff] .editor.modified").wait_for()
    alice.locator("[data-tab-close]").click()
    alice.locator("[data-history-file]").get_by_text("No file open").wait_for()
    assert alice.locator("[data-history-view]").is_hidden()
    assert alice.locator("[data-history-empty]").inner_text() == "Open a file to see its history."

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    for page in (alice, bob, carol):
        page.context.close()


def test_timeline_pages_through_older_versions(seeded: tuple[LiveServer, dict[str, Any]], browser: Any) -> None:
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    with httpx.Client(base_url=server.url, timeout=10) as api:
        for n in range(55):
            r = api.put(
                f"/api/workspaces/{wid}/files/{fid}/content",
                content=f"{ORIGINAL}step = {n}\n".encode(),
                headers={**ids["alice"], "content-type": "text/plain; charset=utf-8"},
            )
            assert r.status_code == 200, r.text
    problems = PageProblems()
    alice = open_as(browser, server, "alice", f"/w/{wid}/f/{fid}?test=1", problems)
    open_history(alice)
    poll(alice, "document.querySelectorAll('[data-history-version]').length === 50")
    alice.locator("[data-history-older]").click()
    poll(alice, "document.querySelectorAll('[data-history-version]').length === 56")
    assert alice.locator("[data-history-older]").is_hidden()
    # The slider now reaches the first version.
    slider = alice.locator("[data-history-slider]")
    slider.focus()
    slider.press("Home")
    poll(alice, "(document.querySelector('[data-history-readonly] .view-lines')?.innerText || '').includes('hello')")
    assert "step" not in alice.locator("[data-history-readonly] .view-lines").inner_text()
    slider.press("ArrowRight")
    poll(
        alice,
        "(document.querySelector('[data-history-readonly] .view-lines')?.innerText || '')"
        ".replace(/\\u00a0/g, ' ').includes('step = 0')",
    )

    # A comment after non-ASCII text lands on the selected word.
    alice.locator("[data-history-back-to-live]").click()
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+Home")
    alice.keyboard.insert_text("# café + party\n")
    alice.locator("[data-save-state=saved]").wait_for()
    alice.evaluate(
        "window.__collabcode.editor.setSelection("
        "{startLineNumber: 1, startColumn: 10, endLineNumber: 1, endColumn: 15})"
    )
    assert (
        alice.evaluate(
            "window.__collabcode.editor.getModel().getValueInRange(window.__collabcode.editor.getSelection())"
        )
        == "party"
    )
    alice.locator("[data-comment-input]").fill("Which party?")
    alice.locator("[data-comment-submit]").click()
    assert alice.locator("[data-comment-goto]").inner_text().strip() == "party"
    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    alice.context.close()


def test_comment_after_non_ascii_text_typed_in_the_browser(
    seeded: tuple[LiveServer, dict[str, Any]], browser: Any
) -> None:
    server, ids = seeded
    problems = PageProblems()
    alice = open_as(browser, server, "alice", f"/w/{ids['wid']}/f/{ids['fid']}?test=1", problems)
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+Home")
    alice.keyboard.insert_text("# café 🎉 party\n")
    alice.locator("[data-save-state=saved]").wait_for()
    open_history(alice)
    # "party" is UTF-16 columns 11-16; the client sends code points 9-14.
    alice.evaluate(
        "window.__collabcode.editor.setSelection("
        "{startLineNumber: 1, startColumn: 11, endLineNumber: 1, endColumn: 16})"
    )
    alice.locator("[data-comment-input]").fill("Which party?")
    alice.locator("[data-comment-submit]").click()
    try:
        alice.locator("[data-comment-goto]").wait_for(timeout=5_000)
        assert alice.locator("[data-comment-goto]").inner_text().strip() == "party"
    finally:
        alice.context.close()
