"""The first-run link: printed and logged while no user exists, creates one admin, then is dead."""

from __future__ import annotations

import logging
import re

import pytest

from tests.auth.conftest import PASSWORD, AppFactory

ADMIN = {"email": "root@example.com", "username": "root", "password": PASSWORD, "display_name": "Root"}


def _links(caplog: pytest.LogCaptureFixture) -> list[str]:
    records = [r for r in caplog.records if getattr(r, "event", None) == "auth.setup_link"]
    return [re.search(r"token=([A-Za-z0-9_-]+)", r.getMessage()).group(1) for r in records]  # type: ignore[union-attr]


async def test_setup_link_creates_the_first_admin_once(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    async with make_app() as first, make_app() as second:
        printed = capsys.readouterr().err
        tokens = _links(caplog)
        assert len(tokens) == 2 and all(f"/setup?token={t}" in printed for t in tokens)
        status = await first.http.get("/api/auth/setup")
        assert status.json() == {"needed": True} and "token" not in status.text

        r = await first.http.post("/api/auth/setup", json={**ADMIN, "token": tokens[0]})
        assert r.status_code == 201
        user = r.json()["user"]
        assert (user["role"], user["email_verified"], user["username"]) == ("admin", True, "root")
        assert r.headers["set-cookie"].startswith("collabcode_refresh=")

        again = await first.http.post("/api/auth/setup", json={**ADMIN, "token": tokens[0], "username": "root2"})
        other = await second.http.post(
            "/api/auth/setup", json={**ADMIN, "token": tokens[1], "email": "x@example.com", "username": "x2"}
        )
        assert again.status_code == other.status_code == 422
        assert again.json()["error"]["code"] == "token_invalid"
        assert (await first.http.get("/api/auth/setup")).json() == {"needed": False}
        assert [u.username for u in await first.service.list_users()] == ["root"]

    caplog.clear()
    async with make_app():
        assert _links(caplog) == []  # users exist: no link on later starts


async def test_setup_link_expires_after_24_hours(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with make_app() as auth:
        (token,) = _links(caplog)
        auth.clock.advance(24 * 3600 + 1)
        r = await auth.http.post("/api/auth/setup", json={**ADMIN, "token": token})
        assert r.status_code == 422
        assert (await auth.http.get("/api/auth/setup")).json() == {"needed": True}


async def test_setup_validates_its_input(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with make_app() as auth:
        (token,) = _links(caplog)
        weak = await auth.http.post("/api/auth/setup", json={**ADMIN, "token": token, "password": "password"})
        assert weak.status_code == 422
        extra = await auth.http.post("/api/auth/setup", json={**ADMIN, "token": token, "role": "member"})
        assert extra.status_code == 422
        wrong = await auth.http.post("/api/auth/setup", json={**ADMIN, "token": "x" * 43})
        assert wrong.status_code == 422
        assert (await auth.http.post("/api/auth/setup", json={**ADMIN, "token": token})).status_code == 201
