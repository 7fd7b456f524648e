"""The storage contract, run on SQLite and PostgreSQL alike: one SQL text, one behaviour."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from collabcode.db import (
    Database,
    DatabaseUnavailable,
    IntegrityViolation,
    MigrationError,
    current_version,
    migrate,
    open_database,
)
from collabcode.db.migrate import Migration, load_migrations
from collabcode.db.postgres import translate_ddl
from tests.fixtures_db import DatabaseUrl, table_exists

ITEMS = """
CREATE TABLE items (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    qty INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    data BLOB,
    created_at BIGINT NOT NULL
)
"""
TAGS = """
CREATE TABLE tags (
    id TEXT NOT NULL PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES items (id),
    label TEXT NOT NULL
)
"""
INSERT = "INSERT INTO items (id, name, qty, created_at) VALUES (?, ?, ?, ?)"
T0 = 1_800_000_000_000  # milliseconds: does not fit in 32 bits


@pytest.fixture
async def items(db: Database) -> Database:
    for ddl in (ITEMS, TAGS):
        await db.execute(ddl if db.dialect == "sqlite" else translate_ddl(ddl))
    return db


async def count(db: Database, where: str = "1 = 1", params: tuple[Any, ...] = ()) -> int:
    return int(await db.fetch_val(f"SELECT COUNT(*) FROM items WHERE {where}", params))


# rows and placeholders


async def test_insert_fetch_update_delete_round_trip(items: Database) -> None:
    db = items
    assert (
        await db.execute(
            "INSERT INTO items (id, name, qty, done, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            ("i1", "first", 3, 1, b"\x00\xffbytes", T0),
        )
        == 1
    )
    assert await db.fetch_one("SELECT * FROM items WHERE id = ?", ("i1",)) == {
        "id": "i1",
        "name": "first",
        "qty": 3,
        "done": 1,
        "data": b"\x00\xffbytes",
        "created_at": T0,
    }
    assert await db.execute("UPDATE items SET qty = qty + ? WHERE id = ?", (2, "i1")) == 1
    assert await db.execute("UPDATE items SET qty = 0 WHERE id = ?", ("nope",)) == 0
    assert await db.fetch_val("SELECT qty FROM items WHERE id = ?", ("i1",)) == 5
    assert await db.execute("DELETE FROM items WHERE id = ?", ("i1",)) == 1
    assert await db.fetch_one("SELECT * FROM items WHERE id = ?", ("i1",)) is None


async def test_rows_are_plain_dicts_in_query_order(items: Database) -> None:
    db = items
    await db.execute_many(INSERT, [(f"i{n}", f"n{n}", n, T0 + n) for n in (2, 1, 3)])
    rows = await db.fetch_all("SELECT name AS label, qty FROM items ORDER BY qty DESC")
    assert rows == [{"label": "n3", "qty": 3}, {"label": "n2", "qty": 2}, {"label": "n1", "qty": 1}]
    assert all(type(row) is dict for row in rows)
    assert [list(row) for row in rows] == [["label", "qty"]] * 3
    assert await db.fetch_all("SELECT * FROM items WHERE qty > ?", (99,)) == []


async def test_question_marks_in_literals_identifiers_and_comments_are_not_placeholders(
    items: Database,
) -> None:
    db = items
    sql = """
        INSERT INTO items (id, name, qty, created_at) -- who? what?
        VALUES (?, 'why?' || ?, ?, /* when? */ ?)
    """
    assert await db.execute(sql, ("q1", " it''s? ", 7, T0)) == 1
    row = await db.fetch_one(
        """SELECT name AS "what?", 'it''s ?' AS lit FROM items WHERE id = ? AND qty = ?""",
        ("q1", 7),
    )
    assert row == {"what?": "why? it''s? ", "lit": "it's ?"}


async def test_fetch_val_returns_first_column_of_first_row_or_none(items: Database) -> None:
    db = items
    await db.execute_many(INSERT, [("a", "a", 1, T0), ("b", "b", 2, T0)])
    assert await db.fetch_val("SELECT qty, name FROM items ORDER BY qty") == 1
    assert await db.fetch_val("SELECT qty FROM items WHERE id = ?", ("zz",)) is None
    assert await db.fetch_val("SELECT COUNT(*) FROM items") == 2


async def test_upsert_and_returning(items: Database) -> None:
    db = items
    upsert = (
        "INSERT INTO items (id, name, qty, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET qty = items.qty + excluded.qty RETURNING qty"
    )
    assert await db.fetch_val(upsert, ("u", "u", 2, T0)) == 2
    assert await db.fetch_val(upsert, ("u", "u", 5, T0)) == 7
    ignore = (
        "INSERT INTO items (id, name, qty, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
    )
    assert await db.execute(ignore, ("u", "u", 100, T0)) == 0
    assert await db.execute("UPDATE items SET qty = 1 WHERE id = ? RETURNING id", ("u",)) == 1
    assert await db.fetch_all("DELETE FROM items RETURNING id, qty") == [{"id": "u", "qty": 1}]


# integrity


async def test_duplicate_key_raises_integrity_violation(items: Database) -> None:
    db = items
    await db.execute(INSERT, ("d1", "dup", 1, T0))
    with pytest.raises(IntegrityViolation) as caught:
        await db.execute(INSERT, ("d2", "dup", 1, T0))
    assert caught.value.kind == "unique"
    assert caught.value.constraint is not None and "name" in caught.value.constraint
    with pytest.raises(IntegrityViolation) as caught:
        async with db.transaction("dup") as tx:
            await tx.execute(INSERT, ("d3", "other", 1, T0))
            await tx.execute(INSERT, ("d1", "again", 1, T0))
    assert caught.value.kind == "unique"
    assert await count(db) == 1


async def test_missing_parent_raises_foreign_key_violation(items: Database) -> None:
    db = items
    with pytest.raises(IntegrityViolation) as caught:
        await db.execute(
            "INSERT INTO tags (id, item_id, label) VALUES (?, ?, ?)", ("t", "nope", "x")
        )
    assert caught.value.kind == "foreign_key"


# transactions


async def test_transaction_commits_on_success(items: Database) -> None:
    db = items
    async with db.transaction("two-inserts") as tx:
        await tx.execute(INSERT, ("c1", "c1", 1, T0))
        await tx.execute(INSERT, ("c2", "c2", 2, T0))
        assert await tx.fetch_val("SELECT COUNT(*) FROM items") == 2
        assert await tx.fetch_all("SELECT id FROM items ORDER BY id") == [
            {"id": "c1"},
            {"id": "c2"},
        ]
    assert await count(db) == 2


async def test_transaction_rolls_back_and_reraises_on_exception(items: Database) -> None:
    db = items

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with db.transaction("boom") as tx:
            await tx.execute(INSERT, ("r1", "r1", 1, T0))
            raise Boom
    assert await count(db) == 0
    assert db.stats()["rollbacks_total"] >= 1


async def test_nested_transaction_and_database_calls_inside_one_raise(items: Database) -> None:
    db = items
    async with db.transaction("outer") as tx:
        await tx.execute(INSERT, ("n1", "n1", 1, T0))
        with pytest.raises(RuntimeError, match="outer"):
            async with db.transaction("inner"):
                pass
        with pytest.raises(RuntimeError, match="outer"):
            await db.execute(INSERT, ("n2", "n2", 1, T0))
        with pytest.raises(RuntimeError, match="outer"):
            await db.fetch_all("SELECT * FROM items")
        await tx.execute(INSERT, ("n3", "n3", 1, T0))
    assert await count(db) == 2


async def test_executor_is_unusable_after_its_transaction(items: Database) -> None:
    db = items
    async with db.transaction("short") as tx:
        pass
    with pytest.raises(RuntimeError, match="finished"):
        await tx.fetch_val("SELECT 1")


async def test_a_failed_statement_poisons_its_transaction(items: Database) -> None:
    db = items
    await db.execute(INSERT, ("p1", "taken", 1, T0))
    with pytest.raises(RuntimeError, match="rolled back, not committed"):
        async with db.transaction("swallows") as tx:
            await tx.execute(INSERT, ("p2", "p2", 1, T0))
            with pytest.raises(IntegrityViolation):
                await tx.execute(INSERT, ("p3", "taken", 1, T0))
            with pytest.raises(RuntimeError, match="cannot continue"):
                await tx.execute(INSERT, ("p4", "p4", 1, T0))
    assert await count(db) == 1


async def test_execute_many_is_all_or_nothing(items: Database) -> None:
    db = items
    await db.execute_many(INSERT, [(f"m{n}", f"m{n}", n, T0) for n in range(100)])
    assert await count(db) == 100
    with pytest.raises(IntegrityViolation):
        await db.execute_many(
            INSERT, [("x1", "x1", 1, T0), ("x2", "m5", 1, T0), ("x3", "x3", 1, T0)]
        )
    assert await count(db, "id LIKE ?", ("x%",)) == 0
    async with db.transaction("many") as tx:
        await tx.execute_many(INSERT, [("y1", "y1", 1, T0), ("y2", "y2", 2, T0)])
    assert await count(db) == 102


async def test_concurrent_writers_all_land(items: Database) -> None:
    db = items
    await asyncio.gather(*(db.execute(INSERT, (f"w{n}", f"w{n}", n, T0)) for n in range(50)))
    assert await count(db) == 50

    async def bump(n: int) -> None:
        async with db.transaction("bump") as tx:
            await tx.execute("UPDATE items SET qty = qty + 1 WHERE id = ?", ("w0",))
            await tx.execute(INSERT, (f"b{n}", f"b{n}", 0, T0))

    await asyncio.gather(*(bump(n) for n in range(20)))
    assert await db.fetch_val("SELECT qty FROM items WHERE id = ?", ("w0",)) == 20
    assert await count(db) == 70


async def test_reads_outside_a_write_transaction_are_not_blocked(items: Database) -> None:
    db = items
    await db.execute(INSERT, ("old", "old", 1, T0))
    async with db.transaction("long-write") as tx:
        await tx.execute(INSERT, ("new", "new", 1, T0))
        # Another task reads while the writer is held; it must neither wait nor see "new".
        reader = asyncio.create_task(db.fetch_all("SELECT id FROM items ORDER BY id"))
        assert await asyncio.wait_for(reader, timeout=2) == [{"id": "old"}]
    assert await count(db) == 2


async def test_cancelled_task_inside_a_transaction_rolls_back(items: Database) -> None:
    db = items
    inside = asyncio.Event()

    async def stuck() -> None:
        async with db.transaction("stuck") as tx:
            await tx.execute(INSERT, ("s1", "s1", 1, T0))
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await count(db) == 0
    async with db.transaction("after") as tx:
        await tx.execute(INSERT, ("s2", "s2", 1, T0))
    await db.execute(INSERT, ("s3", "s3", 1, T0))
    assert await count(db) == 2


async def test_cancellation_at_any_point_is_all_or_nothing(items: Database) -> None:
    db = items

    async def pair(n: int) -> None:
        async with db.transaction("pair") as tx:
            await tx.execute(INSERT, (f"a{n}", f"a{n}", n, T0))
            await tx.execute(INSERT, (f"b{n}", f"b{n}", n, T0))

    for n in range(30):
        task = asyncio.create_task(pair(n))
        for _ in range(n):
            await asyncio.sleep(0)  # let the task get n steps further before the cancel lands
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert await count(db, "qty = ?", (n,)) in (0, 2)
    await pair(99)
    assert await count(db, "qty = ?", (99,)) == 2


# migrations


async def test_migrate_is_idempotent(db: Database) -> None:
    newest = load_migrations(db.dialect)[-1].version
    assert await current_version(db) == newest
    assert await migrate(db) == []
    assert await migrate(db, dry_run=True) == []
    assert await current_version(db) == newest
    await db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("instance_id", "abc"))


async def test_dry_run_reports_pending_and_changes_nothing(empty_db: Database) -> None:
    db = empty_db
    names = [m.name for m in load_migrations(db.dialect)]
    assert names[0] == "0001_core"
    assert await migrate(db, dry_run=True) == names
    assert await current_version(db) == 0
    assert not await table_exists(db, "schema_version")
    assert not await table_exists(db, "meta")
    assert await migrate(db) == names
    assert await table_exists(db, "meta")


async def test_database_newer_than_the_code_is_refused(db: Database) -> None:
    await db.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
        (9999, "9999_from_the_future", T0),
    )
    with pytest.raises(MigrationError, match="9999_from_the_future"):
        await migrate(db)
    with pytest.raises(MigrationError, match="newer collabcode"):
        await migrate(db, dry_run=True)


async def test_failed_migration_leaves_the_previous_version(empty_db: Database) -> None:
    db = empty_db
    migrations = [
        *load_migrations(db.dialect),
        Migration(901, "0901_good", ("CREATE TABLE good (id TEXT NOT NULL PRIMARY KEY)",)),
        Migration(
            902,
            "0902_bad",
            ("CREATE TABLE half (id TEXT NOT NULL PRIMARY KEY)", "INSERT INTO missing VALUES (1)"),
        ),
    ]
    with pytest.raises(MigrationError, match="0902_bad failed at statement 2"):
        await migrate(db, migrations=migrations)
    assert await current_version(db) == 901
    assert await table_exists(db, "good")
    assert not await table_exists(db, "half")


async def test_concurrent_migrators_apply_each_migration_once(database_url: DatabaseUrl) -> None:
    first, second = open_database(database_url.url), open_database(database_url.url)
    await first.connect()
    await second.connect()
    try:
        migrations = [
            *load_migrations(first.dialect),
            *(
                Migration(v, f"0{v}_t{v}", (f"CREATE TABLE t{v} (id TEXT)",))
                for v in (900, 901, 902)
            ),
        ]
        applied = await asyncio.gather(
            migrate(first, migrations=migrations), migrate(second, migrations=migrations)
        )
        names = [m.name for m in migrations]
        assert sorted(applied[0] + applied[1]) == sorted(names)
        assert await second.fetch_all("SELECT name FROM schema_version ORDER BY version") == [
            {"name": name} for name in names
        ]
    finally:
        await first.close()
        await second.close()


# lifecycle


async def test_ping_and_closed_database_is_unavailable(database_url: DatabaseUrl) -> None:
    db = open_database(database_url.url)
    with pytest.raises(DatabaseUnavailable):
        await db.ping()
    await db.connect()
    await db.ping()
    await db.close()
    with pytest.raises(DatabaseUnavailable):
        await db.ping()
    with pytest.raises(DatabaseUnavailable):
        await db.execute("SELECT 1")
    with pytest.raises(DatabaseUnavailable):
        async with db.transaction("late"):
            pass


async def test_stats_report_the_pool(db: Database) -> None:
    stats = db.stats()
    assert stats["pool_size"] >= 1
    assert stats["pool_in_use"] + stats["pool_idle"] == stats["pool_size"]
    async with db.transaction("busy"):
        assert db.stats()["pool_in_use"] >= 1
    assert all(isinstance(value, float) for value in stats.values())
