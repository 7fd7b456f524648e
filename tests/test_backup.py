"""``collabcode admin backup`` / ``restore``: a backup restored into a fresh data directory is the
same instance — every row of every table, the same secrets (old sign-ins still work), the same
files and messages — on SQLite and on PostgreSQL. Damaged backups and non-empty targets are refused
before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collabcode.db import Database, open_database
from tests.chat.harness import chat_env
from tests.conftest import new_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.contextmanager
def database_url(engine: str, data_dir: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{data_dir / 'collabcode.db'}"
    else:
        with new_postgres_database() as url:
            yield url


def cli(*args: str, data_dir: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLLABCODE_DATA_DIR": str(data_dir), "COLLABCODE_DATABASE_URL": url}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "collabcode", "admin", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def table_rows(db: Database) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as sorted tuples of text (the instance's whole state)."""
    if db.dialect == "sqlite":
        tables = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    else:
        tables = await db.fetch_all(
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    found: dict[str, list[tuple[str, ...]]] = {}
    for table in tables:
        name = str(table["name"])
        rows = await db.fetch_all(f'SELECT * FROM "{name}"')
        found[name] = sorted(tuple(_text(value) for value in dict(row).values()) for row in rows)
    return found


def _text(value: Any) -> str:
    return value.hex() if isinstance(value, bytes | bytearray | memoryview) else repr(value)


async def populate(url: str, data_dir: Path) -> dict[str, Any]:
    db = open_database(url, pool_size=2)
    await db.connect()
    try:
        async with chat_env(db, data_dir) as env:
            alice, bob = await env.person("alice"), await env.person("bob")
            response = await env.call(alice, "POST", "/api/workspaces", json={"name": "kept"}, expect=201)
            workspace_id = response.json()["id"]
            created = await env.call(
                alice, "POST", f"/api/workspaces/{workspace_id}/files",
                json={"path": "src/main.py", "kind": "file", "content": "print('kept')\n"}, expect=201,
            )
            cid = await env.open(alice, bob)
            await env.send(alice, cid, "this message survives a restore")
            state = {
                "token": alice.token, "workspace_id": workspace_id, "file_id": created.json()["id"], "cid": cid,
                "people": env.people,
            }
        state["rows"] = await table_rows(db)
    finally:
        await db.close()
    return state


async def check_restored(url: str, data_dir: Path, state: dict[str, Any]) -> None:
    db = open_database(url, pool_size=2)
    await db.connect()
    try:
        assert await table_rows(db) == state["rows"]
        async with chat_env(db, data_dir, people=state["people"]) as env:
            alice = env.people["alice"]
            alice.token = state["token"]  # signed by the restored secrets: still valid
            content = await env.call(
                alice, "GET", f"/api/workspaces/{state['workspace_id']}/files/{state['file_id']}/content", expect=200
            )
            assert content.text == "print('kept')\n"
            messages = await env.messages(alice, state["cid"])
            assert [m["body"] for m in messages] == ["this message survives a restore"]
            await env.login("bob")  # the password hashes came along
    finally:
        await db.close()


def test_backup_then_restore_gives_an_identical_instance(engine: str, tmp_path: Path) -> None:
    source_dir, target_dir, archive = tmp_path / "source", tmp_path / "target", tmp_path / "instance.backup"
    with database_url(engine, source_dir) as source_url, database_url(engine, target_dir) as target_url:
        state = asyncio.run(populate(source_url, source_dir))

        made = cli("backup", str(archive), data_dir=source_dir, url=source_url)
        assert made.returncode == 0, made.stderr
        assert "backup written" in made.stdout
        assert archive.stat().st_mode & 0o077 == 0, "the backup holds secrets and must be private"

        restored = cli("restore", str(archive), data_dir=target_dir, url=target_url)
        assert restored.returncode == 0, restored.stderr
        assert (target_dir / "secrets.json").read_bytes() == (source_dir / "secrets.json").read_bytes()
        assert (target_dir / "secrets.json").stat().st_mode & 0o077 == 0
        asyncio.run(check_restored(target_url, target_dir, state))

        again = cli("restore", str(archive), data_dir=target_dir, url=target_url)
        assert again.returncode == 1
        assert "not empty" in again.stderr
        assert "Traceback" not in again.stderr


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    source_dir, archive = tmp_path / "source", tmp_path / "instance.backup"
    url = f"sqlite:///{source_dir / 'collabcode.db'}"
    asyncio.run(populate(url, source_dir))
    assert cli("backup", str(archive), data_dir=source_dir, url=url).returncode == 0

    damaged = tmp_path / "damaged.backup"
    with tarfile.open(archive) as original, tarfile.open(damaged, "w") as copy:
        for member in original.getmembers():
            handle = original.extractfile(member)
            data = handle.read() if handle else b""
            if member.name == "database.sqlite3":
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            copy.addfile(member, fileobj=io.BytesIO(data))
    target_dir = tmp_path / "target"
    result = cli("restore", str(damaged), data_dir=target_dir, url=f"sqlite:///{target_dir / 'collabcode.db'}")
    assert result.returncode == 1
    assert "does not match its checksum" in result.stderr
    assert not target_dir.exists() or not any(target_dir.iterdir())

    with tarfile.open(archive) as opened:
        handle = opened.extractfile("manifest.json")
        assert handle is not None
        manifest = json.loads(handle.read())
    assert manifest["format"] == "collabcode-backup/1"
    assert "data/secrets.json" in manifest["files"]
    assert not any(name.endswith(".db") for name in manifest["files"]), "the live database file was copied raw"

    assert cli("backup", str(archive), data_dir=source_dir, url=url).returncode == 1  # never overwrites
