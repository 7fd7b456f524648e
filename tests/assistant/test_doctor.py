"""``collabcode admin doctor`` asks a configured provider for real, through the CLI."""

from __future__ import annotations

from pathlib import Path

from tests.fake_ai_provider import FakeAIProvider
from tests.test_cli import run_cli


def ai_env(provider: FakeAIProvider, **extra: str) -> dict[str, str]:
    return {
        "COLLABCODE_AI_BASE_URL": provider.url,
        "COLLABCODE_AI_CHAT_MODEL": "chat-model",
        "COLLABCODE_AI_COMPLETION_MODEL": "qwen2.5-coder:1.5b",
        "AI_API_KEY": "sk-doctor-key-0123456789",
        **extra,
    }


def test_doctor_checks_the_provider_with_real_requests(tmp_path: Path, fake_ai_provider: FakeAIProvider) -> None:
    fake_ai_provider.api_key = "sk-doctor-key-0123456789"
    data = str(tmp_path / "d")
    assert run_cli("admin", "migrate", "--data-dir", data).returncode == 0
    result = run_cli("admin", "doctor", "--data-dir", data, env=ai_env(fake_ai_provider))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "AI assistant" in result.stdout and "answered" in result.stdout
    paths = [r.path for r in fake_ai_provider.requests]
    assert paths == ["/v1/models", "/v1/chat/completions", "/v1/completions"]
    assert fake_ai_provider.requests[1].json["max_tokens"] == 1
    assert "sk-doctor-key-0123456789" not in result.stdout + result.stderr


def test_doctor_fails_clearly_when_the_provider_refuses(tmp_path: Path, fake_ai_provider: FakeAIProvider) -> None:
    fake_ai_provider.api_key = "another-key-entirely-000"
    data = str(tmp_path / "d")
    assert run_cli("admin", "migrate", "--data-dir", data).returncode == 0
    result = run_cli("admin", "doctor", "--data-dir", data, env=ai_env(fake_ai_provider))
    assert result.returncode != 0
    assert "COLLABCODE_AI_API_KEY" in result.stdout
    assert "sk-doctor-key-0123456789" not in result.stdout + result.stderr
