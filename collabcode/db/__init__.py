"""Storage: one interface over SQLite and PostgreSQL, and the migrations that shape both.

Stores import from here only::

    from collabcode.db import Database, Executor, IntegrityViolation

See docs/storage.md for the SQL rules that keep one query valid on both databases.
"""

from __future__ import annotations

from .base import Database, DatabaseUnavailable, Executor, IntegrityViolation, Row
from .migrate import MigrationError, current_version, migrate
from .url import PostgresTarget, SQLiteTarget, parse_database_url, redact_url

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "Executor",
    "IntegrityViolation",
    "MigrationError",
    "Row",
    "current_version",
    "migrate",
    "open_database",
]


def open_database(url: str, *, pool_size: int = 10, schema: str | None = None) -> Database:
    """A not-yet-connected database for ``url``; call ``connect()`` before use.

    ``pool_size`` caps PostgreSQL connections (SQLite always has one writer and two readers).
    ``schema`` (PostgreSQL only, also accepted as ``?schema=`` in the URL) sets ``search_path``.
    Anything but a ``sqlite:`` or ``postgresql:`` URL raises ``ValueError`` with a one-line message.
    """
    target = parse_database_url(url)
    if isinstance(target, SQLiteTarget):
        if schema is not None:
            raise ValueError("a schema can only be chosen for PostgreSQL, not SQLite")
        from .sqlite import SQLiteDatabase

        return SQLiteDatabase(target.path, display_url=url)
    assert isinstance(target, PostgresTarget)
    if schema is not None and target.schema is not None and schema != target.schema:
        raise ValueError("the schema is given both in the URL and as an argument, and they differ")
    from .postgres import PostgresDatabase

    return PostgresDatabase(
        target.dsn,
        pool_size=pool_size,
        schema=schema or target.schema,
        display_url=redact_url(url),
    )
