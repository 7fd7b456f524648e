"""SQLite through aiosqlite: one serialized writer, a few readers, WAL.

SQLite allows one writer at a time; letting every request open its own write transaction only
moves the queue into ``SQLITE_BUSY`` retries. So all writes go through a single connection behind
an ``asyncio.Lock`` (like datasette's write thread), while reads outside a transaction use a small
pool of ``query_only`` connections that WAL lets run beside the writer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite

from .base import (
    BoundExecutor,
    DatabaseUnavailable,
    Dialect,
    Executor,
    IntegrityViolation,
    Row,
    TransactionCounters,
    TransactionGuard,
    run_to_completion,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
#: RETURNING and DROP COLUMN arrived in 3.35 (upsert in 3.24); older SQLite cannot run our SQL.
MIN_SQLITE_VERSION = (3, 35, 0)

_UNIQUE_CODES = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_UNAVAILABLE_CODES = (
    "SQLITE_CANTOPEN",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_NOTADB",
)

_READ_START = re.compile(
    r"\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*(SELECT|WITH|VALUES)\b", re.I | re.S
)
_WRITE_WORD = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


@lru_cache(maxsize=1024)
def is_read_only(sql: str) -> bool:
    """Whether a statement can run on a reader connection (a plain SELECT/WITH/VALUES).

    Anything else, including ``INSERT ... RETURNING`` passed to ``fetch_one``, runs on the
    writer. Readers are ``query_only``, so a misjudged statement fails loudly instead of writing
    around the lock.
    """
    match = _READ_START.match(sql)
    if match is None:
        return False
    return not (match.group(1).upper() == "WITH" and _WRITE_WORD.search(sql))


def check_sqlite_version(version: tuple[int, int, int]) -> None:
    """Refuse an SQLite library too old for the portable SQL rules (docs/storage.md)."""
    if version < MIN_SQLITE_VERSION:
        found = ".".join(map(str, version))
        needed = ".".join(map(str, MIN_SQLITE_VERSION))
        raise RuntimeError(
            f"this Python uses SQLite {found}, but collabcode needs SQLite {needed} or newer; "
            "use PostgreSQL or a Python built against a newer SQLite"
        )


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _translate(exc: sqlite3.Error) -> Exception | None:
    """The collabcode exception for a driver error, or None to let it through unchanged."""
    name = getattr(exc, "sqlite_errorname", "")
    if isinstance(exc, sqlite3.IntegrityError):
        if name in _UNIQUE_CODES:
            _, _, columns = str(exc).partition(":")
            return IntegrityViolation(str(exc), kind="unique", constraint=columns.strip() or None)
        if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
            return IntegrityViolation(str(exc), kind="foreign_key")
        return None
    if name.startswith(_UNAVAILABLE_CODES):
        return DatabaseUnavailable(f"SQLite database unavailable: {exc}")
    return None


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        translated = _translate(exc)
        if translated is None:
            raise
        raise translated from exc
    except ValueError as exc:
        # aiosqlite raises ValueError("Connection closed") once its thread has stopped.
        if "closed" not in str(exc).lower():
            raise
        raise DatabaseUnavailable("SQLite database is closed") from exc


async def _run(conn: aiosqlite.Connection, sql: str) -> None:
    async with conn.execute(sql):
        pass


async def _fetch_one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> Row | None:
    async with conn.execute(sql, params) as cursor:
        row: Row | None = await cursor.fetchone()  # type: ignore[assignment]
        return row


async def _fetch_all(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    rows: list[Row] = list(await conn.execute_fetchall(sql, params))  # type: ignore[arg-type]
    return rows


async def _fetch_val(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> Any:
    row = await _fetch_one(conn, sql, params)
    return None if row is None else next(iter(row.values()), None)


async def _execute(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> int:
    async with conn.execute(sql, params) as cursor:
        if cursor.description is not None:
            # RETURNING: SQLite counts the rows only as they are stepped through.
            await cursor.fetchall()
        return max(cursor.rowcount, 0)


async def _execute_many(
    conn: aiosqlite.Connection, sql: str, rows: Sequence[Sequence[Any]]
) -> None:
    async with conn.executemany(sql, rows):
        pass


async def _rollback(conn: aiosqlite.Connection, name: str) -> None:
    """Roll back, tolerating SQLite having already done so (it does on some errors)."""
    try:
        await _run(conn, "ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "no transaction is active" not in str(exc):
            logger.exception("rollback of transaction %s failed", name)


async def _execute_many_atomically(
    conn: aiosqlite.Connection, sql: str, rows: Sequence[Sequence[Any]]
) -> None:
    await _run(conn, "BEGIN IMMEDIATE")
    try:
        await _execute_many(conn, sql, rows)
    except BaseException:
        await _rollback(conn, "execute_many")
        raise
    await _run(conn, "COMMIT")


async def _translating(aw: Awaitable[T]) -> T:
    with _translated():
        return await aw


class _Transaction(BoundExecutor):
    """The executor ``transaction()`` yields: every statement on the writer connection."""

    def __init__(self, conn: aiosqlite.Connection, name: str) -> None:
        super().__init__(name)
        self._conn = conn

    async def _run(self, op: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        self.check_usable()
        return await self.guarded(_translating(op(self._conn)))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._run(lambda conn: _fetch_one(conn, sql, params))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._run(lambda conn: _fetch_all(conn, sql, params))

    async def fetch_val(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._run(lambda conn: _fetch_val(conn, sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._run(lambda conn: _execute(conn, sql, params))

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._run(lambda conn: _execute_many(conn, sql, rows))


class SQLiteDatabase:
    """A SQLite file: WAL, ``synchronous=FULL``, foreign keys on; one writer, a few readers."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, *, readers: int = 2, display_url: str | None = None) -> None:
        if readers < 1:
            raise ValueError("readers must be at least 1")
        self.path = path
        self.display_url = display_url or f"sqlite:///{path}"
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        # None is the "closed" sentinel that wakes readers waiting during close().
        self._idle_readers: asyncio.Queue[aiosqlite.Connection | None] = asyncio.Queue()
        self._write_lock = asyncio.Lock()
        self._write_waiting = 0
        self._closed = False
        self._guard = TransactionGuard()
        self._counters = TransactionCounters()

    # lifecycle

    async def connect(self) -> None:
        if self._writer is not None:
            return
        if self._closed:
            raise DatabaseUnavailable("SQLite database is closed")
        check_sqlite_version(sqlite3.sqlite_version_info)
        opened: list[aiosqlite.Connection] = []
        try:
            await asyncio.to_thread(self._prepare_file)
            opened.append(await self._open("writer"))
            for _ in range(self._reader_count):
                opened.append(await self._open("reader"))
        except BaseException as exc:
            # Also on cancel (e.g. a wait_for timeout): never leave connection threads behind.
            for conn in opened:
                await conn.close()
            if isinstance(exc, OSError | sqlite3.Error):
                message = f"cannot open SQLite database {self.path}: {exc}"
                raise DatabaseUnavailable(message) from exc
            raise
        self._writer, self._readers = opened[0], opened[1:]
        for conn in self._readers:
            self._idle_readers.put_nowait(conn)
        logger.info("opened SQLite database %s (%d readers)", self.path, self._reader_count)

    def _prepare_file(self) -> None:
        """Create the parent directory (0700) and the file (0600): it holds password hashes."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return
        os.close(fd)

    async def _open(self, role: Literal["writer", "reader"]) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
        try:
            conn.row_factory = _dict_row  # type: ignore[assignment]
            await _run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if role == "writer":
                mode = await _fetch_val(conn, "PRAGMA journal_mode = WAL", ())
                if str(mode).lower() != "wal":
                    logger.warning(
                        "SQLite refused WAL mode for %s (journal_mode=%s)", self.path, mode
                    )
                await _run(conn, "PRAGMA synchronous = FULL")
                await _run(conn, "PRAGMA foreign_keys = ON")
            else:
                await _run(conn, "PRAGMA query_only = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Wait for running statements, then close every connection."""
        if self._closed:
            return
        self._closed = True
        async with self._write_lock:
            writer, self._writer = self._writer, None
            if writer is not None:
                await writer.close()
        for _ in self._readers:
            conn = await self._idle_readers.get()
            if conn is not None:
                await conn.close()
        self._readers = []
        self._idle_readers.put_nowait(None)
        logger.info("closed SQLite database %s", self.path)

    async def ping(self) -> None:
        await self.fetch_val("SELECT 1")

    def stats(self) -> dict[str, float]:
        readers_in_use = len(self._readers) - self._idle_readers.qsize() if self._readers else 0
        in_use = readers_in_use + (1 if self._write_lock.locked() else 0)
        size = len(self._readers) + (1 if self._writer is not None else 0)
        return {
            "pool_size": float(size),
            "pool_in_use": float(in_use),
            "pool_idle": float(max(size - in_use, 0)),
            "write_waiting": float(self._write_waiting),
            **self._counters.as_stats(),
        }

    # connections

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._closed or not self._readers:
            raise DatabaseUnavailable("SQLite database is not open")
        conn = await self._idle_readers.get()
        if conn is None:
            self._idle_readers.put_nowait(None)
            raise DatabaseUnavailable("SQLite database is closed")
        try:
            yield conn
        finally:
            self._idle_readers.put_nowait(conn)

    @asynccontextmanager
    async def _writer_locked(self) -> AsyncIterator[aiosqlite.Connection]:
        self._write_waiting += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._write_waiting -= 1
        try:
            if self._writer is None:
                raise DatabaseUnavailable("SQLite database is not open")
            yield self._writer
        finally:
            self._write_lock.release()

    async def _write(self, op: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        async with self._writer_locked() as conn:
            with _translated():
                return await run_to_completion(op(conn))

    async def _read(self, sql: str, op: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        if not is_read_only(sql):
            return await self._write(op)
        async with self._reader() as conn:
            with _translated():
                # A cancelled caller must not leave a half-read statement open on the reader:
                # its read transaction would pin an old snapshot for everyone who gets it next.
                return await run_to_completion(op(conn))

    # Executor

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._guard.check("fetch_one()")
        return await self._read(sql, lambda conn: _fetch_one(conn, sql, params))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._guard.check("fetch_all()")
        return await self._read(sql, lambda conn: _fetch_all(conn, sql, params))

    async def fetch_val(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._guard.check("fetch_val()")
        return await self._read(sql, lambda conn: _fetch_val(conn, sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._guard.check("execute()")
        return await self._write(lambda conn: _execute(conn, sql, params))

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._guard.check("execute_many()")
        await self._write(lambda conn: _execute_many_atomically(conn, sql, rows))

    @asynccontextmanager
    async def transaction(self, name: str) -> AsyncIterator[Executor]:
        """BEGIN IMMEDIATE on the writer; COMMIT, or ROLLBACK on any exception incl. cancel."""
        owner = self._guard.enter(name)
        try:
            async with self._writer_locked() as conn:
                try:
                    with _translated():
                        await run_to_completion(_run(conn, "BEGIN IMMEDIATE"))
                except BaseException:
                    # Cancelled after BEGIN went through: the transaction is open but unused.
                    if conn.in_transaction:
                        await run_to_completion(_rollback(conn, name))
                    raise
                self._counters.transactions += 1
                tx = _Transaction(conn, name)
                try:
                    yield tx
                except BaseException as exc:
                    tx.finished = True
                    self._counters.rollbacks += 1
                    logger.debug("transaction %s rolled back: %s", name, type(exc).__name__)
                    await run_to_completion(_rollback(conn, name))
                    raise
                tx.finished = True
                if tx.failure is not None:
                    self._counters.rollbacks += 1
                    await run_to_completion(_rollback(conn, name))
                    raise tx.not_committed()
                try:
                    with _translated():
                        await run_to_completion(_run(conn, "COMMIT"))
                except BaseException:
                    # COMMIT ran to completion, so in_transaction is accurate here.
                    if conn.in_transaction:
                        self._counters.rollbacks += 1
                        await run_to_completion(_rollback(conn, name))
                    raise
        finally:
            self._guard.leave(owner)
