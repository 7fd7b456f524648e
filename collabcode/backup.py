"""Backups of a whole instance: its database and the files of its data directory, in one archive.

A backup is an uncompressed tar archive holding ``manifest.json`` (format, collabcode version,
schema version, database engine, and a SHA-256 of every other member), the database —
``database.sqlite3`` taken with SQLite's online backup API while the instance keeps serving, or
``database.pgdump`` from ``pg_dump --format=custom`` (a consistent snapshot) — and ``data/``, the
data directory's files (the instance secrets first of all: without them every session, ticket and
keyed hash of the restored instance would be void). Restoring needs an empty target: a fresh data
directory, and for PostgreSQL an empty database; it checks every checksum before writing anything.
See docs/operations.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit, urlunsplit

from collabcode import __version__
from collabcode.db.url import PostgresTarget, SQLiteTarget, parse_database_url
from collabcode.instance_secrets import SECRETS_FILE, ensure_data_dir
from collabcode.settings import Settings

FORMAT: Final = "collabcode-backup/1"
MANIFEST: Final = "manifest.json"
SQLITE_MEMBER: Final = "database.sqlite3"
PGDUMP_MEMBER: Final = "database.pgdump"
DATA_PREFIX: Final = "data/"
#: Files of the data directory that are not the instance's data: the live database (copied
#: through the backup API instead), and what running processes keep there.
_SKIPPED_SUFFIXES: Final = (".db", ".db-wal", ".db-shm", ".db-journal", ".pid", ".sock", ".log", ".tmp")
_SKIPPED_DIRS: Final = frozenset({"turn", "coturn", "run", "tmp"})
_PAGES_PER_STEP: Final = 256

#: ``progress(done, total)`` in units the caller need not know (pages, bytes).
Progress = Callable[[int, int], None]


class BackupError(Exception):
    """The backup or restore cannot go on; the message is one line for the operator."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    engine: str
    schema_version: int | None
    files: int
    size: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data_files(data_dir: Path, database_path: Path | None) -> Iterator[tuple[Path, str]]:
    """Every file of the data directory worth keeping, as (path, archive name)."""
    if not data_dir.is_dir():
        return
    for root, dirs, files in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(root) / name
            if database_path is not None and path.resolve() == database_path.resolve():
                continue
            if name.endswith(_SKIPPED_SUFFIXES) or not path.is_file() or path.is_symlink():
                continue
            yield path, DATA_PREFIX + path.relative_to(data_dir).as_posix()


def _sqlite_schema_version(path: Path) -> int | None:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        try:
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        except sqlite3.Error:
            return None
    return int(row[0]) if row and row[0] is not None else None


def _copy_sqlite(source: Path, target: Path, progress: Progress | None) -> None:
    """A consistent copy of a live SQLite database (writers may go on meanwhile)."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst, pages=_PAGES_PER_STEP, progress=step)


def _pg_env(target: PostgresTarget) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore: the password travels in the environment."""
    parts = urlsplit(target.dsn)
    env = dict(os.environ)
    netloc = parts.netloc
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        user, _, password = userinfo.partition(":")
        env["PGPASSWORD"] = unquote(password)
        netloc = f"{user}@{hostinfo}"
    dsn = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return ["--dbname", dsn], env


def _run_pg_tool(args: list[str], env: dict[str, str], what: str) -> None:
    tool = args[0]
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is not installed; install the PostgreSQL client tools of your server's major version "
            f"(Debian: apt install postgresql-client) and run the {what} again"
        )
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BackupError(f"{tool} failed: {detail[:300]}")


def create_backup(settings: Settings, destination: Path, *, progress: Progress | None = None) -> BackupSummary:
    """Write a backup of the instance ``settings`` describes to ``destination`` (a new file)."""
    if destination.exists():
        raise BackupError(f"{destination} exists; choose a new file name")
    target = parse_database_url(settings.resolved_database_url)
    database_path = target.path if isinstance(target, SQLiteTarget) else None
    with tempfile.TemporaryDirectory(prefix="collabcode-backup-") as scratch_dir:
        scratch = Path(scratch_dir)
        members: list[tuple[Path, str]] = []
        if isinstance(target, SQLiteTarget):
            copy = scratch / SQLITE_MEMBER
            _copy_sqlite(target.path, copy, progress)
            engine, schema_version = "sqlite", _sqlite_schema_version(copy)
            members.append((copy, SQLITE_MEMBER))
        else:
            dump = scratch / PGDUMP_MEMBER
            conn, env = _pg_env(target)
            schema = ["--schema", target.schema] if target.schema else []
            _run_pg_tool(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", *schema, "--file", str(dump), *conn],
                env,
                "backup",
            )
            engine, schema_version = "postgresql", None
            members.append((dump, PGDUMP_MEMBER))
        members.extend(_data_files(settings.data_dir, database_path))
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "collabcode_version": __version__,
            "created_at": int(time.time() * 1000),
            "engine": engine,
            "schema_version": schema_version,
            "files": {name: {"sha256": _sha256(path), "size": path.stat().st_size} for path, name in members},
        }
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
                body = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
                archive.addfile(info, io.BytesIO(body))
                for path, name in members:
                    archive.add(path, arcname=name, recursive=False, filter=_private)
            os.chmod(partial, 0o600)
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
    return BackupSummary(destination, engine, schema_version, len(members), destination.stat().st_size)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


def read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.getmember(MANIFEST)
        handle = archive.extractfile(member)
        if handle is None or member.size > 10 << 20:
            raise KeyError(MANIFEST)
        manifest = json.loads(handle.read())
    except (KeyError, ValueError) as exc:
        raise BackupError("not a collabcode backup (no readable manifest.json)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"unsupported backup format {manifest.get('format')!r}; expected {FORMAT}")
    if not isinstance(manifest.get("files"), dict):
        raise BackupError(f"unsupported backup format {manifest.get('format')!r}; expected {FORMAT}")
    return manifest


def _extract_verified(archive: tarfile.TarFile, manifest: dict[str, Any], into: Path) -> None:
    """Extract every listed member into ``into`` and check it against the manifest."""
    files: dict[str, Any] = manifest["files"]
    names = {member.name for member in archive.getmembers()}
    missing = sorted(set(files) - names)
    if missing:
        raise BackupError(f"the backup is incomplete: {missing[0]} is missing")
    for name, facts in files.items():
        member = archive.getmember(name)
        if not member.isfile():
            raise BackupError(f"the backup is damaged: {name} is not a file")
        archive.extract(member, into, filter="data")
        if _sha256(into / name) != facts.get("sha256"):
            raise BackupError(f"the backup is damaged: {name} does not match its checksum")


def _postgres_is_empty(settings: Settings) -> bool:
    """Whether the target database has no tables in collabcode's schema (or ``public``)."""
    import asyncio

    from collabcode.db import open_database

    async def count_tables() -> int:
        db = open_database(settings.resolved_database_url, pool_size=1)
        await db.connect()
        try:
            row = await db.fetch_one(
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        finally:
            await db.close()
        return int(row["n"]) if row is not None else 0

    return asyncio.run(count_tables()) == 0


def _is_empty_dir(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def restore_backup(settings: Settings, source: Path, *, progress: Progress | None = None) -> BackupSummary:
    """Restore the backup ``source`` into the (empty) instance ``settings`` describes."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    target = parse_database_url(settings.resolved_database_url)
    if not _is_empty_dir(settings.data_dir):
        raise BackupError(f"the data directory {settings.data_dir} is not empty; restore into a new one")
    try:
        archive = tarfile.open(source, "r:*")  # noqa: SIM115  (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{source} is not a readable backup archive") from exc
    with archive, tempfile.TemporaryDirectory(prefix="collabcode-restore-") as scratch_dir:
        scratch = Path(scratch_dir)
        manifest = read_manifest(archive)
        engine = manifest.get("engine")
        wanted = "sqlite" if isinstance(target, SQLiteTarget) else "postgresql"
        if engine != wanted:
            raise BackupError(
                f"this backup holds a {engine} database and the target is {wanted}; restore into the same engine"
            )
        if f"{DATA_PREFIX}{SECRETS_FILE}" not in manifest["files"]:
            raise BackupError("the backup holds no instance secrets; the restored instance would sign everyone out")
        _extract_verified(archive, manifest, scratch)
        if isinstance(target, SQLiteTarget) and target.path.exists():
            raise BackupError(f"a database already exists at {target.path}; restore into a new data directory")
        if isinstance(target, PostgresTarget) and not _postgres_is_empty(settings):
            raise BackupError("the target PostgreSQL database is not empty; restore into a new, empty database")
        ensure_data_dir(settings.data_dir)
        data_files = sorted(name for name in manifest["files"] if name.startswith(DATA_PREFIX))
        for index, name in enumerate(data_files):
            relative = Path(name[len(DATA_PREFIX) :])
            destination = settings.data_dir / relative
            destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(scratch / name, destination)
            os.chmod(destination, 0o600)
            if progress is not None:
                progress(index + 1, len(data_files) + 1)
        if isinstance(target, SQLiteTarget):
            target.path.parent.mkdir(parents=True, exist_ok=True)
            _copy_sqlite(scratch / SQLITE_MEMBER, target.path, None)
            os.chmod(target.path, 0o600)
        else:
            conn, env = _pg_env(target)
            _run_pg_tool(
                ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", *conn, str(scratch / PGDUMP_MEMBER)],
                env,
                "restore",
            )
        if progress is not None:
            progress(len(data_files) + 1, len(data_files) + 1)
    schema_version = manifest.get("schema_version")
    return BackupSummary(
        source,
        str(engine),
        int(schema_version) if isinstance(schema_version, int) else None,
        len(manifest["files"]),
        source.stat().st_size,
    )
