"""Database fixtures: every storage test runs once on SQLite and once on PostgreSQL.

Registered as a pytest plugin (``pytest_plugins = ["tests.fixtures_db"]``). PostgreSQL runs use a
fresh schema ``t_<hex>`` on the test database, dropped afterwards, so tests never see each
other's rows and can run in any order. The PostgreSQL variant is marked ``postgres`` and follows
``tests.services.require_postgres()``: skipped outside CI when the server is missing, failed under
``CI=true``.

Fixtures:

- ``db``: a connected, migrated :class:`~collabcode.db.Database`.
- ``empty_db``: connected but not migrated (for migration tests).
- ``database_url``: a :class:`DatabaseUrl` for tests that start a whole server; its ``url``
  already selects the schema, so ``open_database(database_url.url)`` lands in it.
- ``db_dialect``: ``"sqlite"`` or ``"postgresql"``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from collabcode.db import Database, migrate, open_database
from tests.services import require_postgres

DIALECTS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@dataclass(frozen=True)
class DatabaseUrl:
    url: str
    dialect: str
    schema: str | None = None
    """The PostgreSQL schema the URL points into (None for SQLite)."""


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``schema=<schema>`` added to its query string."""
    parts = urlsplit(url)
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


async def table_exists(db: Database, table: str) -> bool:
    """Whether ``table`` exists in the database (PostgreSQL: in the current schema)."""
    if db.dialect == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = (
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = ?"
        )
    return bool(await db.fetch_val(sql, (table,)))


@pytest.fixture(params=DIALECTS)
def db_dialect(request: pytest.FixtureRequest) -> str:
    dialect: str = request.param
    return dialect


@pytest.fixture
async def database_url(db_dialect: str, tmp_path: Path) -> AsyncIterator[DatabaseUrl]:
    if db_dialect == "sqlite":
        yield DatabaseUrl(f"sqlite:///{tmp_path / 'collabcode.db'}", "sqlite")
        return
    base = require_postgres()
    schema = f"t_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
    finally:
        await admin.close()
    try:
        yield DatabaseUrl(with_schema(base, schema), "postgresql", schema)
    finally:
        admin = await asyncpg.connect(base)
        try:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await admin.close()


@pytest.fixture
async def empty_db(database_url: DatabaseUrl) -> AsyncIterator[Database]:
    database = open_database(database_url.url, pool_size=5)
    await database.connect()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def db(empty_db: Database) -> Database:
    await migrate(empty_db)
    return empty_db
