"""File history on the real store (SQLite and PostgreSQL): every version rebuilt, retention, checkpoints."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any, cast

from collabcode.clock import FakeClock, now_ms
from collabcode.collab.rooms import RoomManager
from collabcode.collab.sql_store import SqlDocumentStore
from collabcode.db import Database
from collabcode.history import replay
from collabcode.history import store as history_store
from collabcode.history.feature import HistoryUpkeep
from collabcode.history.service import HistoryLimits, HistoryService
from tests.collab import SimClient, pump

DOC = "w1/f1"


def _edit(client: SimClient, rng: random.Random, step: int) -> None:
    """A random insert or delete, the way a person types: mostly small inserts."""
    text = client.text
    size = len(str(text).encode("utf-8"))
    if size > 20 and rng.random() < 0.3:
        start = rng.randrange(0, size - 5)
        del text[start : start + rng.randint(1, 5)]
        return
    # Insert on a character boundary: the texts are ASCII plus the odd "é" (two bytes).
    current = str(text)
    at = rng.randint(0, len(current))
    text.insert(len(current[:at].encode("utf-8")), rng.choice(["a", "b ", "\n", f"{step}", "é", "def f():\n"]))


async def _two_users_edit(db: Database, edits: int, clock: FakeClock) -> tuple[RoomManager, dict[int, tuple[str, str]]]:
    """Alice and Bob edit one document; returns the manager and, per version, (text, author)."""
    store = SqlDocumentStore(db, clock=clock, window_seconds=0)
    # Compact the update log often: history must not depend on it.
    manager = RoomManager(store, clock=clock, compact_every=25)
    alice, bob = SimClient("alice", user_id="user-alice"), SimClient("bob", user_id="user-bob")
    room = await manager.join(DOC, alice)
    await manager.join(DOC, bob)
    alice.connect()
    bob.connect()
    pump(room, alice, bob)
    rng = random.Random(1234)
    expected: dict[int, tuple[str, str]] = {}
    for step in range(edits):
        client = alice if rng.random() < 0.5 else bob
        _edit(client, rng, step)
        pump(room, alice, bob)
        await manager.flush(DOC)
        head = await history_store.head(db, DOC)
        assert head is not None
        expected[head[0]] = (room.text, client.user_id)
        clock.advance(1)
    assert str(alice.text) == str(bob.text) == room.text
    return manager, expected


async def test_every_version_of_1000_edits_by_two_users_is_rebuilt(db: Database) -> None:
    clock = FakeClock()
    manager, expected = await _two_users_edit(db, 1000, clock)
    assert len(expected) == 1000  # one stored version per edit

    rows = await history_store.history_rows(db, DOC)
    rebuilt = dict(replay.texts_by_version(rows))
    assert rebuilt.keys() == expected.keys()
    for version, (text, _) in expected.items():
        assert rebuilt[version] == text, f"version {version}"
    # Each version is credited to the user whose connection made it.
    for row in rows:
        assert row["author_id"] == expected[int(row["seq"])][1]
        assert row["via"] is None
    # A version read on its own (what GET …/history/{version} does) matches too.
    for version in (1, 2, 250, 777, 1000):
        upto = [r for r in rows if int(r["seq"]) <= version]
        assert replay.text_of(replay.merge_rows(upto)) == expected[version][0]
    # The update log itself was compacted into a snapshot many times meanwhile.
    assert int(await db.fetch_val("SELECT COUNT(*) FROM doc_updates WHERE doc_id = ?", (DOC,))) < 25
    await manager.close()


def _service(db: Database, clock: FakeClock, *, retention_days: int = 30, idle: int = 120) -> HistoryService:
    return HistoryService(
        db=db,
        clock=clock,
        collab=cast(Any, None),  # upkeep does not touch live documents
        hub=None,
        limits=HistoryLimits(retention_days=retention_days, idle_checkpoint_seconds=idle),
        trailer_host="example.com",
    )


async def test_an_idle_file_gets_one_automatic_checkpoint(db: Database) -> None:
    clock = FakeClock()
    manager, expected = await _two_users_edit(db, 10, clock)
    head = max(expected)
    service = _service(db, clock)
    start = now_ms(clock) - 3_600_000
    # Not idle long enough yet: nothing.
    assert await service.checkpoint_idle(start, now_ms(clock) + 60_000) == 0
    assert await service.checkpoint_idle(start, now_ms(clock) + 121_000) == 1
    # Another sweep (or another process) adds nothing more for the same version.
    assert await service.checkpoint_idle(start, now_ms(clock) + 200_000) == 0
    marks = await history_store.checkpoints(db, DOC)
    assert [(int(m["seq"]), m["name"]) for m in marks] == [(head, "")]
    await manager.close()


async def test_retention_keeps_checkpointed_versions_and_recent_changes(db: Database) -> None:
    clock = FakeClock()
    manager, expected = await _two_users_edit(db, 60, clock)
    versions = sorted(expected)
    # Named checkpoints at versions 10 and 30; changes after 40 are recent (within retention).
    for seq in (versions[9], versions[29]):
        await history_store.add_checkpoint(
            db, checkpoint_id=f"c{seq:030d}", doc_id=DOC, seq=seq, name=f"v{seq}", user_id="user-alice", now=0
        )
    rows = await history_store.history_rows(db, DOC)
    cutoff_row = next(r for r in rows if int(r["seq"]) == versions[40])
    service = _service(db, clock, retention_days=1)
    now = int(cutoff_row["created_at"]) + 86_400_000
    assert await service.apply_retention(now) == 1
    assert await service.apply_retention(now) == 0  # nothing left to merge

    after = await history_store.history_rows(db, DOC)
    kept = {int(r["seq"]) for r in after}
    last_old = versions[39]
    # Old versions survive only where a checkpoint is (the newest old one got an automatic one).
    assert {v for v in kept if v <= last_old} == {versions[9], versions[29], last_old}
    # Every recent version is still there, one by one.
    assert {v for v in kept if v > last_old} == {v for v in versions if v > last_old}
    rebuilt = dict(replay.texts_by_version(after))
    for version in kept:
        assert rebuilt[version] == expected[version][0], f"version {version}"
    merged = [r for r in after if int(r["seq"]) <= last_old]
    assert all(
        r["author_id"] is None and set(replay.Attribution.of(r).authors) <= {"user-alice", "user-bob"} for r in merged
    )
    # Authorship still covers every line (old lines are credited to the merged span's authors).
    text, lines = replay.attribute_lines(after)
    assert text == expected[versions[-1]][0]
    assert all(line.who is not None for line in lines if text.splitlines()[line.line - 1].strip())
    await manager.close()


async def test_changes_of_two_people_saved_together_keep_their_authors(db: Database) -> None:
    clock = FakeClock()
    store = SqlDocumentStore(db, clock=clock, window_seconds=0)
    manager = RoomManager(store, clock=clock)
    alice, bob = SimClient("alice", user_id="user-alice"), SimClient("bob", user_id="user-bob")
    room = await manager.join(DOC, alice)
    await manager.join(DOC, bob)
    alice.connect()
    bob.connect()
    pump(room, alice, bob)
    # No await in between: all three changes are pending when the save runs, so one stored update.
    alice.text.insert(0, "alice 1\n")
    pump(room, alice, bob)
    bob.text.insert(len(str(bob.text)), "bob 2\n")
    pump(room, alice, bob)
    alice.text.insert(len(str(alice.text)), "alice 3\n")
    pump(room, alice, bob)
    await manager.flush(DOC)
    rows = await history_store.history_rows(db, DOC)
    assert {int(r["seq"]) for r in rows} == {1}
    assert [(r["part"], r["author_id"]) for r in rows] == [(0, "user-alice"), (1, "user-bob"), (2, "user-alice")]
    text, lines = replay.attribute_lines(rows)
    assert text == "alice 1\nbob 2\nalice 3\n"
    assert [line.who.author_id if line.who else None for line in lines] == ["user-alice", "user-bob", "user-alice"]
    await manager.close()


async def test_a_document_stored_before_history_gets_a_starting_row(db: Database) -> None:
    clock = FakeClock()
    manager, expected = await _two_users_edit(db, 30, clock)
    await manager.close()
    # As if stored by a version without history: no rows at all.
    await db.execute("DELETE FROM doc_history WHERE doc_id = ?", (DOC,))
    store = SqlDocumentStore(db, clock=clock)
    service = HistoryService(
        db=db,
        clock=clock,
        collab=cast(Any, SimpleNamespace(store=store)),
        hub=None,
        limits=HistoryLimits(),
        trailer_host="example.com",
    )
    assert await service.backfill() == 1
    assert await service.backfill() == 0
    rows = await history_store.history_rows(db, DOC)
    head = max(expected)
    assert [(int(r["seq"]), r["author_id"], r["authors"]) for r in rows] == [(head, None, "[]")]
    assert dict(replay.texts_by_version(rows)) == {head: expected[head][0]}
    await store.close()


async def test_the_upkeep_sweep_checkpoints_each_pause_once(db: Database) -> None:
    clock = FakeClock()
    store = SqlDocumentStore(db, clock=clock, window_seconds=0)
    manager = RoomManager(store, clock=clock)
    alice = SimClient("alice", user_id="user-alice")
    room = await manager.join(DOC, alice)
    alice.connect()
    pump(room, alice)
    service = HistoryService(
        db=db,
        clock=clock,
        collab=cast(Any, SimpleNamespace(store=store)),
        hub=None,
        limits=HistoryLimits(idle_checkpoint_seconds=120),
        trailer_host="example.com",
    )
    upkeep = HistoryUpkeep(service)

    async def type_and_save(text: str) -> int:
        alice.text.insert(len(str(alice.text)), text)
        pump(room, alice)
        await manager.flush(DOC)
        head = await history_store.head(db, DOC)
        assert head is not None
        return head[0]

    first = await type_and_save("one\n")
    await upkeep.run_once()
    assert await history_store.checkpoints(db, DOC) == []  # still typing, as far as anyone knows
    clock.advance(121)
    await upkeep.run_once()
    await upkeep.run_once()
    assert [int(c["seq"]) for c in await history_store.checkpoints(db, DOC)] == [first]
    clock.advance(5)
    second = await type_and_save("two\n")
    clock.advance(60)
    await upkeep.run_once()
    clock.advance(61)
    await upkeep.run_once()
    assert [int(c["seq"]) for c in await history_store.checkpoints(db, DOC)] == [first, second]
    await manager.close()
