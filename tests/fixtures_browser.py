"""Playwright in Debian's Chromium: launch arguments and a CSP/console watchdog for pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.services import require_chromium

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
