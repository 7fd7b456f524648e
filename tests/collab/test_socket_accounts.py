"""The collaboration socket with the real accounts feature: tickets, Origin, and revocation."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from collabcode.auth.service import auth_service
from tests.collab.live import LiveApp, YClient, handshake_status, joined

PASSWORD = "correct horse battery staple"


async def sign_in(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/auth/login", json={"login": "ada", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def ticket(http: httpx.AsyncClient, token: str) -> str:
    response = await http.post("/api/auth/ws-ticket", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return str(response.json()["ticket"])


async def test_tickets_origin_and_logout_with_the_accounts_feature(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data", real_auth=True) as live:
        await auth_service(live.services).create_user(
            email="ada@example.com", username="ada", display_name="Ada L", password=PASSWORD, verified=True
        )
        origin = live.settings.base_url
        base = f"ws://127.0.0.1:{live.port}/ws/collab/ws1/file1"
        async with httpx.AsyncClient(base_url=origin, headers={"Origin": origin}) as http:
            token = await sign_in(http)
            # A browser: single-use ticket in the query string, its own Origin.
            url = f"{base}?{urlencode({'ticket': await ticket(http, token)})}"
            ada = await joined("ada", url, headers={"Origin": origin})
            assert await handshake_status(url, {"Origin": origin}) == 403  # a ticket works once
            other = f"{base}?{urlencode({'ticket': await ticket(http, token)})}"
            assert await handshake_status(other, {"Origin": "https://evil.example"}) == 403
            # Another client: a Bearer header, no Origin.
            tool = await YClient("tool").connect(base, headers={"Authorization": f"Bearer {token}"})
            ada.type("signed in")
            await tool.wait_text("signed in")
            await ada.wait_for(lambda: bool(ada.remote_users()), "the tool's presence")
            assert ada.remote_users()[0]["name"] == "Ada L"
            # Signing out revokes the session: both sockets on it close with 4401 at once.
            logged_out = time.monotonic()
            response = await http.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code in (200, 204), response.text
            assert (await ada.wait_closed(timeout=5))[0] == 4401
            assert (await tool.wait_closed(timeout=5))[0] == 4401
            assert time.monotonic() - logged_out < 5
