"""Offline editing in the workspace editor: go offline, type, reload the page while still
offline (the app opens from the service worker's copy), come back online: the text typed
offline reaches the server and "Saved" appears. Also: the local copy belongs to one user."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.e2e.test_workspace_browser import open_as, seeded  # noqa: F401  (seeded is a fixture)
from tests.fixtures_browser import PageProblems, poll

pytestmark = pytest.mark.browser

# Records every save state the status bar shows, from the first script on each page load.
RECORD_SAVE_STATES = """
window.__saveStates = [];
new MutationObserver(() => {
  const el = document.querySelector('[data-save-state]');
  const state = el && el.dataset.saveState;
  if (state && window.__saveStates[window.__saveStates.length - 1] !== state) window.__saveStates.push(state);
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-save-state'] });
"""

SHELL_CACHED = """(async () => {
  if (!navigator.serviceWorker.controller) return false;
  const cache = await caches.open('collabcode-shell-v1');
  const shell = await cache.match('/');
  if (!shell) return false;
  const html = await shell.text();
  const assets = [...html.matchAll(/(?:src|href)="(\\/static\\/assets\\/[^"]+)"/g)].map((m) => m[1]);
  for (const url of assets) if (!(await cache.match(url))) return false;
  return assets.length > 0;
})()"""

LOCAL_COPIES = (
    "(async () => (await indexedDB.databases()).map((db) => db.name).filter((n) => n.startsWith('collabcode.doc.')))()"
)


def server_text(server: LiveServer, ids: dict[str, Any]) -> str:
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.get(f"/api/workspaces/{ids['wid']}/files/{ids['fid']}/content", headers=ids["alice"])
        assert r.status_code == 200, r.text
        return r.text


def network_noise(message: str) -> bool:
    """Console errors the browser itself logs for requests made while offline."""
    noise = ("ERR_INTERNET_DISCONNECTED", "WebSocket connection to", "Failed to fetch")
    return any(text in message for text in noise)


def test_offline_edits_survive_a_reload_and_merge(
    seeded: tuple[LiveServer, dict[str, Any]],  # noqa: F811
    browser: Any,
    tmp_path: Path,
) -> None:
    server, ids = seeded
    wid, fid = ids["wid"], ids["fid"]
    with httpx.Client(base_url=server.url, timeout=10) as api:
        worker = api.get("/static/sw.js")
        assert worker.status_code == 200
        assert worker.headers["service-worker-allowed"] == "/"
        assert worker.headers["content-type"].startswith("text/javascript")
    problems = PageProblems()
    alice = open_as(browser, server, "alice", f"/w/{wid}/f/{fid}?test=1", problems)
    alice.context.add_init_script(RECORD_SAVE_STATES)
    alice.locator("[data-save-state=saved]").wait_for()
    # The service worker has taken over and keeps the app shell for offline use.
    poll(alice, SHELL_CACHED, timeout=20)
    assert alice.locator("[data-offline-banner]").inner_text() == ""

    alice.context.set_offline(True)
    alice.locator("[data-offline-banner]", has_text="You are offline").wait_for()
    alice.locator("[data-connection=offline]").wait_for(timeout=10_000)
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+End")
    alice.keyboard.insert_text("offline_edit = 42\n")
    alice.locator("[data-save-state=offline]", has_text="kept in this browser").wait_for()
    assert "offline_edit" not in server_text(server, ids)
    # The edit is in this browser's copy, kept per user and document.
    with httpx.Client(base_url=server.url, timeout=10) as api:
        alice_id = api.get("/api/me", headers=ids["alice"]).json()["id"]
    assert poll(alice, LOCAL_COPIES) == [f"collabcode.doc.v1.{alice_id}.{wid}.{fid}"]
    time.sleep(0.3)  # let IndexedDB commit the last write before the page goes away

    # Reload while offline: the app shell comes from the service worker, and waits.
    alice.reload()
    alice.locator("[data-offline-waiting]").wait_for(timeout=15_000)
    assert "offline_edit" not in server_text(server, ids)

    # Back online: the page opens, merges the offline edit, syncs, and says Saved.
    alice.context.set_offline(False)
    alice.locator("[data-connection=connected]").wait_for(timeout=20_000)
    poll(alice, "window.__collabcode && window.__collabcode.editor.getModel().getValue().includes('offline_edit = 42')")
    alice.locator("[data-save-state=saved]").wait_for(timeout=15_000)
    assert "offline_edit = 42" in server_text(server, ids)
    assert "print('hello')" in server_text(server, ids)
    states = alice.evaluate("window.__saveStates")
    assert "syncing" in states, states
    assert states[-1] == "saved", states
    assert alice.locator("[data-offline-banner]").inner_text() == ""
    alice.screenshot(path=str(tmp_path / "offline-after.png"))

    # Signing out deletes this user's copies from the browser.
    alice.click("[data-user-menu]")
    alice.click("[data-sign-out]")
    poll(alice, f"{LOCAL_COPIES}.then((names) => names.length === 0)")

    assert not problems.page_errors, problems.page_errors
    assert not problems.csp_violations, problems.csp_violations
    assert [e for e in problems.console_errors if not network_noise(e)] == [], problems.console_errors
    alice.context.close()
