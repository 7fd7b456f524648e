"""Messages in two browsers: ticks sent → delivered → read, typing, unread badges, edit and delete,
blocking, text-only rendering of hostile bodies, and screenshots in light and dark."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server, wait_healthy
from tests.fixtures_browser import PageProblems, make_team, poll

pytestmark = pytest.mark.browser

PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse", "carol": "staple horse correct"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
EARLIER = 70  # older messages in Carol's conversation, to page through

OWN_STATUSES = "[...document.querySelectorAll('li[data-own=\"true\"]')].map((li) => li.dataset.status)"




@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, dict[str, str]]]]:
    server = start_server(tmp_path / "data", env={"COLLABCODE_BCRYPT_ROUNDS": "4"})
    try:
        names = {"alice": "Alice Archer", "bob": "Bob Baker", "carol": "Carol Chen"}
        headers = make_team(server, {name: (PASSWORDS[name], display) for name, display in names.items()})
        yield server, headers
    finally:
        server.stop()


def login(api: httpx.Client, user: str) -> dict[str, str]:
    answer = api.post("/api/auth/login", json={"login": user, "password": PASSWORDS[user]})
    assert answer.status_code == 200
    return {"authorization": "Bearer " + answer.json()["access_token"]}


def restart(server: LiveServer) -> None:
    """Start the stopped server again on the same port and data directory."""
    cmd = [sys.executable, "-m", "collabcode", "serve", "--port", str(server.port), "--data-dir", str(server.data_dir)]
    env = {**os.environ, "COLLABCODE_LOG_FORMAT": "json", "COLLABCODE_BCRYPT_ROUNDS": "4"}
    with open(server.log_path, "ab") as log:
        server.process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(server.data_dir.parent)
        )
    wait_healthy(server)


def open_as(browser: Any, server: LiveServer, user: str, path: str, problems: PageProblems, scheme: str) -> Any:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1200, "height": 760})
    answer = context.request.post(
        server.url + "/api/auth/login",
        data={"login": user, "password": PASSWORDS[user]},
        headers={"origin": server.url},
    )
    assert answer.status == 200
    page = context.new_page()
    problems.attach(page)
    page.goto(server.url + path)
    try:
        poll(page, "document.documentElement.dataset.eventsState === 'open'", timeout=20)
    except AssertionError:
        state = page.evaluate("JSON.stringify(document.documentElement.dataset)")
        raise AssertionError(f"events socket not open: {state}; console: {problems.console_errors}") from None
    return page


def seed_carol(server: LiveServer, headers: dict[str, dict[str, str]]) -> None:
    """Carol writes to Alice over HTTP: a link, a code block, and a reply, for the screenshots."""
    with httpx.Client(base_url=server.url, timeout=10) as api:
        cid = api.post("/api/conversations", json={"username": "alice"}, headers=headers["carol"]).json()["id"]
        chatter = ["Standup in 5?", "On my way", "Pushed the fix to review", "Thanks!", "Lunch at 12:30?", "Sure"]
        bodies = [("carol" if i % 3 else "alice", chatter[i % len(chatter)]) for i in range(EARLIER)]
        bodies += [
            ("carol", "Morning! Did you see the build failure on main?"),
            ("alice", "Yes, it is the flaky upload test again. Details: https://example.com/ci/runs/4821."),
            (
                "carol",
                "Could you try this fix?\n```python\ndef retry(fn, times=3):\n    for _ in range(times):\n"
                "        if fn():\n            return True\n    return False\n```",
            ),
            ("alice", "Looks good, merging after lunch."),
        ]
        for who, body in bodies:
            sent = api.post(
                f"/api/conversations/{cid}/messages",
                json={"body": body, "client_id": uuid.uuid4().hex},
                headers=headers[who],
            )
            assert sent.status_code == 201, sent.text


def test_two_people_chat_with_ticks_typing_and_safe_text(
    seeded: tuple[LiveServer, dict[str, dict[str, str]]], browser: Any
) -> None:
    server, headers = seeded
    problems = PageProblems()

    # Alice starts with nobody to talk to, then opens a conversation with Bob by username.
    alice = open_as(browser, server, "alice", "/messages?test=1", problems, "light")
    alice.locator("[data-conversations-empty]").wait_for()
    alice.fill("[data-conversation-search]", "bob")
    alice.click("[data-start-username=bob]")
    poll(alice, "/^\\/messages\\/[0-9a-f]{32}$/.test(location.pathname)")
    cid = alice.evaluate("location.pathname.split('/').pop()")
    alice.locator("[data-thread-empty]").wait_for()
    assert alice.locator("[data-thread-title]").inner_text() == "Bob Baker"

    # Bob is not connected: one grey tick.
    alice.fill("[data-composer]", "Hello Bob")
    alice.press("[data-composer]", "Enter")
    poll(alice, f"JSON.stringify({OWN_STATUSES}) === '[\"sent\"]'")
    assert alice.locator("li[data-own=true] [data-ticks=sent]").get_attribute("aria-label") == "Sent"
    assert alice.locator("[data-composer]").input_value() == ""

    # Bob opens the app: his conversation list delivers it (two ticks); a message sent while his
    # socket is open is delivered by the socket itself.
    bob = open_as(browser, server, "bob", "/messages?test=1", problems, "dark")
    poll(alice, f"JSON.stringify({OWN_STATUSES}) === '[\"delivered\"]'")
    alice.click("[data-composer]")
    alice.keyboard.type("Are you there?")
    alice.keyboard.press("Shift+Enter")  # a new line, not a send
    alice.keyboard.type("Second line")
    assert alice.locator("[data-composer]").input_value() == "Are you there?\nSecond line"
    alice.keyboard.press("Enter")
    poll(alice, f'JSON.stringify({OWN_STATUSES}) === \'["delivered","delivered"]\'')
    assert alice.locator("li[data-own=true] [data-ticks=delivered]").first.get_attribute("aria-label") == "Delivered"
    assert "Second line" in alice.locator("li[data-own=true]").nth(1).inner_text()

    # Bob sees two unread messages in his list, the navigation badge and the title.
    row = bob.locator(f"[data-conversation-id='{cid}']")
    poll(bob, f"document.querySelector(\"[data-conversation-id='{cid}']\")?.dataset.unread === '2'")
    assert bob.locator("[data-unread-badge] [aria-hidden]").inner_text() == "2"
    assert bob.title().startswith("(2) ")

    # Bob opens the thread: Alice's ticks turn blue (read), his badges clear.
    row.click()
    bob.locator("li[data-own=false]").nth(1).wait_for()
    poll(alice, f'JSON.stringify({OWN_STATUSES}) === \'["read","read"]\'')
    assert alice.locator("li[data-own=true] [data-ticks=read]").first.get_attribute("aria-label") == "Read"
    poll(bob, "document.querySelector('[data-unread-badge]').hidden && !document.title.startsWith('(')")

    # Bob types: Alice sees "typing…"; it goes away after Bob stops (≤ ~6 s).
    bob.click("[data-composer]")
    bob.keyboard.type("I am writing a long answer", delay=40)
    poll(alice, "document.querySelector('[data-typing]')?.textContent === 'typing…'", timeout=5)
    stopped = time.monotonic()
    poll(alice, "!document.querySelector('[data-typing]')", timeout=8)
    assert time.monotonic() - stopped <= 6.5
    assert bob.locator("[data-composer]").input_value() == "I am writing a long answer"

    # A hostile body is shown as text; links are links; fenced code is monospaced.
    bob.fill("[data-composer]", XSS)
    bob.press("[data-composer]", "Enter")
    bob.fill("[data-composer]", "See https://example.org/docs?a=1 and\n```\nprint('<b>hi</b>')\n```")
    bob.press("[data-composer]", "Enter")
    theirs = alice.locator("li[data-own=false]")
    poll(alice, "document.querySelectorAll('li[data-own=\"false\"]').length === 2")
    assert XSS in theirs.nth(0).inner_text()
    assert theirs.nth(0).locator("img").count() == 0
    link = theirs.nth(1).locator("a")
    assert link.get_attribute("href") == "https://example.org/docs?a=1"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert theirs.nth(1).locator("pre code").inner_text() == "print('<b>hi</b>')"
    assert theirs.nth(1).locator("b").count() == 0
    assert alice.locator("[data-view=messages] img").count() == 0

    # Alice edits her first message and deletes her second, for everyone.
    first = alice.locator("li[data-own=true]").nth(0)
    first.hover()
    first.locator("[data-message-menu]").click()
    alice.click("[data-menu-edit]")
    alice.fill("[data-edit-input]", "Hello Bob, edited")
    alice.press("[data-edit-input]", "Enter")
    poll(bob, "document.querySelector('li[data-own=\"false\"] [data-edited]') !== null")
    assert "Hello Bob, edited" in bob.locator("li[data-own=false]").nth(0).inner_text()
    second = alice.locator("li[data-own=true]").nth(1)
    second.hover()
    second.locator("[data-message-menu]").click()
    alice.click("[data-menu-delete]")
    alice.click("[data-confirm-dialog] [data-confirm]")
    poll(bob, "document.querySelectorAll('li[data-own=\"false\"] [data-deleted-mark]').length === 1")
    assert "Second line" not in bob.locator("[data-message-list]").inner_text()

    # Bob blocks Alice: her next message fails and can be retried once he unblocks her.
    bob.click("[data-block-toggle]")
    bob.click("[data-confirm-dialog] [data-confirm]")
    poll(bob, "document.querySelector('[data-block-toggle]').textContent === 'Unblock'")
    assert bob.locator("[data-composer-form]").is_hidden()
    alice.fill("[data-composer]", "Still there?")
    alice.press("[data-composer]", "Enter")
    alice.locator("[data-retry]").wait_for()
    assert "cannot message" in alice.locator("li[data-status=pending]").inner_text()
    bob.click("[data-block-toggle]")
    poll(bob, "document.querySelector('[data-block-toggle]').textContent === 'Block'")
    alice.click("[data-retry]")
    theirs_js = "[...document.querySelectorAll('li[data-own=\"false\"]')]"
    poll(bob, theirs_js + ".some((li) => li.textContent.includes('Still there?'))")
    assert alice.locator("li[data-status=pending]").count() == 0

    # Screenshots with a second, busier conversation, in light (Alice) and dark (Bob).
    seed_carol(server, headers)
    alice.locator("[data-conversation-id]").nth(1).wait_for()
    alice.locator("[data-conversation-id]").first.click()
    alice.locator("li[data-own=false] pre").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "messages-light.png"))
    bob.locator("li[data-own=false]").first.wait_for()
    bob.screenshot(path=str(SCREENSHOTS / "messages-dark.png"))

    # Scrolling up loads the older pages until the start of the conversation.
    total = EARLIER + 4
    assert alice.locator("li[data-seq]").count() < total
    for _ in range(20):
        alice.evaluate("document.querySelector('[data-thread-scroll]').scrollTop = 0")
        if alice.locator("li[data-seq]").count() == total:
            break
        time.sleep(0.3)
    poll(alice, f"document.querySelectorAll('li[data-seq]').length === {total}")
    poll(alice, "document.querySelector('[data-thread-scroll]').textContent.includes('start of your conversation')")
    seqs = alice.evaluate("[...document.querySelectorAll('li[data-seq]')].map((li) => Number(li.dataset.seq))")
    assert seqs == list(range(1, total + 1))

    assert problems.csp_violations == []
    assert problems.console_errors == []
    assert problems.page_errors == []

    # The server goes away: a banner says so, and a message written meanwhile waits as pending.
    server.stop()
    alice.locator("[data-connection-banner]").wait_for(timeout=10_000)
    alice.fill("[data-composer]", "Written while offline")
    alice.press("[data-composer]", "Enter")
    alice.locator("li[data-status=pending] [data-ticks=pending]").wait_for()

    # It comes back: the socket reconnects with its cursor, the pending message goes out once.
    restart(server)
    poll(alice, "document.querySelector('[data-connection-banner]').hidden", timeout=30)
    poll(alice, "!document.querySelector('li[data-status=pending]')", timeout=30)
    assert alice.locator("li[data-own=true]").last.get_attribute("data-status") in ("sent", "delivered")
    with httpx.Client(base_url=server.url, timeout=10) as api:
        carol = login(api, "carol")
        cid = api.get("/api/conversations", headers=carol).json()["conversations"][0]["id"]
        bodies = [m["body"] for m in api.get(f"/api/conversations/{cid}/messages", headers=carol).json()["messages"]]
    assert bodies.count("Written while offline") == 1


HIDDEN_TAB = """
Object.defineProperty(Document.prototype, 'visibilityState', { get: () => 'hidden', configurable: true });
Object.defineProperty(Document.prototype, 'hidden', { get: () => true, configurable: true });
window.__notifications = [];
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__notifications.push({ title, body: options.body, tag: options.tag }); }
  addEventListener() {}
  close() {}
};
"""


def test_a_hidden_tab_is_away_counts_unread_and_notifies(
    seeded: tuple[LiveServer, dict[str, dict[str, str]]], browser: Any
) -> None:
    server, _ = seeded
    problems = PageProblems()
    alice = open_as(browser, server, "alice", "/messages?test=1", problems, "light")
    alice.fill("[data-conversation-search]", "bob")
    alice.click("[data-start-username=bob]")
    alice.locator("[data-composer]").wait_for()

    # Bob's tab is in the background on another page.
    context = browser.new_context(viewport={"width": 1200, "height": 760})
    context.add_init_script(HIDDEN_TAB)
    answer = context.request.post(
        server.url + "/api/auth/login",
        data={"login": "bob", "password": PASSWORDS["bob"]},
        headers={"origin": server.url},
    )
    assert answer.status == 200
    bob = context.new_page()
    problems.attach(bob)
    bob.goto(server.url + "/workspaces")
    poll(bob, "document.documentElement.dataset.eventsState === 'open'", timeout=20)

    # Alice sees him away (his tab said so; nobody else can), then writes to him.
    poll(alice, "document.querySelector('[data-presence-line]')?.textContent === 'away'")
    assert alice.locator("[data-list-pane] [data-presence=away]").count() == 1
    alice.fill("[data-composer]", "Ping <b>bold</b>")
    alice.press("[data-composer]", "Enter")
    poll(alice, f"JSON.stringify({OWN_STATUSES}) === '[\"delivered\"]'")

    notes = poll(bob, "window.__notifications.length === 1 && window.__notifications")
    assert notes[0]["title"] == "Alice Archer" and notes[0]["body"] == "Ping <b>bold</b>"
    poll(bob, "document.title.startsWith('(1) ')")
    assert bob.locator("[data-unread-badge] [aria-hidden]").inner_text() == "1"

    # Opening the thread in a hidden tab does not mark it read.
    bob.click("a[href='/messages']")
    bob.locator("[data-conversation-id]").first.click()
    bob.locator("li[data-own=false]").wait_for()
    time.sleep(0.5)
    assert alice.evaluate(OWN_STATUSES) == ["delivered"]

    assert problems.csp_violations == []
    assert problems.console_errors == []
    assert problems.page_errors == []

    # A conversation that is not hers reads as missing (the console logs the 404 response).
    alice.goto(server.url + f"/messages/{uuid.uuid4().hex}")
    alice.get_by_text("This conversation does not exist or is not yours.").wait_for()
