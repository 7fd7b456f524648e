"""Screenshots of the workspace editor for the README and docs/workspaces.md: a small project,
a file open, and two people in it (light for one, dark for the other)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.e2e.test_workspace_browser import open_as, seeded  # noqa: F401  (seeded is a fixture)
from tests.fixtures_browser import PageProblems, poll

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

MAIN = '''"""Say hello to people."""

from dataclasses import dataclass


@dataclass
class Greeter:
    greeting: str = "Hello"

    def greet(self, name: str) -> str:
        """Greet someone by name."""
        return f"{self.greeting}, {name}!"


def main() -> None:
    greeter = Greeter()
    for name in ("Alice", "Bob"):
        print(greeter.greet(name))


if __name__ == "__main__":
    main()
'''

PROJECT = {
    "README.md": "# Greeter\n\nSays hello.\n",
    "pyproject.toml": '[project]\nname = "greeter"\nversion = "0.1.0"\n',
    "src/util.py": "def shout(text: str) -> str:\n    return text.upper()\n",
    "tests/test_greeter.py": (
        "from src.main import Greeter\n\n\ndef test_greet():\n    assert Greeter().greet('Bob') == 'Hello, Bob!'\n"
    ),
    "docs/notes.md": "Notes\n",
}


def test_workspace_screenshots(seeded: tuple[LiveServer, dict[str, Any]], browser: Any) -> None:  # noqa: F811
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    with httpx.Client(base_url=server.url, timeout=10) as api:
        for path, content in PROJECT.items():
            body = {"path": path, "kind": "file", "content": content}
            assert api.post(f"/api/workspaces/{wid}/files", json=body, headers=ids["alice"]).status_code == 201
        r = api.put(
            f"/api/workspaces/{wid}/files/{fid}/content",
            content=MAIN.encode(),
            headers={**ids["alice"], "content-type": "text/plain; charset=utf-8"},
        )
        assert r.status_code in (200, 204), r.text

    problems = PageProblems()
    url = f"/w/{wid}/f/{fid}?test=1"
    alice = open_as(browser, server, "alice", url, problems)
    bob = open_as(browser, server, "bob", url, problems, scheme="dark")

    for page in (alice, bob):
        if page.locator("[data-banner-dismiss]").is_visible():
            page.click("[data-banner-dismiss]")
    # Alice edits the greeting; Bob selects the method he is looking at.
    alice.click(".monaco-editor .view-lines")
    alice.evaluate(
        "(() => { const e = window.__collabcode.editor; e.setPosition({lineNumber: 8, column: 27}); e.focus(); })()"
    )
    alice.keyboard.insert_text(", friend")
    bob.evaluate(
        "(() => { const e = window.__collabcode.editor;"
        " e.setSelection({startLineNumber: 10, startColumn: 9, endLineNumber: 10, endColumn: 14}); e.focus(); })()"
    )
    for page in (alice, bob):
        poll(page, "window.__collabcode.editor.getModel().getValue().includes('Hello, friend')")
        page.locator(".yRemoteSelectionHead").first.wait_for(state="attached")
        page.locator("[data-presence] [data-peer]").first.wait_for()
        page.locator("[data-save-state=saved]").wait_for()
    poll(alice, "document.querySelectorAll('.yRemoteSelection').length > 0")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "workspace-light.png"))
    bob.screenshot(path=str(SCREENSHOTS / "workspace-dark.png"))
    assert (SCREENSHOTS / "workspace-light.png").stat().st_size > 20_000

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    for page in (alice, bob):
        page.context.close()
