"""Code in messages, in the browser: Alice selects a function in the editor, sends it to Bob
from the editor's context menu with a note; Bob sees the path, lines and snippet in the message,
and its link opens the file with that code selected. Screenshot to docs/screenshots/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.e2e.test_accessibility_browser import describe, run_axe
from tests.fixtures_browser import PageProblems, choose_from_context_menu, make_team, poll

pytestmark = pytest.mark.browser

PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FUNCTION = "def greet(name):\n    message = f'hello {name}'\n    return message\n"
SOURCE = f"import sys\n\n\n{FUNCTION}\n\nprint(greet(sys.argv[1]))\n"


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    server = start_server(tmp_path / "data", env={"COLLABCODE_BCRYPT_ROUNDS": "4"})
    try:
        team = make_team(server, {"alice": (PASSWORDS["alice"], "Alice"), "bob": (PASSWORDS["bob"], "Bob")})
        alice = team["alice"]
        with httpx.Client(base_url=server.url, timeout=10) as api:
            wid = api.post("/api/workspaces", json={"name": "Demo"}, headers=alice).json()["id"]
            fid = api.post(
                f"/api/workspaces/{wid}/files",
                json={"path": "src/greet.py", "kind": "file", "content": SOURCE},
                headers=alice,
            ).json()["id"]
            r = api.post(f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "viewer"}, headers=alice)
            assert r.status_code in (200, 201), r.text
            r = api.post("/api/conversations", json={"username": "bob"}, headers=alice)
            assert r.status_code in (200, 201), r.text
            cid = r.json()["id"]
        yield server, {"wid": wid, "fid": fid, "cid": cid, "alice": alice}
    finally:
        server.stop()


def signed_in(browser: Any, server: LiveServer, user: str, problems: PageProblems) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    r = context.request.post(
        server.url + "/api/auth/login",
        data={"login": user, "password": PASSWORDS[user]},
        headers={"origin": server.url},
    )
    assert r.status == 200
    page = context.new_page()
    problems.attach(page)
    return page


def open_file(page: Any, server: LiveServer, path: str) -> None:
    page.goto(server.url + path)
    page.locator("[data-connection=connected]").wait_for(timeout=20_000)
    poll(page, "window.__collabcode && window.__collabcode.editor.getModel().getValue().includes('greet(name)')")


def test_send_a_selection_and_open_it_from_the_message(seeded: tuple[LiveServer, dict[str, Any]], browser: Any) -> None:
    server, ids = seeded
    wid, fid, cid = ids["wid"], ids["fid"], ids["cid"]
    problems = PageProblems()
    alice = signed_in(browser, server, "alice", problems)
    open_file(alice, server, f"/w/{wid}/f/{fid}?test=1")

    # Alice selects the function (lines 4-6) and sends it from the editor's context menu.
    alice.evaluate(
        "window.__collabcode.editor.setSelection({startLineNumber: 4, startColumn: 1, endLineNumber: 7, endColumn: 1})"
    )
    dialog = alice.locator("[data-send-code-dialog]")
    line = alice.locator(".monaco-editor .view-line").nth(4)
    choose_from_context_menu(alice, line, "Send selection in a message…", dialog)
    assert dialog.locator("[data-send-code-label]").inner_text() == "src/greet.py · lines 4\u20136"
    dialog.locator("[data-send-code-to=bob]").click()

    # The conversation opens with the code attached as a chip; the note goes with it.
    alice.wait_for_url(f"**/messages/{cid}")
    chip = alice.locator("[data-code-ref-chip]")
    chip.wait_for()
    assert "src/greet.py · lines 4\u20136" in chip.inner_text()
    violations = run_axe(alice)
    assert not violations, describe(violations)
    alice.locator("[data-composer]").fill("Should greet() handle an empty name?")
    alice.locator("[data-composer]").press("Enter")
    alice.locator("[data-own=true][data-status=sent] [data-code-ref=live]").or_(
        alice.locator("[data-own=true][data-status=delivered] [data-code-ref=live]")
    ).first.wait_for()
    assert chip.count() == 0 or not chip.is_visible()

    # Bob sees the path, the lines and the code, as text.
    bob = signed_in(browser, server, "bob", problems)
    bob.goto(server.url + f"/messages/{cid}?test=1")
    ref = bob.locator("[data-own=false] [data-code-ref=live]")
    ref.wait_for(timeout=20_000)
    assert ref.locator("[data-code-ref-open]").inner_text() == "src/greet.py · lines 4\u20136"
    assert ref.locator("[data-code-ref-snippet]").inner_text() == FUNCTION
    assert ref.locator("[data-code-ref-snippet] code").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    bob.screenshot(path=str(SCREENSHOTS / "chat-code-ref.png"))
    violations = run_axe(bob)
    assert not violations, describe(violations)

    # The link opens the file with exactly that code selected.
    ref.locator("[data-code-ref-open]").click()
    bob.wait_for_url(f"**/w/{wid}/f/{fid}*")
    bob.locator("[data-connection=connected]").wait_for(timeout=20_000)
    selected = (
        "(() => { const e = window.__collabcode && window.__collabcode.editor;"
        " return e ? e.getModel().getValueInRange(e.getSelection()) : ''; })()"
    )
    poll(bob, f"{selected} === {json.dumps(FUNCTION)}")
    assert "range=" not in bob.url  # used once, then dropped from the address

    # Alice deletes the function: the message says so and opens the version it was sent on.
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.put(
            f"/api/workspaces/{wid}/files/{fid}/content",
            content=SOURCE.replace(FUNCTION, "").encode(),
            headers={**ids["alice"], "content-type": "text/plain; charset=utf-8"},
        )
        assert r.status_code == 200, r.text
    bob.goto(server.url + f"/messages/{cid}?test=1")
    gone = bob.locator("[data-own=false] [data-code-ref=deleted]")
    gone.wait_for(timeout=20_000)
    assert "The referenced code was deleted" in gone.inner_text()
    assert gone.locator("[data-code-ref-snippet]").count() == 0
    gone.locator("[data-code-ref-version]").click()
    bob.wait_for_url(f"**/w/{wid}/f/{fid}*")
    bob.locator("[data-history-view]").wait_for(timeout=20_000)
    poll(
        bob, "(document.querySelector('[data-history-readonly] .view-lines')?.innerText || '').includes('greet(name)')"
    )
    live = "window.__collabcode.editor.getModel().getValue()"
    poll(bob, f"{live}.includes('print(greet')")  # the live file, without the function
    assert "def greet" not in bob.evaluate(live)

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
