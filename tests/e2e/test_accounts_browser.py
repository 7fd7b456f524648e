"""Accounts end to end: invite → sign-up → mail on a real SMTP server → verify → sign in →
sessions → revoke another session, whose next request is refused."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import LiveServer, start_server
from tests.fixtures_browser import PageProblems
from tests.services import free_port

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


class MailBox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 15.0) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to in str(message["To"]):
                    return message
            time.sleep(0.05)
        pytest.fail(f"no mail to {to} within {timeout} s; got {[m['To'] for m in self.messages]}")


@pytest.fixture
def smtp() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def setup_link(server: LiveServer, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log_text().splitlines():
            if line.startswith("{") and '"auth.setup_link"' in line:
                found = re.search(r"https?://\S+/setup\?token=[A-Za-z0-9_\-]+", json.loads(line)["msg"])
                if found:
                    return found.group(0)
        time.sleep(0.05)
    pytest.fail("no setup link in the log")


def body_text(message: Message) -> str:
    if message.is_multipart():
        return "".join(
            str(part.get_payload(decode=True), "utf-8")
            for part in message.walk()
            if part.get_content_type() == "text/plain"
        )
    payload = message.get_payload(decode=True)
    return payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)


def test_invite_signup_verify_signin_and_revoke(tmp_path: Path, smtp: tuple[MailBox, int], browser: Any) -> None:
    box, smtp_port = smtp
    server = start_server(tmp_path / "data", "--smtp-url", f"smtp://127.0.0.1:{smtp_port}")
    try:
        # First run: the setup link creates the admin, who creates an invite.
        token = parse_qs(urlsplit(setup_link(server)).query)["token"][0]
        api = httpx.Client(base_url=server.url, timeout=10)
        r = api.post(
            "/api/auth/setup",
            json={
                "token": token,
                "email": "admin@example.test",
                "username": "admin",
                "password": PASSWORD,
                "display_name": "Admin",
            },
        )
        assert r.status_code in (200, 201), r.text
        login = api.post("/api/auth/login", json={"login": "admin", "password": PASSWORD})
        admin_token = login.json()["access_token"]
        invite = api.post("/api/admin/invites", json={}, headers={"authorization": f"Bearer {admin_token}"})
        assert invite.status_code == 201, invite.text
        invite_url = invite.json()["url"]
        assert "/signup?invite=" in invite_url

        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        problems = PageProblems()
        problems.attach(page)

        # Sign up through the invite.
        page.goto(server.url + "/signup?" + urlsplit(invite_url).query)
        page.locator("[data-view=signup][data-invite=valid]").wait_for()
        page.fill("#signup-email", "ada@example.test")
        page.fill("#signup-username", "ada")
        page.fill("#signup-display-name", "Ada Lovelace")
        page.fill("#signup-password", PASSWORD)
        page.click("#signup-submit")
        page.locator("[data-view=check-email]").wait_for()
        page.screenshot(path=str(tmp_path / "check-email.png"))

        # The verification mail arrives on the real SMTP server; its link verifies.
        mail = box.wait_for("ada@example.test")
        link = re.search(r"https?://\S+/verify-email\?token=[A-Za-z0-9_\-]+", body_text(mail))
        assert link, body_text(mail)
        page.goto(link.group(0))
        page.locator("[data-view=verify-email][data-verify-state=ok]").wait_for()

        # Sign out if verifying signed us in, then sign in.
        if page.locator("html[data-auth-state=signed-in]").count():
            page.click("[data-user-menu] button, [data-user-menu]")
            page.click("[data-sign-out]")
            page.locator("html[data-auth-state=signed-out]").wait_for()
        page.goto(server.url + "/signin?next=/settings/account")
        page.fill("#signin-login", "ada")
        page.fill("#signin-password", PASSWORD)
        page.click("#signin-submit")
        page.locator("[data-view=account-settings]").wait_for()
        assert page.locator("html[data-auth-state=signed-in]").count() == 1

        # Another device signs in; the sessions list shows it, and the browser revokes it.
        other = httpx.Client(
            base_url=server.url, timeout=10, headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
        )
        other_token = other.post("/api/auth/login", json={"login": "ada@example.test", "password": PASSWORD}).json()[
            "access_token"
        ]
        assert other.get("/api/me", headers={"authorization": f"Bearer {other_token}"}).status_code == 200
        page.reload()
        rows = page.locator("[data-session-row]")
        rows.nth(1).wait_for()
        assert rows.count() == 2
        assert page.locator("[data-session-row][data-current='1']").count() == 1
        page.screenshot(path=str(tmp_path / "sessions.png"), full_page=True)
        page.locator("[data-session-row][data-current='0'] [data-revoke]").click()
        page.locator("[data-session-row]").nth(1).wait_for(state="detached")

        # The revoked session's next request is refused.
        assert other.get("/api/me", headers={"authorization": f"Bearer {other_token}"}).status_code == 401
        # The browser's own session still works.
        assert page.locator("html[data-auth-state=signed-in]").count() == 1
        assert not problems.csp_violations, problems.console_errors
        assert not problems.page_errors, problems.page_errors
        context.close()
        other.close()
        api.close()
    finally:
        server.stop()
