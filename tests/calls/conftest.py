"""Calls fixtures: the real app (SQLite and PostgreSQL) with a live server for ``/ws/events``.

Lifecycle tests run on a fake clock that they move by hand and call ``CallService.tick`` after
moving it, so ring-outs and hang-ups happen exactly when a test says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collabcode.clock import FakeClock
from collabcode.db import Database
from tests.calls.harness import CallEnv, call_env


@pytest.fixture
async def env(db: Database, tmp_path: Path) -> AsyncIterator[CallEnv]:
    async with call_env(db, tmp_path / "data", clock=FakeClock()) as running:
        yield running
