"""Automated accessibility checks (axe-core) of the main pages in light and dark: the dashboard,
the workspace editor, messages, account settings, a profile and the admin pages. Serious and
critical violations fail the test; the report names the rule, the elements and how to fix it.

axe-core comes from frontend/node_modules (a devDependency). It is evaluated through the
DevTools protocol, which the page's Content Security Policy does not apply to, so the check runs
against the real CSP and adds no violations of its own."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.e2e.test_dashboard_browser import open_as, seeded  # noqa: F401 (seeded is a fixture)
from tests.fixtures_browser import PageProblems

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING = {"serious", "critical"}


def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in frontend/ (axe-core is a devDependency)")
    return AXE.read_text("utf-8")


def run_axe(page: Any) -> list[dict[str, Any]]:
    """Serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate("(source) => { (0, eval)(source); }", axe_source())
    results: dict[str, Any] = page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, {
                runOnly: { type: 'tag', values: tags },
                resultTypes: ['violations'],
            });
            return { violations: result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, summary: n.failureSummary })),
            })) };
        }""",
        TAGS,
    )
    return [v for v in results["violations"] if v["impact"] in FAILING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']}: {v['id']} — {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            lines.append(f"    {node['target']}: {node['summary']}")
    return "\n".join(lines)


def check(page: Any, label: str, failures: dict[str, str]) -> None:
    # Let late content (lazy chunks, live data) settle before checking.
    time.sleep(0.3)
    found = run_axe(page)
    if found:
        failures[label] = describe(found)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_main_pages_have_no_serious_accessibility_violations(
    seeded: tuple[LiveServer, dict[str, Any]],  # noqa: F811 (the fixture imported above)
    browser: Any,
    scheme: str,
) -> None:
    server, ids = seeded
    problems = PageProblems()
    failures: dict[str, str] = {}

    page = open_as(browser, server, "alice", "/", problems, scheme=scheme)
    page.locator("[data-view=dashboard][data-dashboard-state=ready]").wait_for(timeout=15_000)
    page.locator(
        "[data-dashboard-card=dash-activity] li, [data-dashboard-card=dash-activity] [data-empty]"
    ).first.wait_for()
    check(page, "dashboard", failures)

    # The command palette, open over the dashboard.
    page.keyboard.press("Control+k")
    page.locator("[data-palette-option=workspace]").first.wait_for(timeout=10_000)
    check(page, "command palette", failures)
    page.keyboard.press("Escape")

    page.goto(f"{server.url}/w/{ids['wid']}/f/{ids['files']['app.py']}")
    page.locator("[data-connection=connected]").wait_for(timeout=20_000)
    page.locator(".monaco-editor .view-line").first.wait_for()
    check(page, "workspace editor", failures)

    page.goto(f"{server.url}/messages/{ids['conversation']}")
    page.locator("li[data-own]", has_text="Can you review the user model?").wait_for(timeout=15_000)
    check(page, "messages", failures)

    page.goto(f"{server.url}/settings/account")
    page.locator("[data-session-row]").first.wait_for(timeout=15_000)
    page.locator("[data-avatar-section]").wait_for()
    check(page, "account settings", failures)

    page.goto(f"{server.url}/u/bob")
    page.locator("[data-view=profile][data-profile-state=ready]").wait_for(timeout=15_000)
    page.locator("[data-person=alice]").wait_for()
    check(page, "profile", failures)

    for section, ready in (
        ("users", "[data-admin-user=bob]"),
        ("invites", "[data-invite]"),
        ("settings", "[data-setting]"),
        ("health", "[data-check]"),
    ):
        page.goto(f"{server.url}/admin/{section}")
        # Health runs the doctor's checks (database, broker, assistant, TURN): slow on a busy box.
        page.locator(ready).first.wait_for(timeout=30_000)
        check(page, f"admin {section}", failures)

    assert not failures, "\n\n".join(f"== {label} ==\n{text}" for label, text in failures.items())
    assert problems.csp_violations == [], problems.csp_violations
    assert problems.page_errors == [], problems.page_errors
