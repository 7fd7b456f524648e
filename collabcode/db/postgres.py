"""PostgreSQL through an asyncpg pool, speaking the same ``?`` SQL as SQLite.

The differences from SQLite live here: ``?`` placeholders become ``$1..$n``, migration DDL maps
the few SQLite type names PostgreSQL lacks, and asyncpg's exceptions become collabcode's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

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
from .url import check_schema_name, redact_url

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Literals, quoted identifiers, comments and dollar-quoted bodies are copied as they are; only
# the tokens after them in the alternation are rewritten.
_OPAQUE = r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\$((?:[A-Za-z_]\w*)?)\$.*?\$\1\$"""
_PLACEHOLDERS = re.compile(_OPAQUE + r"|\?", re.S)
_SQLITE_TYPES = re.compile(_OPAQUE + r"|\b(?:BLOB|REAL)\b", re.S | re.I)
_TYPE_MAP = {"BLOB": "BYTEA", "REAL": "DOUBLE PRECISION"}

# The server is gone or going: idle pooled connections are probably dead too.
_SERVER_GONE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
# The server is there but cannot serve us now (command timeout, no free connection slot).
_SERVER_BUSY: tuple[type[BaseException], ...] = (TimeoutError, asyncpg.TooManyConnectionsError)


@lru_cache(maxsize=2048)
def numbered_placeholders(sql: str) -> str:
    """Rewrite ``?`` to ``$1..$n``, leaving ``?`` inside literals, identifiers and comments."""
    if "?" not in sql:
        return sql
    numbers = itertools.count(1)

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        return f"${next(numbers)}" if text == "?" else text

    return _PLACEHOLDERS.sub(replace, sql)


def translate_ddl(sql: str) -> str:
    """Map SQLite type names in shared migrations: BLOB→BYTEA, REAL→DOUBLE PRECISION.

    REAL is 8 bytes in SQLite but 4 in PostgreSQL, hence DOUBLE PRECISION.
    """

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        return _TYPE_MAP.get(text.upper(), text)

    return _SQLITE_TYPES.sub(replace, sql)


def _rows_affected(status: str) -> int:
    """``INSERT 0 3`` / ``UPDATE 2`` / ``DELETE 0`` → the count; other statuses → 0."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresDatabase:
    """An asyncpg pool (min 1, max ``pool_size``) with optional per-pool ``search_path``."""

    dialect: Dialect = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        schema: str | None = None,
        display_url: str | None = None,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
        acquire_timeout: float = 10.0,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self._dsn = dsn
        self.display_url = display_url or redact_url(dsn)
        self.schema = check_schema_name(schema) if schema is not None else None
        self.pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._acquire_timeout = acquire_timeout
        self._pool: Any = None
        self._closed = False
        self._guard = TransactionGuard()
        self._counters = TransactionCounters()

    # lifecycle

    async def connect(self) -> None:
        """Open the pool; an unreachable server raises :class:`DatabaseUnavailable` at once."""
        if self._pool is not None:
            return
        if self._closed:
            raise DatabaseUnavailable("PostgreSQL database is closed")
        server_settings = {"search_path": self.schema} if self.schema else None
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self.pool_size,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
                server_settings=server_settings,
            )
        except Exception as exc:
            raise DatabaseUnavailable(
                f"cannot connect to PostgreSQL at {self.display_url}: {type(exc).__name__}: {exc}"
            ) from exc
        logger.info(
            "connected to PostgreSQL %s (pool max %d, schema %s)",
            self.display_url,
            self.pool_size,
            self.schema or "default",
        )

    async def close(self) -> None:
        """Let borrowed connections come back (10 s at most), then close them all."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=10)
        except TimeoutError:
            logger.warning("PostgreSQL pool did not close in time; terminating connections")
            pool.terminate()
        logger.info("closed PostgreSQL pool %s", self.display_url)

    async def ping(self) -> None:
        await self.fetch_val("SELECT 1")

    def stats(self) -> dict[str, float]:
        pool = self._pool
        size = pool.get_size() if pool is not None else 0
        idle = pool.get_idle_size() if pool is not None else 0
        return {
            "pool_size": float(size),
            "pool_in_use": float(size - idle),
            "pool_idle": float(idle),
            "pool_max": float(self.pool_size),
            **self._counters.as_stats(),
        }

    # connections and errors

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        pool = self._pool
        if pool is None:
            state = "closed" if self._closed else "not connected"
            raise DatabaseUnavailable(f"PostgreSQL database is {state}")
        try:
            conn = await pool.acquire(timeout=self._acquire_timeout)
        except _SERVER_GONE as exc:
            await self._connection_lost()
            raise DatabaseUnavailable(
                f"cannot get a PostgreSQL connection: {type(exc).__name__}: {exc}"
            ) from exc
        except (*_SERVER_BUSY, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Pool exhausted (acquire timeout), refused login, pool closing.
            raise DatabaseUnavailable(
                f"cannot get a PostgreSQL connection: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            yield conn
        finally:
            await pool.release(conn)

    @asynccontextmanager
    async def _translated(self, conn: Any) -> AsyncIterator[None]:
        try:
            yield
        except asyncpg.UniqueViolationError as exc:
            raise IntegrityViolation(
                str(exc), kind="unique", constraint=exc.constraint_name
            ) from exc
        except asyncpg.ForeignKeyViolationError as exc:
            raise IntegrityViolation(
                str(exc), kind="foreign_key", constraint=exc.constraint_name
            ) from exc
        except _SERVER_GONE as exc:
            await self._connection_lost()
            raise DatabaseUnavailable(
                f"PostgreSQL unavailable: {type(exc).__name__}: {exc}"
            ) from exc
        except _SERVER_BUSY as exc:
            raise DatabaseUnavailable(f"PostgreSQL busy: {type(exc).__name__}: {exc}") from exc
        except asyncpg.InterfaceError as exc:
            # Also raised for misuse (wrong argument count): only a closed connection means "down".
            if not _is_closed(conn):
                raise
            await self._connection_lost()
            raise DatabaseUnavailable(f"PostgreSQL connection lost: {exc}") from exc
        except asyncpg.InternalClientError as exc:
            # The server ended the connection while the next statement was being sent ("cannot
            # switch to state ..."): its protocol state is broken, so drop it, as a lost one.
            with contextlib.suppress(Exception):
                conn.terminate()
            await self._connection_lost()
            raise DatabaseUnavailable(f"PostgreSQL connection lost: {exc}") from exc

    async def _connection_lost(self) -> None:
        """Have the pool replace its idle connections: after a restart they are all dead."""
        if self._pool is not None:
            await self._pool.expire_connections()

    async def _with_connection(self, op: Callable[[Any], Awaitable[T]]) -> T:
        async with self._connection() as conn, self._translated(conn):
            return await op(conn)

    # Executor

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self._guard.check("fetch_one()")
        return await self._with_connection(lambda conn: _fetch_one(conn, sql, params))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self._guard.check("fetch_all()")
        return await self._with_connection(lambda conn: _fetch_all(conn, sql, params))

    async def fetch_val(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._guard.check("fetch_val()")
        return await self._with_connection(lambda conn: _fetch_val(conn, sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._guard.check("execute()")
        return await self._with_connection(lambda conn: _execute(conn, sql, params))

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._guard.check("execute_many()")
        await self._with_connection(lambda conn: _execute_many_atomically(conn, sql, rows))

    @asynccontextmanager
    async def transaction(self, name: str) -> AsyncIterator[Executor]:
        """One pooled connection in a READ COMMITTED transaction; rolled back on any exception."""
        owner = self._guard.enter(name)
        try:
            async with self._connection() as conn:
                pg_tx = conn.transaction()
                try:
                    async with self._translated(conn):
                        await run_to_completion(pg_tx.start())
                except BaseException:
                    # Cancelled after BEGIN went through: the transaction is open but unused.
                    if _in_transaction(conn):
                        await run_to_completion(_rollback(conn, pg_tx, name))
                    raise
                self._counters.transactions += 1
                tx = _Transaction(self, conn, name)
                try:
                    yield tx
                except BaseException as exc:
                    tx.finished = True
                    self._counters.rollbacks += 1
                    logger.debug("transaction %s rolled back: %s", name, type(exc).__name__)
                    await run_to_completion(_rollback(conn, pg_tx, name))
                    raise
                tx.finished = True
                if tx.failure is not None:
                    self._counters.rollbacks += 1
                    await run_to_completion(_rollback(conn, pg_tx, name))
                    raise tx.not_committed()
                try:
                    async with self._translated(conn):
                        await run_to_completion(pg_tx.commit())
                except BaseException:
                    if _in_transaction(conn):
                        self._counters.rollbacks += 1
                        await run_to_completion(_rollback(conn, pg_tx, name))
                    raise
        finally:
            self._guard.leave(owner)


class _Transaction(BoundExecutor):
    """The executor ``transaction()`` yields: every statement on the transaction's connection."""

    def __init__(self, db: PostgresDatabase, conn: Any, name: str) -> None:
        super().__init__(name)
        self._db = db
        self._conn = conn

    async def _translating(self, aw: Awaitable[T]) -> T:
        async with self._db._translated(self._conn):
            return await aw

    async def _run(self, op: Callable[[Any], Awaitable[T]]) -> T:
        self.check_usable()
        return await self.guarded(self._translating(op(self._conn)))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._run(lambda conn: _fetch_one(conn, sql, params))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._run(lambda conn: _fetch_all(conn, sql, params))

    async def fetch_val(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._run(lambda conn: _fetch_val(conn, sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._run(lambda conn: _execute(conn, sql, params))

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._run(lambda conn: conn.executemany(numbered_placeholders(sql), rows))


def _is_closed(conn: Any) -> bool:
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        # The pool already took back a connection whose socket died.
        return True


def _in_transaction(conn: Any) -> bool:
    return not _is_closed(conn) and bool(conn.is_in_transaction())


async def _fetch_one(conn: Any, sql: str, params: Sequence[Any]) -> Row | None:
    record = await conn.fetchrow(numbered_placeholders(sql), *params)
    return None if record is None else dict(record)


async def _fetch_all(conn: Any, sql: str, params: Sequence[Any]) -> list[Row]:
    return [dict(record) for record in await conn.fetch(numbered_placeholders(sql), *params)]


async def _fetch_val(conn: Any, sql: str, params: Sequence[Any]) -> Any:
    return await conn.fetchval(numbered_placeholders(sql), *params)


async def _execute(conn: Any, sql: str, params: Sequence[Any]) -> int:
    return _rows_affected(await conn.execute(numbered_placeholders(sql), *params))


async def _execute_many_atomically(conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    async with conn.transaction():
        await conn.executemany(numbered_placeholders(sql), rows)


async def _rollback(conn: Any, pg_tx: Any, name: str) -> None:
    """Roll back; if that fails, drop the connection so the pool never reuses a dirty one."""
    if _is_closed(conn):
        return
    try:
        await pg_tx.rollback()
    except Exception:
        logger.warning(
            "rollback of transaction %s failed; dropping the connection", name, exc_info=True
        )
        conn.terminate()
