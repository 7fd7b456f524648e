"""The per-user event stream: gap-free cursors in commit order, on both databases."""

from __future__ import annotations

import asyncio
import uuid

from collabcode.db import Database
from collabcode.realtime.store import NewEvent, append_events, current_cursor, events_after, prune_events


async def _user(db: Database) -> str:
    user_id = uuid.uuid4().hex
    await db.execute(
        "INSERT INTO users (id, email, username, display_name, avatar_color, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 0, 0)",
        (user_id, f"{user_id}@example.com", user_id[:20], "Someone", "#336699"),
    )
    return user_id


async def test_cursors_are_per_user_and_gap_free(db: Database) -> None:
    alice, bob = await _user(db), await _user(db)
    async with db.transaction("test") as tx:
        first = await append_events(
            tx,
            [
                NewEvent(alice, "message", "c1", "m1"),
                NewEvent(bob, "message", "c1", "m1"),
                NewEvent(alice, "receipt", "c1"),
            ],
            now=1000,
        )
    assert [(e.user_id, e.cursor) for e in first] == [(alice, 1), (bob, 1), (alice, 2)]
    assert await current_cursor(db, alice) == 2 and await current_cursor(db, bob) == 1
    assert [e.kind for e in await events_after(db, alice, 0, 10)] == ["message", "receipt"]
    assert [e.cursor for e in await events_after(db, alice, 1, 10)] == [2]


async def test_concurrent_appends_never_share_or_skip_a_cursor(db: Database) -> None:
    users = [await _user(db) for _ in range(3)]

    async def append(i: int) -> None:
        async with db.transaction("test") as tx:
            await append_events(tx, [NewEvent(users[i % 3], "x"), NewEvent(users[(i + 1) % 3], "x")], now=i)

    await asyncio.gather(*(append(i) for i in range(30)))
    for user_id in users:
        cursors = [e.cursor for e in await events_after(db, user_id, 0, 100)]
        assert cursors == list(range(1, 21))


async def test_a_rolled_back_append_leaves_no_gap(db: Database) -> None:
    alice = await _user(db)

    class Abort(Exception):
        pass

    try:
        async with db.transaction("test") as tx:
            await append_events(tx, [NewEvent(alice, "x")], now=1)
            raise Abort
    except Abort:
        pass
    async with db.transaction("test") as tx:
        again = await append_events(tx, [NewEvent(alice, "x")], now=2)
    assert again[0].cursor == 1


async def test_old_events_are_pruned(db: Database) -> None:
    alice = await _user(db)
    async with db.transaction("test") as tx:
        await append_events(tx, [NewEvent(alice, "old")], now=1000)
        await append_events(tx, [NewEvent(alice, "new")], now=5000)
    assert await prune_events(db, before=2000) == 1
    assert [e.kind for e in await events_after(db, alice, 0, 10)] == ["new"]
    assert await current_cursor(db, alice) == 2
