"""The assistant in the workspace editor, in real browsers against a real server and a test
model server: ghost text, a streamed chat answer, "Replace selection" as one undoable edit seen
by a teammate as the assistant's, and the panel's explanation when the assistant is off."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.fake_ai_provider import FakeAIProvider, fake_ai_provider  # noqa: F401  (the fixture)
from tests.fixtures_browser import PageProblems, choose_from_context_menu, editor_text, make_team, poll

pytestmark = pytest.mark.browser

PASSWORDS = {"alice": "correct horse battery", "bob": "battery staple horse", "carol": "staple horse correct"}
ROLES = {"bob": "editor", "carol": "viewer"}
SOURCE = "def add(a, b):\n    return a - b\n\n\nprint(add(1, 2))\n"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"






def seed(server: LiveServer) -> dict[str, str]:
    """Alice (admin) with a workspace holding src/calc.py, Bob as an editor in it and Carol as a viewer."""
    team = make_team(server, {name: (PASSWORDS[name], name.title()) for name in ("alice", *ROLES)})
    alice = team["alice"]
    with httpx.Client(base_url=server.url, timeout=10) as api:
        wid = api.post("/api/workspaces", json={"name": "Demo"}, headers=alice).json()["id"]
        created = api.post(
            f"/api/workspaces/{wid}/files",
            json={"path": "src/calc.py", "kind": "file", "content": SOURCE},
            headers=alice,
        )
        assert created.status_code == 201, created.text
        for name, role in ROLES.items():
            member = api.post(f"/api/workspaces/{wid}/members", json={"username": name, "role": role}, headers=alice)
            assert member.status_code in (200, 201), member.text
    return {"wid": wid, "fid": created.json()["id"], "alice": alice["authorization"]}


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
    try:
        page.locator("[data-connection=connected]").wait_for(timeout=20_000)
    except Exception:
        raise AssertionError(f"{user} did not connect: {problems.page_errors} {problems.console_errors}") from None
    poll(page, "window.__collabcode && window.__collabcode.editor.getModel().getValue().includes('def add')")
    return page


def ghost_text(page: Any, expected: str) -> str:
    """Wait until the editor shows ghost text containing ``expected``; return all of it."""
    return str(
        poll(
            page,
            "(() => { const t = [...document.querySelectorAll('.monaco-editor .view-lines .ghost-text-decoration')]"
            ".map((g) => g.textContent).join('').replace(/\\u00a0/g, ' ');"
            f" return t.includes({json.dumps(expected)}) && t.trim(); }})()",
        )
    )


def select_lines(page: Any, first: int, last: int) -> None:
    """Select whole lines ``first``..``last`` (1-based) in the editor, as a user would with the mouse."""
    page.evaluate(
        """([first, last]) => {
            const { editor, monaco } = window.__collabcode;
            const model = editor.getModel();
            editor.setSelection(new monaco.Selection(first, 1, last, model.getLineMaxColumn(last)));
            editor.focus();
        }""",
        [first, last],
    )


ANSWER = [
    "Swap the operator:\n\n",
    "```python\n",
    "def add(a, b):\n",
    "    return a + b\n",
    "```\n\n",
    'Raw HTML stays text: <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> ',
    "[a bad link](javascript:window.__pwned=3) and [the guide](https://example.com/guide).",
]
FIXED = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def server_with_provider(tmp_path: Path, fake_ai_provider: FakeAIProvider) -> Iterator[LiveServer]:  # noqa: F811
    server = start_server(
        tmp_path / "data",
        "--ai-provider",
        "openai",
        "--ai-base-url",
        fake_ai_provider.url,
        "--ai-chat-model",
        "test-chat",
        "--ai-completion-model",
        "test-complete",
        env={"COLLABCODE_BCRYPT_ROUNDS": "4"},
    )
    try:
        yield server
    finally:
        server.stop()


def panel_messages(page: Any) -> list[dict[str, str]]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('[data-assistant-messages] [data-message-role]')].map((li) => ({
                role: li.dataset.messageRole, state: li.dataset.messageState || '', text: li.innerText }))"""
        )
    )


def test_ghost_text_chat_and_an_undoable_replace_seen_by_a_teammate(
    server_with_provider: LiveServer,
    fake_ai_provider: FakeAIProvider,  # noqa: F811
    browser: Any,
) -> None:
    server, provider = server_with_provider, fake_ai_provider
    ids = seed(server)
    problems = PageProblems()
    url = f"/w/{ids['wid']}/f/{ids['fid']}?test=1"
    alice = open_as(browser, server, "alice", url, problems)
    bob = open_as(browser, server, "bob", url, problems, scheme="dark")
    alice.locator("[data-assistant-toggle][data-assistant-state=on]").wait_for()

    # Ghost text from the provider's fill-in-the-middle answer; Tab accepts it.
    provider.script_completion("ult = add(2, 3)")
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+End")
    alice.keyboard.type("res", delay=60)
    assert ghost_text(alice, "ult = add(2, 3)") == "ult = add(2, 3)"
    completions = [r for r in provider.generation_requests() if r.path == "/v1/completions"]
    assert completions, provider.requests
    assert completions[-1].json["prompt"].endswith("res") and "suffix" in completions[-1].json
    # Ctrl+Right takes the next word only, Escape dismisses the rest.
    alice.keyboard.press("Control+ArrowRight")
    poll(alice, "window.__collabcode.editor.getModel().getValue().endsWith('\\nresult')")
    alice.keyboard.press("Escape")
    poll(alice, "!document.querySelector('.monaco-editor .view-lines .ghost-text-decoration')")
    assert editor_text(alice).endswith("\nresult")
    # Typing on asks again; Tab takes the whole suggestion.
    provider.script_completion(" add(2, 3)")
    alice.keyboard.type(" =", delay=60)
    ghost_text(alice, "add(2, 3)")
    provider.script_completion("")
    alice.keyboard.press("Tab")
    poll(alice, "window.__collabcode.editor.getModel().getValue().includes('result = add(2, 3)')")
    poll(bob, "window.__collabcode.editor.getModel().getValue().includes('result = add(2, 3)')")

    # A quick action on the selection: the answer streams into the panel, rendered safely.
    provider.chunk_delay = 0.2
    provider.script_chat(ANSWER)
    select_lines(alice, 1, 2)
    alice.click("[data-assistant-toggle]")
    panel = alice.locator("[data-assistant-panel]")
    panel.locator("[data-assistant-status=on]").wait_for(state="attached")
    panel.locator("[data-quick-action=fix]").click()
    poll(
        alice,
        "(() => { const li = document.querySelector('[data-message-role=assistant][data-message-state=streaming]');"
        " return li && li.innerText.includes('Swap the operator') && !li.innerText.includes('the guide'); })()",
    )
    panel.locator("[data-message-role=assistant][data-message-state=done]").wait_for(timeout=20_000)
    provider.chunk_delay = 0.0
    chats = [r for r in provider.generation_requests() if r.path == "/v1/chat/completions"]
    assert chats and "return a - b" in chats[-1].text()
    messages = panel_messages(alice)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["text"].split() == ["You:", "Fix", "src/calc.py,", "lines", "1\u20132"]
    answer = panel.locator("[data-message-role=assistant]")
    assert "<img src=x" in answer.inner_text() and "<script>" in answer.inner_text()
    assert answer.locator("img, script, [onerror]").count() == 0
    assert alice.evaluate("window.__pwned === undefined")
    bad = answer.locator("a", has_text="a bad link")
    assert bad.get_attribute("href") is None
    good = answer.locator("a", has_text="the guide")
    assert good.get_attribute("href") == "https://example.com/guide"
    assert "noopener" in (good.get_attribute("rel") or "") and good.get_attribute("target") == "_blank"
    code = answer.locator("pre code")
    assert code.inner_text() == FIXED
    assert "mono" in code.evaluate("el => getComputedStyle(el).fontFamily").lower()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "assistant-panel.png"))

    # "Replace selection": one transaction, seen by Bob as the assistant's edit for Alice.
    before = editor_text(alice)
    answer.locator("[data-code-action=replace]").click()
    after = poll(
        alice,
        "(() => { const v = window.__collabcode.editor.getModel().getValue(); return v.includes('a + b') && v; })()",
    )
    assert after == before.replace("    return a - b\n", "    return a + b\n")
    poll(bob, "window.__collabcode.editor.getModel().getValue().includes('return a + b')")
    marker = bob.locator("[data-assistant-marker='Alice']")
    marker.wait_for(timeout=5_000)
    assert marker.inner_text() == "Assistant (for Alice)"
    poll(bob, "document.querySelectorAll('.monaco-editor .view-overlays .cc-assistant-range').length >= 2")
    bob.screenshot(path=str(SCREENSHOTS / "assistant-marker-dark.png"))
    assert editor_text(bob) == after

    # One Ctrl+Z takes the whole edit back, for everyone; the ghost text Alice took stays.
    alice.click(".monaco-editor .view-lines")
    alice.keyboard.press("Control+z")
    poll(alice, "!window.__collabcode.editor.getModel().getValue().includes('return a + b')")
    assert editor_text(alice) == before
    poll(bob, "!window.__collabcode.editor.getModel().getValue().includes('return a + b')")
    assert editor_text(bob) == before

    # Bob edits the lines Alice asked about before she applies: she gets a diff, not an overwrite.
    provider.script_chat(["```python\n", FIXED, "```\n"])
    select_lines(alice, 1, 2)
    alice.locator("[data-assistant-input]").fill("Fix this function.")
    alice.keyboard.press("Enter")
    poll(alice, "document.querySelectorAll('[data-message-role=assistant][data-message-state=done]').length === 2")
    bob.evaluate(
        """() => { const { editor, monaco } = window.__collabcode;
            editor.executeEdits('test', [{ range: new monaco.Range(2, 1, 2, 1), text: '    # checked by bob\\n' }]);
        }"""
    )
    poll(alice, "window.__collabcode.editor.getModel().getValue().includes('# checked by bob')")
    panel.locator("[data-message-role=assistant]").last.locator("[data-code-action=replace]").click()
    dialog = alice.locator("[data-assistant-diff]")
    dialog.wait_for()
    assert "Someone changed these lines" in dialog.inner_text()
    assert "# checked by bob" in editor_text(alice)
    poll(alice, "document.querySelectorAll('[data-assistant-diff] .monaco-diff-editor').length === 1")
    dialog.screenshot(path=str(SCREENSHOTS / "assistant-diff.png"))
    dialog.locator("[data-diff-apply]").click()
    dialog.wait_for(state="detached")
    poll(bob, "window.__collabcode.editor.getModel().getValue().includes('return a + b')")
    assert "# checked by bob" not in editor_text(bob)

    # Stop ends a streaming answer, and the server drops the provider's request with it.
    provider.chunk_delay = 0.5
    provider.script_chat([f"Part {n}. " for n in range(40)])
    alice.locator("[data-assistant-input]").fill("Explain the whole file slowly.")
    alice.keyboard.press("Enter")
    poll(
        alice,
        "(() => { const li = [...document.querySelectorAll('[data-message-role=assistant]')].pop();"
        " return li.dataset.messageState === 'streaming' && li.innerText.includes('Part 1.'); })()",
    )
    panel.locator("[data-assistant-stop]").click()
    last_answer = "[...document.querySelectorAll('[data-message-role=assistant]')].pop()"
    poll(alice, f"{last_answer}.dataset.messageState === 'stopped'")
    last = [r for r in provider.generation_requests() if r.path == "/v1/chat/completions"][-1]
    assert provider.wait_finished(last, timeout=10)
    assert last.client_closed
    assert "Part 39." not in panel.inner_text()

    # A provider failure ends the answer with the server's message, not a hang or a stack trace.
    provider.chunk_delay = 0.0
    provider.fail_next(500)
    alice.locator("[data-assistant-input]").fill("And now?")
    alice.keyboard.press("Enter")
    failed = panel.locator("[data-message-role=assistant][data-message-state=error] [role=alert]")
    failed.wait_for()
    assert failed.inner_text().strip()
    assert "Traceback" not in failed.inner_text()

    # A viewer gets no ghost text, and answers she gets cannot be applied.
    carol = open_as(browser, server, "carol", url, problems, scheme="dark")
    asked: list[str] = []
    carol.on("request", lambda request: asked.append(request.url) if "/api/ai/complete" in request.url else None)
    carol.locator("[data-assistant-toggle][data-assistant-state=on]").wait_for()
    carol.click(".monaco-editor .view-lines")
    carol.keyboard.press("Control+End")
    carol.keyboard.type("res", delay=60)
    provider.chunk_delay = 0.0
    provider.script_chat(["```python\n", FIXED, "```\n"])
    # The quick actions are in the editor's context menu too; they open the panel.
    select_lines(carol, 1, 2)
    carol_panel = carol.locator("[data-assistant-panel]")
    first_line = carol.locator(".monaco-editor .view-lines .view-line").nth(0)
    choose_from_context_menu(
        carol, first_line, "Assistant: Explain the selection", carol_panel, position={"x": 24, "y": 8}
    )
    carol_panel.locator("[data-message-role=assistant][data-message-state=done]").wait_for()
    carol.screenshot(path=str(SCREENSHOTS / "assistant-panel-dark.png"))
    for action in ("insert", "replace"):
        assert carol_panel.locator(f"[data-code-action={action}]").is_disabled()
    carol_panel.locator("[data-code-action=diff]").click()
    carol.locator("[data-assistant-diff]").wait_for()
    assert carol.locator("[data-assistant-diff] [data-diff-apply]").count() == 0
    carol.keyboard.press("Escape")
    carol.locator("[data-assistant-diff]").wait_for(state="detached")
    assert asked == []
    assert editor_text(carol) == editor_text(alice)

    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    for page in (alice, bob, carol):
        page.context.close()


@pytest.fixture
def server_without_provider(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data", env={"COLLABCODE_BCRYPT_ROUNDS": "4"})
    try:
        yield server
    finally:
        server.stop()


def test_panel_says_the_assistant_is_off_and_how_to_enable_it(
    server_without_provider: LiveServer, browser: Any
) -> None:
    server = server_without_provider
    ids = seed(server)
    with httpx.Client(base_url=server.url, timeout=10) as api:
        status = api.get(f"/api/ai/status?workspace_id={ids['wid']}", headers={"authorization": ids["alice"]}).json()
    if status["enabled"]:
        pytest.skip("an AI provider answers on this machine (a local Ollama?), so the assistant is not off")
    assert status["reason"] and status["how_to_enable"]

    problems = PageProblems()
    page = open_as(browser, server, "alice", f"/w/{ids['wid']}/f/{ids['fid']}?test=1", problems)
    completions: list[str] = []
    page.on("request", lambda request: completions.append(request.url) if "/api/ai/complete" in request.url else None)

    page.locator("[data-assistant-toggle][data-assistant-state=off]").wait_for()
    page.click("[data-assistant-toggle]")
    panel = page.locator("[data-assistant-panel]")
    panel.wait_for()
    panel.locator("[data-assistant-status=off]").wait_for()
    assert "The assistant is off" in panel.inner_text()
    assert panel.locator("[data-assistant-reason]").inner_text() == status["reason"]
    how_to = panel.locator("[data-assistant-how-to]")
    assert how_to.inner_text() == status["how_to_enable"].replace("`", "")
    commands = re.findall(r"`([^`]+)`", status["how_to_enable"])
    assert how_to.locator("code").all_inner_texts() == commands
    assert panel.locator("[data-assistant-input]").is_disabled()
    assert panel.locator("[data-assistant-send]").is_disabled()

    # Typing asks for no completions while the assistant is off.
    page.click(".monaco-editor .view-lines")
    page.keyboard.press("Control+End")
    page.keyboard.type("result = ad", delay=40)
    time.sleep(1.0)
    assert completions == []
    assert "result = ad" in editor_text(page)

    # The shortcut closes and reopens the panel.
    page.keyboard.press("Control+Shift+Y")
    poll(page, "document.querySelector('[data-assistant-panel]').hidden")
    page.keyboard.press("Control+Shift+Y")
    poll(page, "!document.querySelector('[data-assistant-panel]').hidden")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "assistant-off.png"))
    assert not problems.csp_violations, problems.console_errors
    assert not problems.page_errors, problems.page_errors
    page.context.close()


SSE_CHECK = """
import { SseParser } from './frontend/src/assistant/sse.js';
const stream = ': keep-alive\\r\\n\\r\\nevent: delta\\r\\ndata: {"text": "a"}\\r\\n\\r\\n'
  + 'event: delta\\ndata: {"text":\\ndata: "b"}\\n\\n'
  + 'data:plain\\r\\rid: 7\\nretry: 10\\nevent: done\\ndata: {"finish_reason": "stop"}';
const results = new Set();
for (let cut = 0; cut <= stream.length; cut += 1) {
  for (let second = cut; second <= stream.length; second += 7) {
    const parser = new SseParser();
    const chunks = [stream.slice(0, cut), stream.slice(cut, second), stream.slice(second)];
    const events = chunks.flatMap((chunk) => parser.push(chunk));
    results.add(JSON.stringify([...events, ...parser.end()]));
  }
}
console.log(JSON.stringify([...results]));
"""


def test_the_event_stream_parser_survives_any_chunking() -> None:
    """Network chunks cut SSE events anywhere (even between CR and LF); the events stay the same."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [node, "--input-type=module", "-e", SSE_CHECK], cwd=root, capture_output=True, text=True, timeout=60, check=True
    )
    results = json.loads(out.stdout)
    assert len(results) == 1, results[:3]
    assert json.loads(results[0]) == [
        {"event": "delta", "data": '{"text": "a"}'},
        {"event": "delta", "data": '{"text":\n"b"}'},
        {"event": "message", "data": "plain"},
        {"event": "done", "data": '{"finish_reason": "stop"}'},
    ]
