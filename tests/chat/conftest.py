"""Chat fixtures: the real app on the ``db`` fixture (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collabcode.clock import FakeClock
from collabcode.db import Database
from tests.chat.harness import ChatEnv, chat_env


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def env(db: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[ChatEnv]:
    """HTTP only, on a fake clock."""
    async with chat_env(db, tmp_path / "data", clock=clock) as running:
        yield running


@pytest.fixture
async def live(db: Database, tmp_path: Path) -> AsyncIterator[ChatEnv]:
    """HTTP plus a live server for ``/ws/events``, on the real clock."""
    async with chat_env(db, tmp_path / "data", live=True) as running:
        yield running
