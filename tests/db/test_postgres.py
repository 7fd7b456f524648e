"""PostgreSQL specifics: failing fast when the server is down, recovering when it returns."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
import pytest

from collabcode.db import Database, DatabaseUnavailable, open_database
from collabcode.db.postgres import PostgresDatabase
from tests.fixtures_db import DatabaseUrl, table_exists
from tests.services import free_port, require_postgres

postgres_only = pytest.mark.parametrize(
    "db_dialect", [pytest.param("postgresql", marks=pytest.mark.postgres)]
)


async def test_unreachable_server_fails_fast_without_leaking_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = open_database(f"postgresql://postgres:s3cr3t-pw@127.0.0.1:{free_port()}/test")
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG), pytest.raises(DatabaseUnavailable) as caught:
        await db.connect()
    assert time.monotonic() - started < 6
    message = str(caught.value)
    assert "cannot connect to PostgreSQL at postgresql://postgres:***@127.0.0.1" in message
    assert "s3cr3t-pw" not in message
    assert "s3cr3t-pw" not in caplog.text


@postgres_only
async def test_connected_display_url_and_logs_hide_the_password(
    database_url: DatabaseUrl, caplog: pytest.LogCaptureFixture
) -> None:
    # The test server trusts local connections, so any password gets in.
    url = database_url.url.replace("://postgres@", "://postgres:s3cr3t-pw@")
    assert url != database_url.url
    db = open_database(url)
    with caplog.at_level(logging.DEBUG):
        await db.connect()
        await db.ping()
        await db.close()
    assert db.display_url.startswith("postgresql://postgres:***@")
    assert "s3cr3t-pw" not in db.display_url
    assert "s3cr3t-pw" not in caplog.text


@postgres_only
async def test_schema_keyword_sets_the_search_path(database_url: DatabaseUrl) -> None:
    assert database_url.schema is not None
    db = open_database(require_postgres(), schema=database_url.schema)
    await db.connect()
    try:
        assert await db.fetch_val("SELECT current_schema()") == database_url.schema
        await db.execute("CREATE TABLE here (id TEXT)")
        assert await table_exists(db, "here")
    finally:
        await db.close()


@postgres_only
async def test_pool_recovers_after_the_server_drops_every_connection(
    database_url: DatabaseUrl,
) -> None:
    db = open_database(database_url.url, pool_size=3)
    assert isinstance(db, PostgresDatabase)
    await db.connect()
    try:
        pids = await _hold_three_connections(db)
        admin = await asyncpg.connect(require_postgres())
        try:
            for pid in pids:
                # With a timeout, pg_terminate_backend waits until the backend has exited.
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
        finally:
            await admin.close()
        failures = 0
        for _ in range(6):
            try:
                assert await db.fetch_val("SELECT pg_backend_pid()") not in pids
            except DatabaseUnavailable:
                failures += 1
        assert failures <= 1
    finally:
        await db.close()


async def _hold_three_connections(db: Database) -> set[int]:
    """Open three pooled connections at once and return their server pids."""
    pids: set[int] = set()
    all_in = asyncio.Event()

    async def hold() -> None:
        async with db.transaction("hold") as tx:
            pids.add(int(await tx.fetch_val("SELECT pg_backend_pid()")))
            if len(pids) == 3:
                all_in.set()
            await all_in.wait()

    await asyncio.gather(hold(), hold(), hold())
    return pids


@postgres_only
async def test_connection_lost_mid_transaction_is_unavailable_then_recovers(
    database_url: DatabaseUrl,
) -> None:
    db = open_database(database_url.url, pool_size=2)
    await db.connect()
    admin = await asyncpg.connect(require_postgres())
    try:
        with pytest.raises(DatabaseUnavailable):
            async with db.transaction("doomed") as tx:
                pid = await tx.fetch_val("SELECT pg_backend_pid()")
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
                await tx.fetch_val("SELECT 1")
        assert await db.fetch_val("SELECT 1") == 1
        async with db.transaction("after") as tx:
            assert await tx.fetch_val("SELECT pg_backend_pid()") != pid
    finally:
        await admin.close()
        await db.close()


class _BrokenConnection:
    """Stands for an asyncpg connection whose protocol the server's disconnect left mid-state."""

    terminated = False

    def terminate(self) -> None:
        self.terminated = True


async def test_a_connection_left_in_a_broken_protocol_state_is_dropped_as_lost() -> None:
    """The race of the test above: the termination can reach asyncpg while it sends the next
    statement, which then fails with ``InternalClientError`` ("cannot switch to state 11")."""
    db = open_database("postgresql://postgres@127.0.0.1:1/none")
    assert isinstance(db, PostgresDatabase)
    conn = _BrokenConnection()
    with pytest.raises(DatabaseUnavailable, match="connection lost"):
        async with db._translated(conn):
            raise asyncpg.InternalClientError("cannot switch to state 11; another operation (2) is in progress")
    assert conn.terminated
