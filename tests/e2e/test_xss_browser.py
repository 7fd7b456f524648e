"""Hostile text everywhere a person can type it, in a real browser: names, the bio, a workspace,
a folder, a file, messages, a code comment, a ringing call and an AI answer all render as text,
run nothing, link nowhere dangerous and cause no Content Security Policy violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.fake_ai_provider import FakeAIProvider, fake_ai_provider  # noqa: F401  (the fixture)
from tests.fixtures_browser import CspWatch, PageProblems, poll, setup_token

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse"}

IMG = "<img src=x onerror=window.__xss=1>"
SVG = '"><svg onload=window.__xss=1>'
JS_TEXT = "javascript:window.__xss=1"
JS_LINK = "[x](javascript:window.__xss=1)"
TEMPLATE = "{{7*7}}"
SCRIPT = "</script><script>window.__xss=1</script>"

ALICE_NAME = f"{SVG} Alice"
BOB_NAME = f"{IMG} Bob"
BOB_BIO = f"{SCRIPT} {TEMPLATE} {JS_TEXT}"
WORKSPACE = f"{SCRIPT} {TEMPLATE}"
FOLDER = f"{SVG} {TEMPLATE}"
FILE = f"{IMG}.py"
MESSAGES = [IMG, SVG, JS_TEXT, TEMPLATE, SCRIPT, f"see {JS_LINK}"]
COMMENT = f"{IMG} {SCRIPT} {JS_LINK}"
AI_ANSWER = [
    f"Raw HTML stays text: {IMG} {SVG} ",
    f"{SCRIPT} ",
    '<a href="javascript:window.__xss=1">raw link</a> ',
    "[a bad link](javascript:window.__xss=1) ",
    f"{TEMPLATE} done.",
]

# Everything a browser would run or follow if a payload had become markup instead of text.
MARKUP_FROM_PAYLOADS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) found.push(`${el.tagName} ${attr.name}=${attr.value}`);
      const url = attr.value.replace(/[\\s\\x00-\\x1f]/g, '').toLowerCase();
      if (['href', 'src', 'xlink:href', 'action', 'formaction', 'data-href'].includes(attr.name)
          && url.startsWith('javascript:')) found.push(`${el.tagName} ${attr.name}=${attr.value}`);
    }
  }
  for (const el of document.querySelectorAll('img[src=x], svg[onload], script:not([src])')) {
    found.push(el.outerHTML.slice(0, 120));
  }
  return found;
}"""


@pytest.fixture
def server(tmp_path: Path, fake_ai_provider: FakeAIProvider) -> Iterator[LiveServer]:  # noqa: F811
    provider = ["--ai-provider", "openai", "--ai-base-url", fake_ai_provider.url]
    models = ["--ai-chat-model", "test-chat", "--ai-completion-model", "test-complete"]
    live = start_server(tmp_path / "data", *provider, *models, env={"COLLABCODE_BCRYPT_ROUNDS": "4"})
    try:
        yield live
    finally:
        live.stop()


def login(api: httpx.Client, user: str) -> dict[str, str]:
    answer = api.post("/api/auth/login", json={"login": user, "password": PASSWORDS[user]})
    assert answer.status_code == 200, answer.text
    return {"authorization": "Bearer " + answer.json()["access_token"]}


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def seed(server: LiveServer) -> dict[str, Any]:
    """Alice (admin) and Bob, every string they can choose a payload, sharing a workspace and a chat."""
    with httpx.Client(base_url=server.url, timeout=10) as api:
        setup = {
            "token": setup_token(server),
            "email": "alice@example.test",
            "username": "alice",
            "password": PASSWORDS["alice"],
            "display_name": ALICE_NAME,
        }
        # Usernames are the one name a payload cannot be: the server refuses it.
        refused = api.post("/api/auth/setup", json={**setup, "username": IMG})
        assert refused.status_code == 422 and "username" in refused.text, refused.text
        ok(api.post("/api/auth/setup", json=setup))
        alice = login(api, "alice")
        invite = ok(api.post("/api/admin/invites", json={"max_uses": 2}, headers=alice))["token"]
        signup = {
            "email": "bob@example.test",
            "username": "bob",
            "password": PASSWORDS["bob"],
            "display_name": BOB_NAME,
            "invite": invite,
        }
        assert api.post("/api/auth/signup", json=signup).status_code == 202
        bob = login(api, "bob")
        bob_id = ok(api.get("/api/me", headers=bob))["id"]
        ok(api.patch(f"/api/admin/users/{bob_id}", json={"verified": True}, headers=alice))
        ok(api.patch("/api/me", json={"bio": BOB_BIO}, headers=bob))
        ok(api.post("/api/users/bob/follow", headers=alice))

        wid = ok(api.post("/api/workspaces", json={"name": WORKSPACE}, headers=alice))["id"]
        ok(api.post(f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=alice))
        content = "def greet(name):\n    return 'hello ' + name\n"
        file = {"path": f"{FOLDER}/{FILE}", "kind": "file", "content": content}
        fid = ok(api.post(f"/api/workspaces/{wid}/files", json=file, headers=alice))["id"]
        comment = {"anchor": {"start": 0, "end": 16}, "body": COMMENT}
        ok(api.post(f"/api/workspaces/{wid}/files/{fid}/comments", json=comment, headers=bob))

        cid = ok(api.post("/api/conversations", json={"username": "alice"}, headers=bob))["id"]
        for n, body in enumerate(MESSAGES):
            message = {"body": body, "client_id": f"xss-{n}"}
            ok(api.post(f"/api/conversations/{cid}/messages", json=message, headers=bob))
    return {"wid": wid, "fid": fid, "cid": cid, "bob": bob}


def assert_text_only(page: Any, csp: CspWatch, *texts: str) -> None:
    """Each text is shown as text, and nothing a payload carries became markup or ran."""
    for text in texts:
        page.get_by_text(text).filter(visible=True).first.wait_for()
    assert page.evaluate(MARKUP_FROM_PAYLOADS) == []
    assert page.evaluate("window.__xss") is None
    assert csp.violations == []


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"security-xss-{name}.png"))


def test_hostile_text_renders_as_text_in_every_view(
    server: LiveServer,
    fake_ai_provider: FakeAIProvider,  # noqa: F811
    browser: Any,
    csp_guard: CspWatch,
) -> None:
    ids = seed(server)
    problems = PageProblems()
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    signed_in = context.request.post(
        server.url + "/api/auth/login",
        data={"login": "alice", "password": PASSWORDS["alice"]},
        headers={"origin": server.url},
    )
    assert signed_in.status == 200
    page = context.new_page()
    problems.attach(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # The dashboard: her workspace, the person she follows, his unread message.
    page.goto(server.url + "/dashboard?test=1")
    poll(page, "document.documentElement.dataset.eventsState === 'open'", timeout=20)
    assert_text_only(page, csp_guard, WORKSPACE, BOB_NAME)
    shoot(page, "dashboard")
    page.goto(server.url + "/workspaces?test=1")
    assert_text_only(page, csp_guard, WORKSPACE)

    # The workspace: the tree, the editor, a comment in the list and in the editor's hover.
    page.goto(server.url + f"/w/{ids['wid']}/f/{ids['fid']}?test=1")
    page.locator("[data-connection=connected]").wait_for(timeout=20_000)
    poll(page, "window.__collabcode && window.__collabcode.editor.getModel().getValue().includes('greet')")
    assert_text_only(page, csp_guard, FOLDER, FILE)
    page.locator("[data-history-toggle]").click()
    page.locator("[data-comment-id] [data-comment-body]").wait_for()
    assert page.locator("[data-comment-id] [data-comment-body]").inner_text() == COMMENT
    page.locator(".cc-comment-glyph").first.hover()
    page.locator(".monaco-hover").get_by_text("window.__xss=1</script>", exact=False).first.wait_for()
    assert_text_only(page, csp_guard, COMMENT, BOB_NAME)
    shoot(page, "workspace")

    # The assistant's answer: raw HTML and a javascript: link from the model stay inert.
    fake_ai_provider.script_chat(AI_ANSWER)
    page.click("[data-assistant-toggle]")
    panel = page.locator("[data-assistant-panel]")
    panel.locator("[data-assistant-status=on]").wait_for(state="attached")
    panel.locator("[data-assistant-input]").fill(f"Explain {IMG}")
    page.keyboard.press("Enter")
    answer = panel.locator("[data-message-role=assistant][data-message-state=done]")
    answer.wait_for(timeout=20_000)
    assert_text_only(page, csp_guard, IMG, SCRIPT, TEMPLATE + " done.")
    assert answer.locator("img, svg, script, iframe").count() == 0
    for label in ("raw link", "a bad link"):
        links = answer.locator("a", has_text=label)
        assert links.count() == 0 or links.first.get_attribute("href") is None, label
    shoot(page, "assistant")

    # Messages: every body, including a javascript: "link" and a markdown link, as plain text.
    page.goto(server.url + f"/messages/{ids['cid']}?test=1")
    page.locator("li[data-seq]").nth(len(MESSAGES) - 1).wait_for()
    assert_text_only(page, csp_guard, BOB_NAME, *MESSAGES)
    assert page.locator("li[data-seq] a").count() == 0
    shoot(page, "messages")

    # A call: Bob's name on the ringing screen, then in the missed-call note and the history.
    page.goto(server.url + "/calls?test=1")
    poll(page, "Boolean(window.__collabcodeCalls && document.querySelector('[data-call-ui]'))")
    with httpx.Client(base_url=server.url, timeout=10) as api:
        call = ok(api.post("/api/calls", json={"callee": "alice", "media": "audio"}, headers=ids["bob"]))
        page.locator("[data-incoming-call]").wait_for()
        assert_text_only(page, csp_guard, BOB_NAME)
        shoot(page, "call")
        ok(api.post(f"/api/calls/{call['id']}/cancel", headers=ids["bob"]))
    page.locator("[data-call-note]").get_by_text(f"Missed call from {BOB_NAME}").wait_for()
    page.locator("[data-call-history-item]").first.wait_for()
    assert_text_only(page, csp_guard, f"Missed call from {BOB_NAME}")

    # Bob's profile: his name, bio and the workspace they share.
    page.goto(server.url + "/u/bob?test=1")
    assert_text_only(page, csp_guard, BOB_NAME, BOB_BIO, WORKSPACE)
    shoot(page, "profile")

    # Administration: both names in the user list.
    page.goto(server.url + "/admin/users?test=1")
    assert_text_only(page, csp_guard, ALICE_NAME, BOB_NAME)
    shoot(page, "admin")

    assert problems.page_errors == [], problems.page_errors
    assert problems.csp_violations == [], problems.csp_violations
    assert not [url for url in requested if url.endswith("/x")], "an injected <img src=x> was loaded"
    context.close()


def cause_a_violation(page: Any, url: str) -> None:
    """Load the app and add an inline script, which the policy blocks."""
    page.goto(url)
    page.get_by_role("heading", level=1).wait_for()
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.body.append(s); }"
    )
    poll(page, "window.__cspViolations.length > 0")
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__cspViolations[0].directive") == "script-src-elem"


def test_the_csp_guard_sees_a_violation_in_a_context_a_test_opens(
    live_server: LiveServer, browser: Any, csp_guard: CspWatch
) -> None:
    """The guard every browser test relies on: a violation in a page of its own context reaches it."""
    context = browser.new_context()
    cause_a_violation(context.new_page(), live_server.url + "/")
    context.close()
    assert any("script-src-elem" in line for line in csp_guard.violations), csp_guard.violations
    csp_guard.violations.clear()  # expected here; any other violation still fails the test


def test_the_csp_guard_sees_a_violation_in_the_page_fixture(
    live_server: LiveServer, page: Any, csp_guard: CspWatch
) -> None:
    cause_a_violation(page, live_server.url + "/")
    poll(page, "true")  # one more round trip: the console event has been delivered
    assert any("script-src-elem" in line for line in csp_guard.violations), csp_guard.violations
    csp_guard.violations.clear()
