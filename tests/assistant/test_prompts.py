"""Prompt building: secret-looking files, windows on line boundaries, trimming the answer."""

from __future__ import annotations

import pytest

from collabcode.assistant import prompts
from collabcode.assistant.providers.base import ChatMessage


@pytest.mark.parametrize(
    "path",
    [
        ".env", ".env.local", "config/.env.production", "prod.env", "certs/server.pem", "tls/site.key",
        "id_rsa", "home/.ssh/id_ed25519.pub", "keys/store.p12", "credentials", "aws/credentials.json",
        ".aws/config", "app-secrets.yaml", ".npmrc", ".pypirc", "infra/prod.tfvars", "CERT.PEM", ".netrc",
    ],
)
def test_secret_looking_files(path: str) -> None:
    assert prompts.looks_secret(path)


@pytest.mark.parametrize(
    "path", ["src/main.py", "README.md", "environment.py", "keyboard.js", "docs/pem-format.md", "envoy.yaml"]
)
def test_ordinary_files(path: str) -> None:
    assert not prompts.looks_secret(path)


def test_completion_window_cuts_on_line_boundaries() -> None:
    prefix = "".join(f"a{i}\n" for i in range(1000))
    suffix = "".join(f"b{i}\n" for i in range(1000))
    window = prompts.completion_window(prefix + "x = ", suffix, 1000)
    assert window.prefix.endswith("a999\nx = ") and window.prefix.startswith("a")
    assert window.prefix.split("\n")[0] in {f"a{i}" for i in range(1000)}
    assert window.suffix.startswith("b0\n") and window.suffix.endswith("\n")
    assert len(window.prefix) + len(window.suffix) + window.snippet_chars <= 1000


def test_short_suffix_leaves_room_for_prefix() -> None:
    window = prompts.completion_window("p" * 5000, "", 1000)
    assert len(window.prefix) == 800 and window.snippet_chars == 200


def test_trim_completion_drops_text_already_after_the_cursor() -> None:
    assert prompts.trim_completion("x = compute()\nreturn x", "return x\n", 100) == "x = compute()\n"
    assert prompts.trim_completion("call(a)", ")\nnext()", 100) == "call(a)"  # too short to be sure
    assert prompts.trim_completion("a + b", "\n", 100) == "a + b"
    assert prompts.trim_completion("x" * 50, "", 10) == "x" * 10


def test_lines_around_the_selection() -> None:
    text = "".join(f"line {i}\n" for i in range(1, 101))
    window, first = prompts.lines_around(text, 50, 51, 60)
    assert "line 50\nline 51\n" in window and first <= 50 and len(window) <= 60


def test_fit_history_keeps_latest_messages_and_starts_with_the_user() -> None:
    history = [ChatMessage("user", "a" * 50), ChatMessage("assistant", "b" * 50), ChatMessage("user", "c" * 50)]
    fitted = prompts.fit_history("S" * 10, history, 120)
    assert fitted is not None
    assert [m.role for m in fitted] == ["system", "user"] and fitted[1].content == "c" * 50
    assert prompts.fit_history("S" * 10, history, 40) is None


def test_fences_outlast_backticks_in_code() -> None:
    assert prompts.fence("no ticks") == "```"
    assert prompts.fence("has ```` four") == "`````"
