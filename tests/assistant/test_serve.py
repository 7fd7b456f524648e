"""A real ``collabcode serve`` configured through the environment, against the test provider.

The API key is read from ``AI_API_KEY``, sent to the provider, and never written to the log,
even when the provider echoes it back in an error.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx

from tests.conftest import start_server
from tests.fake_ai_provider import FakeAIProvider

KEY = "sk-serve-test-key-0123456789abcdef"
PASSWORD = "correct horse battery staple"


def setup_admin(server_log: str, url: str) -> dict[str, str]:
    token = None
    for line in server_log.splitlines():
        if line.startswith("{") and '"auth.setup_link"' in line:
            found = re.search(r"setup\?token=([A-Za-z0-9_\-]+)", json.loads(line)["msg"])
            token = found.group(1) if found else None
    assert token, "no setup link in the log"
    with httpx.Client(base_url=url, timeout=10) as api:
        body = {
            "token": token,
            "email": "a@example.test",
            "username": "alice",
            "password": PASSWORD,
            "display_name": "Alice",
        }
        assert api.post("/api/auth/setup", json=body).status_code == 201
        login = api.post("/api/auth/login", json={"login": "alice", "password": PASSWORD})
        return {"authorization": "Bearer " + login.json()["access_token"]}


def test_serve_uses_the_configured_provider_and_never_logs_the_key(
    tmp_path: Path, fake_ai_provider: FakeAIProvider
) -> None:
    fake_ai_provider.api_key = KEY
    env = {
        "COLLABCODE_BCRYPT_ROUNDS": "4",
        "COLLABCODE_AI_PROVIDER": "ollama",
        "COLLABCODE_AI_BASE_URL": fake_ai_provider.url,
        "AI_API_KEY": KEY,
    }
    server = start_server(tmp_path / "data", env=env)
    try:
        headers = {}
        deadline = time.monotonic() + 10
        while not headers and time.monotonic() < deadline:
            try:
                headers = setup_admin(server.log_text(), server.url)
            except AssertionError:
                time.sleep(0.05)
        with httpx.Client(base_url=server.url, timeout=15, headers=headers) as api:
            status = api.get("/api/ai/status").json()
            assert status["enabled"] is True and status["provider"] == "ollama"
            assert status["completion_model"] == "qwen2.5-coder:1.5b"  # picked from /api/tags
            wid = api.post("/api/workspaces", json={"name": "Demo"}).json()["id"]
            fid = api.post(f"/api/workspaces/{wid}/files", json={"path": "m.py", "kind": "file"}).json()["id"]
            body = {"workspace_id": wid, "file_id": fid, "language": "python", "prefix": "x = ", "suffix": ""}
            response = api.post("/api/ai/complete", json=body)
            assert response.status_code == 200, response.text
            assert response.json() == {"completion": "return a + b"}
            assert fake_ai_provider.requests[-1].path == "/api/generate"
            assert fake_ai_provider.requests[-1].headers["authorization"] == f"Bearer {KEY}"
            with api.stream("POST", "/api/ai/chat", json={"messages": [{"role": "user", "content": "hi"}]}) as chat:
                text = "".join(chat.iter_text())
            assert "event: done" in text and "Hello" in text
            # The provider now refuses the key and echoes it back in its error.
            fake_ai_provider.api_key = "a-different-key-entirely"
            response = api.post("/api/ai/complete", json=body)
            assert response.status_code == 502 and response.json()["error"]["code"] == "ai_auth_failed"
            assert KEY not in response.text
        log = server.log_text()
        assert "AI provider answered HTTP 401: Incorrect API key provided: ***" in log  # masked, not absent
        assert KEY not in log
    finally:
        server.stop()
