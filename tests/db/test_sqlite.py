"""SQLite specifics: durability settings, file creation, the single writer and its readers."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collabcode.db import DatabaseUnavailable, migrate, open_database
from collabcode.db.sqlite import SQLiteDatabase, check_sqlite_version, is_read_only


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    db = open_database(f"sqlite:///{tmp_path / 'data' / 'collabcode.db'}")
    assert isinstance(db, SQLiteDatabase)
    await db.connect()
    try:
        await migrate(db)
        yield db
    finally:
        await db.close()


async def test_durability_pragmas(sqlite_db: SQLiteDatabase) -> None:
    assert await sqlite_db.fetch_val("PRAGMA journal_mode") == "wal"
    assert await sqlite_db.fetch_val("PRAGMA synchronous") == 2  # FULL
    assert await sqlite_db.fetch_val("PRAGMA foreign_keys") == 1
    assert await sqlite_db.fetch_val("PRAGMA busy_timeout") == 5000


async def test_file_and_parent_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "collabcode.db"
    db = open_database(f"sqlite:////{str(path).lstrip('/')}")
    await db.connect()
    try:
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        await db.close()


@pytest.mark.parametrize("blocker", ["parent_is_a_file", "path_is_a_directory"])
async def test_unopenable_path_is_unavailable(tmp_path: Path, blocker: str) -> None:
    if blocker == "parent_is_a_file":
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "collabcode.db"
    else:
        path = tmp_path / "collabcode.db"
        path.mkdir()
    db = open_database(f"sqlite:///{path}")
    with pytest.raises(DatabaseUnavailable, match="cannot open SQLite database"):
        await db.connect()


async def test_writes_through_fetch_go_to_the_writer(sqlite_db: SQLiteDatabase) -> None:
    row = await sqlite_db.fetch_one(
        "INSERT INTO meta (key, value) VALUES (?, ?) RETURNING key", ("k", "v")
    )
    assert row == {"key": "k"}
    assert (
        await sqlite_db.fetch_val(
            "WITH gone AS (SELECT 1) DELETE FROM meta WHERE key = ? RETURNING value", ("k",)
        )
        == "v"
    )


async def test_writers_queue_behind_an_open_transaction(sqlite_db: SQLiteDatabase) -> None:
    async with sqlite_db.transaction("holder") as tx:
        await tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("a", "1"))
        writer = asyncio.create_task(
            sqlite_db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("b", "2"))
        )
        await asyncio.sleep(0)  # one step: the task runs up to the writer lock and parks there
        assert not writer.done()
        assert sqlite_db.stats()["write_waiting"] == 1
    assert await writer == 1
    assert await sqlite_db.fetch_val("SELECT COUNT(*) FROM meta") == 2


@pytest.mark.parametrize(
    ("sql", "read_only"),
    [
        ("SELECT 1", True),
        ("  select * from t", True),
        ("-- note\n/* and? */ SELECT 1", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),
        ("VALUES (1)", True),
        ("SELECT updated_at FROM t", True),
        ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", False),
        ("INSERT INTO t VALUES (1) RETURNING id", False),
        ("UPDATE t SET a = 1", False),
        ("PRAGMA journal_mode", False),
        ("CREATE TABLE t (a TEXT)", False),
    ],
)
def test_statement_routing(sql: str, read_only: bool) -> None:
    assert is_read_only(sql) is read_only


def test_sqlite_too_old_for_returning_is_refused() -> None:
    check_sqlite_version((3, 35, 0))
    with pytest.raises(
        RuntimeError, match=r"SQLite 3\.34\.1, but collabcode needs SQLite 3\.35\.0"
    ):
        check_sqlite_version((3, 34, 1))


async def test_a_cancelled_read_does_not_pin_an_old_snapshot(sqlite_db: SQLiteDatabase) -> None:
    """A reader handed back mid-statement would keep its read transaction open, so later reads on
    it would not see rows committed since (a user created, then "unknown" at sign-in)."""
    await sqlite_db.execute("CREATE TABLE t (x INTEGER)")
    await sqlite_db.execute_many("INSERT INTO t VALUES (?)", [(i,) for i in range(2000)])
    stale = 0
    for attempt in range(30):
        task = asyncio.create_task(sqlite_db.fetch_one("SELECT x FROM t ORDER BY x"))
        await asyncio.sleep(0.0005 * (attempt % 5))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sqlite_db.execute("INSERT INTO t VALUES (?)", (-attempt - 1,))
        for _ in range(2):  # both readers
            if await sqlite_db.fetch_val("SELECT COUNT(*) FROM t WHERE x = ?", (-attempt - 1,)) != 1:
                stale += 1
    assert stale == 0
