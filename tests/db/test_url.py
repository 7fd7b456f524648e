"""Database URLs: accepted forms, one-line refusals, and passwords never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from collabcode.db import open_database
from collabcode.db.postgres import PostgresDatabase
from collabcode.db.sqlite import SQLiteDatabase
from collabcode.db.url import PostgresTarget, SQLiteTarget, parse_database_url, redact_url


@pytest.mark.parametrize(
    "url", ["sqlite:///var/lib/cc/db.sqlite3", "sqlite:////var/lib/cc/db.sqlite3"]
)
def test_both_sqlite_spellings_name_the_same_absolute_file(url: str) -> None:
    assert parse_database_url(url) == SQLiteTarget(Path("/var/lib/cc/db.sqlite3"))


def test_sqlite_path_is_percent_decoded() -> None:
    assert parse_database_url("sqlite:////srv/my%20data/cc.db") == SQLiteTarget(
        Path("/srv/my data/cc.db")
    )


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "POSTGRESQL"])
def test_postgres_schemes(scheme: str) -> None:
    target = parse_database_url(f"{scheme}://u@db.example:5433/cc?sslmode=require&schema=tenant_1")
    assert target == PostgresTarget(
        dsn="postgresql://u@db.example:5433/cc?sslmode=require", schema="tenant_1"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("/var/lib/cc.db", "not a database URL"),
        ("mysql://root:s3cr3t-pw@db/cc", "unsupported database URL scheme 'mysql'"),
        ("postgresql+asyncpg://u:s3cr3t-pw@h/cc", "unsupported database URL scheme"),
        ("sqlite://relative.db", "absolute file path"),
        ("sqlite:///", "absolute file path"),
        ("sqlite:////srv/cc/", "absolute file path"),
        ("sqlite://:memory:", "absolute file path"),
        ("sqlite:////srv/cc.db?mode=ro", "takes no options"),
        ("postgresql://u:s3cr3t-pw@h:notaport/cc", "malformed host or port"),
        ("postgresql://u:s3cr3t-pw@h/cc?schema=Bad-Name", "not a plain lowercase identifier"),
        ("postgresql://u:s3cr3t-pw@h/cc?schema=a&schema=b", "more than one schema"),
        ("postgresql://u:s3cr3t-pw@h/cc\nx", "control characters"),
        ("sqlite:////srv/cc.db\x00", "control characters"),
    ],
)
def test_bad_urls_are_refused_with_one_line_without_the_password(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        open_database(url)
    text = str(caught.value)
    assert "\n" not in text
    assert "s3cr3t-pw" not in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cr3t-pw@h:5432/cc", "postgresql://u:***@h:5432/cc"),
        ("postgresql://u:p%40ss@h/cc?sslmode=require", "postgresql://u:***@h/cc?sslmode=require"),
        ("postgresql://u@h/cc?password=s3cr3t-pw", "postgresql://u@h/cc?password=***"),
        ("postgresql://u@h/cc", "postgresql://u@h/cc"),
        ("sqlite:////srv/cc.db", "sqlite:////srv/cc.db"),
    ],
)
def test_redacted_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_open_database_builds_the_right_engine_without_connecting() -> None:
    sqlite = open_database("sqlite:////srv/cc.db", pool_size=3)
    assert isinstance(sqlite, SQLiteDatabase) and sqlite.dialect == "sqlite"
    pg = open_database("postgres://u:s3cr3t-pw@h/cc", pool_size=3, schema="app")
    assert isinstance(pg, PostgresDatabase) and pg.dialect == "postgresql"
    assert (pg.pool_size, pg.schema, pg.display_url) == (3, "app", "postgres://u:***@h/cc")


def test_schema_is_refused_for_sqlite_and_on_conflict() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        open_database("sqlite:////srv/cc.db", schema="app")
    with pytest.raises(ValueError, match="differ"):
        open_database("postgresql://h/cc?schema=one", schema="two")
