"""Playwright in Debian's Chromium: launch arguments and a CSP/console watchdog for pages.

Every test that drives a browser gets :func:`csp_guard` automatically: each context it opens
records Content Security Policy violations (the console text Chromium logs *and* the DOM's
``securitypolicyviolation`` events, whose wording does not depend on the browser), and the test
fails at teardown if there was any.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.services import require_chromium

if TYPE_CHECKING:
    from tests.conftest import LiveServer

CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

# Prefix of the console line the recorder writes for each DOM violation event.
CSP_EVENT_MARK = "[csp-violation] "

# Runs before any page script in every frame: keeps each violation on ``window.__cspViolations``
# and repeats it on the console, so a listener in Python sees it even after the page navigated.
CSP_RECORDER = """(() => {
  if (window.__cspViolations) return;
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    const entry = {
      directive: event.effectiveDirective || event.violatedDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      sample: event.sample,
    };
    window.__cspViolations.push(entry);
    console.error(MARK + JSON.stringify(entry));
  }, true);
})();""".replace("MARK", json.dumps(CSP_EVENT_MARK))

# Any of the fixtures through which a test can open a page.
_BROWSER_FIXTURES = frozenset({"page", "context", "new_context", "browser"})


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Never download a browser: use the system Chromium (or skip/fail if it is missing)."""
    executable = require_chromium()
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_FLAGS}


def is_csp_violation(text: str) -> bool:
    """Whether a console line reports a CSP violation (Chromium's own wording or the recorder's)."""
    return text.startswith(CSP_EVENT_MARK) or "Content Security Policy" in text


class PageProblems:
    """Collects console errors, page errors and CSP violations of one page."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []

    def attach(self, page: Any) -> None:
        # Idempotent: pages from a guarded context already run the recorder.
        page.add_init_script(CSP_RECORDER)
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))

    @property
    def csp_violations(self) -> list[str]:
        return [e for e in self.console_errors if is_csp_violation(e)]


class CspWatch:
    """The CSP violations of every page in the browser contexts it watches, in arrival order."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def watch(self, context: Any) -> None:
        context.add_init_script(CSP_RECORDER)
        context.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        if message.type == "error" and is_csp_violation(message.text):
            self.violations.append(f"{message.page.url if message.page else '?'}: {message.text}")


@pytest.fixture(autouse=True)
def csp_guard(request: pytest.FixtureRequest) -> Iterator[CspWatch | None]:
    """Fail any browser test whose pages caused a CSP violation.

    Autouse fixtures are set up before the test's own, so wrapping ``browser.new_context`` here
    also covers the ``page`` fixture's context; the check runs after those contexts closed.
    """
    if not _BROWSER_FIXTURES & set(request.fixturenames):
        yield None
        return
    browser = request.getfixturevalue("browser")
    watch = CspWatch()
    new_context, new_page = browser.new_context, browser.new_page

    def watched_context(*args: Any, **kwargs: Any) -> Any:
        context = new_context(*args, **kwargs)
        watch.watch(context)
        return context

    def watched_page(*args: Any, **kwargs: Any) -> Any:
        page = new_page(*args, **kwargs)
        watch.watch(page.context)
        return page

    browser.new_context, browser.new_page = watched_context, watched_page
    try:
        yield watch
    finally:
        del browser.new_context, browser.new_page
    assert watch.violations == [], "Content Security Policy violations:\n" + "\n".join(watch.violations)


@pytest.fixture
def page_problems(page: Any) -> PageProblems:
    problems = PageProblems()
    problems.attach(page)
    return problems


def poll(page: Any, js: str, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Evaluate ``js`` until it is truthy (string wait_for_function is blocked by our CSP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(js)
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for: {js} (last value {page.evaluate(js)!r})")


def editor_text(page: Any) -> str:
    """The text of the workspace editor's current Monaco model."""
    return str(page.evaluate("window.__collabcode.editor.getModel().getValue()"))


def setup_token(server: LiveServer, timeout: float = 10.0) -> str:
    """The first-run setup token a fresh server logged (``auth.setup_link``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_text().splitlines():
            if line.startswith("{") and '"auth.setup_link"' in line:
                found = re.search(r"setup\?token=([A-Za-z0-9_\-]+)", json.loads(line)["msg"])
                if found:
                    return found.group(1)
        time.sleep(0.05)
    raise AssertionError("no setup link in the server log")


def make_team(server: LiveServer, people: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    """A team on a fresh server: ``people`` maps usernames to (password, display name).

    The first person completes first-run setup (the administrator) and invites the others, who
    sign up with the invite (email at ``USERNAME@example.test``); the invite has 5 uses, so it
    stays active for up to 4 people. Returns every person's ``Authorization`` header.
    """
    names = list(people)
    headers: dict[str, dict[str, str]] = {}
    with httpx.Client(base_url=server.url, timeout=10) as api:

        def login(name: str) -> dict[str, str]:
            answer = api.post("/api/auth/login", json={"login": name, "password": people[name][0]})
            assert answer.status_code == 200, answer.text
            return {"authorization": "Bearer " + answer.json()["access_token"]}

        admin = names[0]
        setup = {
            "token": setup_token(server),
            "email": f"{admin}@example.test",
            "username": admin,
            "password": people[admin][0],
            "display_name": people[admin][1],
        }
        answer = api.post("/api/auth/setup", json=setup)
        assert answer.status_code == 201, answer.text
        headers[admin] = login(admin)
        if len(names) > 1:
            invite = api.post("/api/admin/invites", json={"max_uses": 5}, headers=headers[admin])
            assert invite.status_code == 201, invite.text
            for name in names[1:]:
                body = {
                    "email": f"{name}@example.test",
                    "username": name,
                    "password": people[name][0],
                    "display_name": people[name][1],
                    "invite": invite.json()["token"],
                }
                answer = api.post("/api/auth/signup", json=body)
                assert answer.status_code == 202, answer.text
                headers[name] = login(name)
    return headers


def choose_from_context_menu(
    page: Any, target: Any, item_name: str, opened: Any, attempts: int = 3, position: dict[str, float] | None = None
) -> None:
    """Right-click ``target``, choose the menu item ``item_name`` and wait for ``opened``.

    Monaco's context menu ignores a release that comes right after it opened and closes itself
    when the editor re-lays out; on a loaded machine either can swallow the click, so the menu
    is opened again (at most ``attempts`` times) until what the item opens is visible.
    """
    for attempt in range(attempts):
        target.click(button="right", position=position)
        item = page.get_by_role("menuitem", name=item_name)
        item.wait_for()
        item.hover()
        time.sleep(0.3)
        item.click()
        try:
            opened.wait_for(timeout=5_000)
            return
        except Exception:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
