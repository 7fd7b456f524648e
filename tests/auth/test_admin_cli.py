"""``collabcode admin users|invites|sessions`` as an operator runs them: real processes against the
same storage as ``serve`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from collabcode.app import create_app
from collabcode.settings import Settings
from tests.auth.conftest import bearer
from tests.conftest import TEST_ORIGIN
from tests.fixtures_db import DatabaseUrl
from tests.test_cli import run_cli

PASSWORD = "operator chosen secret"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            yield http


async def test_create_an_admin_non_interactively(tmp_path: Path, database_url: DatabaseUrl) -> None:
    storage = ("--data-dir", str(tmp_path / "data"), "--database-url", database_url.url)
    r = run_cli(
        "admin",
        "users",
        "create",
        "Root@Example.com",
        "--username",
        "root",
        "--admin",
        "--verified",
        "--password-stdin",
        *storage,
        input_text=PASSWORD + "\n",
    )
    assert r.returncode == 0, r.stderr
    assert "created admin root <root@example.com>" in r.stdout and PASSWORD not in r.stdout + r.stderr
    listed = run_cli("admin", "users", "list", *storage)
    assert listed.returncode == 0 and "root@example.com" in listed.stdout and "admin" in listed.stdout

    settings = Settings(data_dir=tmp_path / "data", database_url=database_url.url, host="127.0.0.1", port=8000)
    async with serving(settings) as http:
        assert (await http.get("/api/auth/setup")).json() == {"needed": False}
        login = await http.post("/api/auth/login", json={"login": "root", "password": PASSWORD})
        assert login.status_code == 200
        assert login.json()["user"]["role"] == "admin" and login.json()["user"]["email_verified"] is True

    again = run_cli(
        "admin",
        "users",
        "create",
        "root@example.com",
        "--username",
        "other",
        "--password-stdin",
        *storage,
        input_text=PASSWORD,
    )
    assert again.returncode == 1 and again.stderr.strip().startswith("collabcode: error:")


def test_create_refuses_bad_input_with_one_line(tmp_path: Path) -> None:
    data = ("--data-dir", str(tmp_path / "data"))
    weak = run_cli(
        "admin",
        "users",
        "create",
        "a@example.com",
        "--username",
        "abc",
        "--password-stdin",
        *data,
        input_text="password\n",
    )
    assert weak.returncode == 1 and "common" in weak.stderr and "Traceback" not in weak.stderr
    bad_name = run_cli("admin", "users", "create", "a@example.com", "--username", "A B", *data)
    assert bad_name.returncode == 2 and "username" in bad_name.stderr
    empty = run_cli(
        "admin", "users", "create", "a@example.com", "--username", "abc", "--password-stdin", *data, input_text=""
    )
    assert empty.returncode == 2 and "no password" in empty.stderr


async def test_operator_workflow(tmp_path: Path) -> None:
    data = ("--data-dir", str(tmp_path / "data"))
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=8000)

    created = run_cli(
        "admin",
        "users",
        "create",
        "bob@example.com",
        "--username",
        "bob",
        *data,
        "--public-url",
        "https://code.example.com",
    )
    assert created.returncode == 0, created.stderr
    link = re.search(r"https://code\.example\.com/reset-password\?token=([\w-]+)", created.stdout)
    assert link, created.stdout

    invite = run_cli("admin", "invites", "create", "--max-uses", "3", "--expires-in-hours", "2", *data)
    assert invite.returncode == 0 and "/signup?invite=" in invite.stdout
    invite_id = re.search(r"invite ([0-9a-f]{32})", invite.stdout).group(1)  # type: ignore[union-attr]
    invite_token = re.search(r"invite=([\w-]+)", invite.stdout).group(1)  # type: ignore[union-attr]
    listed = run_cli("admin", "invites", "list", *data)
    assert invite_id in listed.stdout and "active" in listed.stdout and invite_token not in listed.stdout

    async with serving(settings) as http:
        r = await http.post("/api/auth/password/reset", json={"token": link.group(1), "password": PASSWORD})
        assert r.status_code == 204
        token = (await http.post("/api/auth/login", json={"login": "bob", "password": PASSWORD})).json()["access_token"]
        assert (await http.get(f"/api/auth/invites/{invite_token}")).json() == {"valid": True}

    sessions = run_cli("admin", "sessions", "list", "--user", "bob", *data)
    assert sessions.returncode == 0 and "1 session(s)" in sessions.stdout
    session_id = re.search(r"\b([0-9a-f]{32})\b", sessions.stdout).group(1)  # type: ignore[union-attr]
    assert run_cli("admin", "sessions", "revoke", session_id, *data).returncode == 0
    assert run_cli("admin", "sessions", "revoke", session_id, *data).returncode == 1
    assert run_cli("admin", "invites", "revoke", invite_id, *data).returncode == 0
    assert run_cli("admin", "users", "verify", "bob@example.com", *data).returncode == 0
    assert run_cli("admin", "users", "set-role", "bob", "admin", *data).returncode == 0
    stdin_reset = run_cli(
        "admin", "users", "reset-password", "bob", "--password-stdin", *data, input_text="another good secret\n"
    )
    assert stdin_reset.returncode == 0
    assert run_cli("admin", "users", "set-role", "bob", "member", *data).returncode == 1  # the last admin
    assert run_cli("admin", "users", "disable", "bob", *data).returncode == 1

    async with serving(settings) as http:
        assert (await http.get("/api/me", headers=bearer(token))).status_code == 401  # revoked by the CLI
        assert (await http.get(f"/api/auth/invites/{invite_token}")).json() == {"valid": False}
        r = await http.post("/api/auth/login", json={"login": "bob", "password": "another good secret"})
        assert r.status_code == 200 and r.json()["user"]["role"] == "admin" and r.json()["user"]["email_verified"]

    other = run_cli(
        "admin",
        "users",
        "create",
        "eve@example.com",
        "--username",
        "eve",
        "--password-stdin",
        *data,
        input_text="eve has a password\n",
    )
    assert other.returncode == 0
    assert run_cli("admin", "users", "disable", "eve", *data).returncode == 0
    async with serving(dataclasses.replace(settings)) as http:
        r = await http.post("/api/auth/login", json={"login": "eve", "password": "eve has a password"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "account_disabled"
    assert run_cli("admin", "users", "enable", "eve", *data).returncode == 0
    missing = run_cli("admin", "users", "disable", "nobody", *data)
    assert missing.returncode == 1 and "No user" in missing.stderr
