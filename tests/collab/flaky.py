"""A database that a test can switch off: every call raises DatabaseUnavailable while down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from collabcode.db import Database, DatabaseUnavailable, Executor


class FlakyDatabase:
    """A real database that can be made unreachable: every call raises DatabaseUnavailable."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.down = False
        self.dialect = db.dialect
        self.display_url = db.display_url

    def _check(self) -> None:
        if self.down:
            raise DatabaseUnavailable("database is down (test)")

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self._check()
        return await self._db.fetch_all(sql, params)

    async def fetch_val(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self._check()
        return await self._db.fetch_val(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._check()
        return await self._db.execute(sql, params)

    @asynccontextmanager
    async def transaction(self, name: str) -> AsyncIterator[Executor]:
        self._check()
        async with self._db.transaction(name) as tx:
            yield tx

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        self._check()
        return await self._db.fetch_one(sql, params)

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._check()
        await self._db.execute_many(sql, rows)

    async def ping(self) -> None:
        self._check()
        await self._db.ping()

    async def connect(self) -> None:
        await self._db.connect()

    async def close(self) -> None:
        await self._db.close()

    def stats(self) -> dict[str, float]:
        return self._db.stats()
