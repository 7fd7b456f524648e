"""Without a provider the assistant is off, and every endpoint says so and how to turn it on.

Also: with nothing configured, a local Ollama is found and used (its address is pointed at the
test provider here, or at a port nobody listens on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collabcode.assistant import config
from collabcode.settings import Settings
from tests.assistant.conftest import EnvFactory
from tests.fake_ai_provider import FakeAIProvider
from tests.services import free_port


@pytest.fixture
def no_local_ollama(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "OLLAMA_URL", f"http://127.0.0.1:{free_port()}")


async def expect_off(env: Any, fragment: str) -> None:
    alice = await env.user("alice")
    wid = await env.workspace(alice)
    fid = await env.file(alice, wid, "main.py", "print(1)\n")
    status = (await env.call(alice, "GET", "/api/ai/status", expect=200)).json()
    assert status["enabled"] is False
    assert status["reason"] and fragment in status["how_to_enable"]
    body = {"workspace_id": wid, "file_id": fid, "language": "python", "prefix": "print(", "suffix": ")"}
    for url, payload in (
        ("/api/ai/complete", body),
        ("/api/ai/chat", {"messages": [{"role": "user", "content": "hi"}]}),
    ):
        response = await env.call(alice, "POST", url, json=payload, expect=503)
        error = response.json()["error"]
        assert error["code"] == "assistant_off"
        assert fragment in error["message"] and status["reason"] in error["message"]
        assert error["details"] == {"reason": status["reason"], "how_to_enable": status["how_to_enable"]}
        assert response.headers["retry-after"]


async def test_nothing_configured_and_no_ollama(ai_env: EnvFactory, no_local_ollama: None) -> None:
    async with ai_env(provider=False) as env:
        await expect_off(env, "ollama pull qwen2.5-coder:1.5b")
        status = (await env.call(env.users["alice"], "GET", "/api/ai/status", expect=200)).json()
        assert "COLLABCODE_AI_BASE_URL" in status["how_to_enable"]
        assert status["provider"] is None and status["chat_model"] is None


async def test_switched_off_by_the_admin(ai_env: EnvFactory) -> None:
    async with ai_env(ai_provider="off") as env:
        await expect_off(env, "COLLABCODE_AI_PROVIDER")


async def test_ollama_without_models(ai_env: EnvFactory, fake_ai_provider: FakeAIProvider) -> None:
    fake_ai_provider.models = []
    async with ai_env(ai_provider="ollama", ai_chat_model=None, ai_completion_model=None) as env:
        await expect_off(env, "ollama pull qwen2.5-coder:1.5b")
        status = (await env.call(env.users["alice"], "GET", "/api/ai/status", expect=200)).json()
        assert "no models" in status["reason"]


async def test_local_ollama_is_detected_and_used(
    tmp_path: Path, fake_ai_provider: FakeAIProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "OLLAMA_URL", fake_ai_provider.url)
    fake_ai_provider.models = ["nomic-embed-text:latest", "llama3.2:1b", "qwen2.5-coder:1.5b"]
    availability = await config.resolve(Settings(data_dir=tmp_path))
    try:
        assert availability.enabled and availability.kind == "ollama"
        assert availability.chat_model == availability.completion_model == "qwen2.5-coder:1.5b"
    finally:
        assert availability.client is not None
        await availability.client.aclose()
    assert [r.path for r in fake_ai_provider.requests] == ["/api/tags"]


async def test_chat_only_provider_says_how_to_get_completions(ai_env: EnvFactory) -> None:
    async with ai_env(ai_completion_model=None) as env:
        alice = await env.user("alice")
        wid = await env.workspace(alice)
        fid = await env.file(alice, wid, "main.py", "print(1)\n")
        body = {"workspace_id": wid, "file_id": fid, "language": "python", "prefix": "print(", "suffix": ")"}
        response = await env.call(alice, "POST", "/api/ai/complete", json=body, expect=503)
        assert "COLLABCODE_AI_COMPLETION_MODEL" in response.json()["error"]["message"]
        chat = {"messages": [{"role": "user", "content": "hi"}]}
        await env.call(alice, "POST", "/api/ai/chat", json=chat, expect=200)


def test_pick_models_prefers_code_models() -> None:
    assert config.pick_models(["llama3.2:1b", "starcoder2:3b"]) == ("starcoder2:3b", "starcoder2:3b")
    assert config.pick_models(["llama3.2:1b"]) == ("llama3.2:1b", None)
    assert config.pick_models(["nomic-embed-text"]) == (None, None)
