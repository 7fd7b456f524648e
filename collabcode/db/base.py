"""The storage interface every store codes against, whatever the database.

SQL is written once with ``?`` placeholders; ``sqlite.py`` and ``postgres.py`` hold the few
differences. Stores never see driver exceptions: connection trouble becomes
:class:`DatabaseUnavailable` (HTTP 503 / close 1013) and unique or foreign-key violations become
:class:`IntegrityViolation`, so a service can turn a duplicate into a 409 without knowing the
driver.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

logger = logging.getLogger(__name__)

Row = dict[str, Any]
Dialect = Literal["sqlite", "postgresql"]

T = TypeVar("T")

#: A transaction held longer than this is logged as a warning: on SQLite it blocks every writer.
SLOW_TRANSACTION_SECONDS = 1.0


class DatabaseUnavailable(Exception):
    """The database cannot be reached (connection refused, pool timeout, server shutting down).

    Callers turn it into HTTP 503 / WebSocket close 1013: the request may succeed later.
    """


class IntegrityViolation(Exception):
    """A unique or foreign-key constraint was violated.

    ``kind`` says which; ``constraint`` names it when the driver says (PostgreSQL gives the
    constraint name, SQLite the ``table.column`` list of a unique index, nothing for foreign keys).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: Literal["unique", "foreign_key"],
        constraint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: Literal["unique", "foreign_key"] = kind
        self.constraint = constraint


class Executor(Protocol):
    """Runs SQL written with ``?`` placeholders; rows come back as plain dicts."""

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_val(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """First column of the first row, or None when there is no row."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per parameter row, all or nothing."""
        ...


class Database(Executor, Protocol):
    """A connected database: an :class:`Executor` plus lifecycle, transactions and stats."""

    dialect: Dialect
    display_url: str

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Round trip to the database; raises :class:`DatabaseUnavailable`."""
        ...

    def transaction(self, name: str) -> AbstractAsyncContextManager[Executor]:
        """Commit on success, roll back on exception; ``name`` labels logs."""
        ...

    def stats(self) -> dict[str, float]:
        """Pool gauges and counters for Prometheus."""
        ...


@dataclass
class TransactionCounters:
    """Counters shared by both engines, reported through ``stats()``."""

    transactions: int = 0
    rollbacks: int = 0

    def as_stats(self) -> dict[str, float]:
        return {
            "transactions_total": float(self.transactions),
            "rollbacks_total": float(self.rollbacks),
        }


@dataclass
class _Owner:
    task: asyncio.Task[Any] | None
    name: str
    started: float = field(default_factory=time.monotonic)
    active: bool = True


class TransactionGuard:
    """Refuses re-entry from the task that already holds a transaction.

    On SQLite a second ``transaction()`` (or a ``db.execute``) from inside a transaction would wait
    forever for the writer it already holds; on PostgreSQL it would silently run outside the
    transaction. Both are bugs, so both engines raise ``RuntimeError`` instead. Other tasks,
    including ones spawned inside the transaction, are not affected.
    """

    def __init__(self) -> None:
        self._current: ContextVar[_Owner | None] = ContextVar(
            "collabcode_db_transaction", default=None
        )

    def check(self, what: str) -> None:
        owner = self._current.get()
        if owner is not None and owner.active and owner.task is asyncio.current_task():
            raise RuntimeError(
                f"{what} called inside transaction {owner.name!r}: use the executor that "
                "transaction() yielded (nested transactions are not supported)"
            )

    def enter(self, name: str) -> _Owner:
        self.check("transaction()")
        owner = _Owner(asyncio.current_task(), name)
        self._current.set(owner)
        return owner

    def leave(self, owner: _Owner) -> None:
        owner.active = False
        if self._current.get() is owner:
            self._current.set(None)
        held = time.monotonic() - owner.started
        if held > SLOW_TRANSACTION_SECONDS:
            logger.warning("transaction %s took %.2f s (waiting included)", owner.name, held)


class BoundExecutor:
    """Shared bookkeeping for the executor a ``transaction()`` yields.

    Once a statement in a transaction fails, PostgreSQL refuses every later statement and turns
    COMMIT into a silent ROLLBACK. To keep the two engines alike (and never report a commit that
    did not happen), a failed statement poisons the transaction on both: later statements raise
    ``RuntimeError`` and leaving the block without an exception rolls back and raises.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.finished = False
        self.failure: BaseException | None = None

    def check_usable(self) -> None:
        if self.finished:
            raise RuntimeError(f"transaction {self.name!r} is already finished")
        if self.failure is not None:
            raise RuntimeError(
                f"transaction {self.name!r} cannot continue after a failed statement "
                f"({type(self.failure).__name__}); let the error propagate, or avoid it with "
                "INSERT ... ON CONFLICT"
            ) from self.failure

    async def guarded(self, aw: Awaitable[T]) -> T:
        try:
            return await aw
        except BaseException as exc:
            self.failure = exc
            raise

    def not_committed(self) -> RuntimeError:
        """The error raised when a block that swallowed a statement failure ends."""
        error = RuntimeError(
            f"transaction {self.name!r} was rolled back, not committed: a statement in it failed "
            f"({type(self.failure).__name__})"
        )
        error.__cause__ = self.failure
        return error


async def run_to_completion(aw: Awaitable[T]) -> T:
    """Await ``aw`` even if the calling task is cancelled meanwhile, then re-raise the cancel.

    Used for BEGIN/COMMIT/ROLLBACK and for autocommit writes, so a cancelled request can never
    hand the connection to the next user with a half-finished statement or transaction on it.
    """
    inner = asyncio.ensure_future(aw)
    cancelled = False
    while not inner.done():
        try:
            await asyncio.wait({inner})
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if inner.cancelled():
            raise asyncio.CancelledError
        raise asyncio.CancelledError from inner.exception()
    return inner.result()
