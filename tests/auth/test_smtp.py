"""The sign-up journey with mail going through a real SMTP server on loopback (aiosmtpd):
invite, sign-up, verification mail, verify, sign out, sign in, sessions, revoke another."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import queue
import re
from collections.abc import Iterator
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from collabcode.app import create_app
from collabcode.auth.service import auth_service
from collabcode.clock import FakeClock
from collabcode.db import Database
from collabcode.settings import Settings
from tests.auth.conftest import PASSWORD, bearer
from tests.conftest import TEST_ORIGIN
from tests.services import free_port


class Inbox:
    """aiosmtpd handler: every message delivered, handed over to the test thread-safely."""

    def __init__(self) -> None:
        self.messages: queue.Queue[tuple[list[str], Message]] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.put((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"

    async def next(self, timeout: float = 10.0) -> tuple[list[str], Message]:
        return await asyncio.to_thread(self.messages.get, True, timeout)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


async def test_invite_signup_with_real_smtp_then_sessions(
    db: Database, auth_settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    settings = dataclasses.replace(
        auth_settings, registration="invite", smtp_url=f"smtp://127.0.0.1:{port}", mail_from="cc <noreply@example.com>"
    )
    app = create_app(settings, db=db, clock=FakeClock())
    async with app.router.lifespan_context(app):
        service = auth_service(app.state.services)
        await service.create_user(
            email="admin@example.com",
            username="admin",
            display_name="Admin",
            password=PASSWORD,
            role="admin",
            verified=True,
        )
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with (
            httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as admin,
            httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as browser,
            httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as other_device,
        ):
            login = await admin.post("/api/auth/login", json={"login": "admin", "password": PASSWORD})
            invite = await admin.post("/api/admin/invites", json={}, headers=bearer(login.json()["access_token"]))
            invite_token = re.search(r"invite=([\w-]+)", invite.json()["url"]).group(1)  # type: ignore[union-attr]

            r = await browser.post(
                "/api/auth/signup",
                json={
                    "email": "dana@example.com",
                    "username": "dana",
                    "password": PASSWORD,
                    "display_name": "Dana",
                    "invite": invite_token,
                },
            )
            assert r.status_code == 202
            recipients, message = await inbox.next()
            assert recipients == ["dana@example.com"]
            assert message["From"] == "cc <noreply@example.com>" and "Confirm" in message["Subject"]
            link = re.search(r"http://127\.0\.0\.1:8000/verify-email\?token=([\w-]+)", _body(message))
            assert link is not None

            token = (await browser.post("/api/auth/login", json={"login": "dana", "password": PASSWORD})).json()[
                "access_token"
            ]
            assert (await browser.post("/api/auth/verify-email", json={"token": link.group(1)})).status_code == 204
            assert (await browser.post("/api/auth/logout", headers=bearer(token))).status_code == 204
            assert (await browser.get("/api/me", headers=bearer(token))).status_code == 401

            token = (
                await browser.post("/api/auth/login", json={"login": "dana@example.com", "password": PASSWORD})
            ).json()["access_token"]
            assert (await browser.get("/api/me", headers=bearer(token))).json()["email_verified"] is True
            other_token = (
                await other_device.post("/api/auth/login", json={"login": "dana", "password": PASSWORD})
            ).json()["access_token"]
            sessions = (await browser.get("/api/auth/sessions", headers=bearer(token))).json()["sessions"]
            assert len(sessions) == 2
            other = next(s for s in sessions if not s["current"])
            assert (await browser.delete(f"/api/auth/sessions/{other['id']}", headers=bearer(token))).status_code == 204
            assert (await other_device.get("/api/me", headers=bearer(other_token))).status_code == 401
            assert (await other_device.post("/api/auth/refresh")).status_code == 401
            assert (await browser.get("/api/me", headers=bearer(token))).status_code == 200
