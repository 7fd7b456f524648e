"""Events-socket fixtures: the real app on the ``db`` fixture with a live server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from collabcode.db import Database
from tests.chat.harness import ChatEnv, chat_env


@pytest.fixture
async def live(db: Database, tmp_path: Path) -> AsyncIterator[ChatEnv]:
    async with chat_env(db, tmp_path / "data", live=True) as running:
        yield running
