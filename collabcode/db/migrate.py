"""Numbered SQL migrations shipped inside the package and applied in order at start-up.

``migrations/NNNN_name.sql`` serves both databases; ``NNNN_name.sqlite.sql`` or
``NNNN_name.postgresql.sql`` replaces it for one dialect where SQL must differ. Each migration runs
in its own transaction together with its ``schema_version`` row, so a failure leaves the schema
at the previous version. See docs/storage.md.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

from .base import Database, DatabaseUnavailable, Dialect, Executor
from .postgres import translate_ddl

logger = logging.getLogger(__name__)

DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")
#: Key of the PostgreSQL advisory lock that serializes migrations across processes.
MIGRATION_LOCK_ID = 0x636F6C6C6162  # "collab"

_FILE_NAME = re.compile(
    r"(?P<version>\d{4})_(?P<slug>[a-z0-9_]+?)(?:\.(?P<dialect>sqlite|postgresql))?\.sql"
)

_CREATE_SCHEMA_VERSION = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
)


class MigrationError(RuntimeError):
    """The migrations cannot be applied: bad files, a failing statement, or a newer database."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> list[str]:
    """Split on ``;`` at the end of a line; comment-only chunks are dropped.

    Deliberately naive: a semicolon ending a line inside a string or a trigger body would split
    it, so such migrations go in a per-dialect file written with that in mind.
    """
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        current.append(line)
        stripped = line.strip()
        if stripped.endswith(";") and not stripped.startswith("--"):
            statements.append("\n".join(current))
            current = []
    statements.append("\n".join(current))
    return [chunk.strip() for chunk in statements if _has_code(chunk)]


def _has_code(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())


def default_directory() -> Traversable:
    return files("collabcode.db").joinpath("migrations")


def load_migrations(dialect: Dialect, directory: Traversable | None = None) -> list[Migration]:
    """The migrations for ``dialect``, ordered by version; raises MigrationError on bad files."""
    directory = directory or default_directory()
    names: dict[int, str] = {}
    sources: dict[int, dict[str, Traversable]] = {}
    for entry in directory.iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match is None:
            if entry.name.endswith(".sql"):
                raise MigrationError(
                    f"migration file {entry.name!r} is not named NNNN_name[.dialect].sql"
                )
            continue
        version = int(match["version"])
        name = f"{match['version']}_{match['slug']}"
        if names.setdefault(version, name) != name:
            raise MigrationError(
                f"two migrations share number {version:04d}: {names[version]} and {name}"
            )
        sources.setdefault(version, {})[match["dialect"] or "shared"] = entry
    migrations = []
    for version in sorted(sources):
        variants = sources[version]
        missing = [d for d in DIALECTS if d not in variants and "shared" not in variants]
        if missing:
            raise MigrationError(f"migration {names[version]} has no file for {', '.join(missing)}")
        source = variants.get(dialect) or variants["shared"]
        script = source.read_text(encoding="utf-8")
        if dialect == "postgresql" and source is variants.get("shared"):
            script = translate_ddl(script)
        migrations.append(Migration(version, names[version], tuple(split_statements(script))))
    return migrations


class _RollBack(Exception):
    """Leaves a read-only peek without committing the schema_version table it may have created."""


async def _lock(tx: Executor, dialect: Dialect) -> None:
    """Serialize migrators. SQLite's BEGIN IMMEDIATE already does; PostgreSQL needs a lock."""
    if dialect == "postgresql":
        await tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_ID,))


async def _applied(tx: Executor) -> dict[int, str]:
    await tx.execute(_CREATE_SCHEMA_VERSION)
    rows = await tx.fetch_all("SELECT version, name FROM schema_version ORDER BY version")
    return {int(row["version"]): str(row["name"]) for row in rows}


async def _peek(db: Database) -> dict[int, str]:
    """The applied migrations, changing nothing (not even creating schema_version)."""
    applied: dict[int, str] = {}
    with contextlib.suppress(_RollBack):
        async with db.transaction("migrate.peek") as tx:
            await _lock(tx, db.dialect)
            applied = await _applied(tx)
            raise _RollBack
    return applied


def _check_known(applied: dict[int, str], known: Sequence[Migration]) -> None:
    by_version = {m.version: m for m in known}
    unknown = [version for version in applied if version not in by_version]
    if unknown:
        newest = max(unknown)
        raise MigrationError(
            f"the database has migration {applied[newest]} (version {newest}), which this "
            f"collabcode does not know (it knows up to {max(by_version, default=0)}): the "
            "database was upgraded by a newer collabcode; upgrade collabcode or restore a backup"
        )
    for version, name in applied.items():
        if by_version[version].name != name:
            logger.warning(
                "migration %s was applied under the name %s", by_version[version].name, name
            )


async def migrate(
    db: Database, *, dry_run: bool = False, migrations: Sequence[Migration] | None = None
) -> list[str]:
    """Apply pending migrations in order; return their names (``dry_run``: what would run)."""
    known = list(migrations) if migrations is not None else load_migrations(db.dialect)
    applied = await _peek(db)
    _check_known(applied, known)
    pending = [m for m in known if m.version not in applied]
    if dry_run or not pending:
        return [m.name for m in pending]
    done: list[str] = []
    for migration in pending:
        if await _apply(db, migration, known):
            done.append(migration.name)
    return done


async def _apply(db: Database, migration: Migration, known: Sequence[Migration]) -> bool:
    """Apply one migration unless another process did meanwhile; True when applied here."""
    async with db.transaction(f"migrate {migration.name}") as tx:
        await _lock(tx, db.dialect)
        applied = await _applied(tx)
        _check_known(applied, known)
        if migration.version in applied:
            return False
        for number, statement in enumerate(migration.statements, start=1):
            try:
                await tx.execute(statement)
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                raise MigrationError(
                    f"migration {migration.name} failed at statement {number}: {exc}"
                ) from exc
        await tx.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, time.time_ns() // 1_000_000),
        )
    logger.info("applied migration %s on %s", migration.name, db.dialect)
    return True


async def current_version(db: Database) -> int:
    """The highest applied migration number; 0 for an empty database."""
    return max(await _peek(db), default=0)


__all__ = [
    "MIGRATION_LOCK_ID",
    "Migration",
    "MigrationError",
    "current_version",
    "load_migrations",
    "migrate",
    "split_statements",
]
