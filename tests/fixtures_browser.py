"""Playwright in Debian's Chromium: launch arguments and a CSP/console watchdog for pages."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Never download a browser: use the system Chromium (or skip/fail if it is missing)."""
    executable = require_chromium()
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_FLAGS}


class PageProblems:
    """Collects console errors, page errors and CSP violations of one page."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("console", lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))

    @property
    def csp_violations(self) -> list[str]:
        return [e for e in self.console_errors if "Content Security Policy" in e or "Refused to" in e]


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
