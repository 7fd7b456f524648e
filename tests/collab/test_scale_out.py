"""Two server processes on one PostgreSQL database and one Redis: clients on different processes
edit one document and converge, and a Redis stop/start in the middle of typing loses nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from collabcode.collab.sql_store import SqlDocumentStore
from collabcode.db import open_database
from tests.collab import text_of
from tests.collab.live import YClient, joined
from tests.collab.processes import socket_url, start_app_process
from tests.fixtures_bus import RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def stored_text(database_url: str, doc_id: str, expected: str, timeout: float = 10.0) -> str:
    """What PostgreSQL holds for ``doc_id``, once it reads ``expected`` (or at the deadline)."""
    db = open_database(database_url, pool_size=1)
    await db.connect()
    try:
        store = SqlDocumentStore(db)
        deadline = time.monotonic() + timeout
        while True:
            text = text_of(await store.load(doc_id))
            if text == expected or time.monotonic() > deadline:
                return text
            await asyncio.sleep(0.05)
    finally:
        await db.close()


async def test_two_processes_converge_and_survive_a_redis_restart(
    tmp_path: Path, fresh_postgres_url: str, redis_server: RedisServer
) -> None:
    args = ("--database-url", fresh_postgres_url, "--redis-url", redis_server.url)
    one, two = await asyncio.gather(
        asyncio.to_thread(start_app_process, tmp_path / "one" / "data", *args),
        asyncio.to_thread(start_app_process, tmp_path / "two" / "data", *args),
    )
    try:
        alice = await joined("alice", socket_url(one, "alice"))
        bob = await joined("bob", socket_url(two, "bob"))
        alice.type("alice on one. ")
        await bob.wait_text("alice on one. ")
        bob.type("bob on two. ")
        await alice.wait_text("alice on one. bob on two. ")
        await bob.wait_for(lambda: any(u.get("id") == "alice" for u in bob.remote_users()), "presence across")

        # Redis goes away while both keep typing, then comes back.
        await asyncio.to_thread(redis_server.stop)
        for i in range(10):
            (alice if i % 2 else bob).type(f"[{i}]")
            await asyncio.sleep(0.02)  # typing pace
        await asyncio.to_thread(redis_server.start)
        for i in range(10, 14):
            (alice if i % 2 else bob).type(f"[{i}]")
            await asyncio.sleep(0.02)

        def complete(client: YClient) -> bool:
            text = str(client.text)
            return all(f"[{i}]" in text for i in range(14))

        await alice.wait_for(lambda: complete(alice), "every edit on process one", timeout=20)
        await bob.wait_for(lambda: complete(bob), "every edit on process two", timeout=20)
        await bob.wait_text(str(alice.text))
        final = str(alice.text)
        assert await stored_text(fresh_postgres_url, "ws1/file1", final) == final
        await alice.close()
        await bob.close()
    finally:
        one.stop()
        two.stop()
