"""SQL of the per-user durable event stream, last-seen times and the invisible flag.

A feature that changes something a user must not miss appends an event for that user inside
the transaction of the change (:func:`append_events`): the user's cursor grows by one per event
in the same commit, so cursors are gap-free and ordered by commit. Replaying is reading the
events after a cursor; features render them into frames (see ``hub.EventsHub.add_renderer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from collabcode.db import Executor


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event to append: for ``user_id``, of ``kind``, about ``topic_id``/``item_id``/``actor_id``."""

    user_id: str
    kind: str
    topic_id: str | None = None
    item_id: str | None = None
    actor_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    user_id: str
    cursor: int
    kind: str
    topic_id: str | None
    item_id: str | None
    actor_id: str | None
    created_at: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StoredEvent:
        return cls(
            user_id=str(row["user_id"]),
            cursor=int(row["cursor"]),
            kind=str(row["kind"]),
            topic_id=row["topic_id"],
            item_id=row["item_id"],
            actor_id=row["actor_id"],
            created_at=int(row["created_at"]),
        )


async def append_events(tx: Executor, events: Sequence[NewEvent], *, now: int) -> list[StoredEvent]:
    """Number and store ``events`` (call inside the change's transaction); returns them numbered.

    Two statements whatever the number of events: one upsert moves every user's cursor (rows
    in user id order, so transactions touching the same users never deadlock), one insert
    stores the events.
    """
    if not events:
        return []
    counts: dict[str, int] = {}
    for event in events:
        counts[event.user_id] = counts.get(event.user_id, 0) + 1
    users = sorted(counts)
    params: list[Any] = []
    for user_id in users:
        params += [user_id, counts[user_id]]
    rows = await tx.fetch_all(
        "INSERT INTO realtime_users (user_id, cursor) VALUES "  # noqa: S608
        + ", ".join(["(?, CAST(? AS BIGINT))"] * len(users))
        + " ON CONFLICT (user_id) DO UPDATE SET cursor = realtime_users.cursor + excluded.cursor "
        "RETURNING user_id, cursor",
        params,
    )
    last = {str(row["user_id"]): int(row["cursor"]) for row in rows}
    following = {user_id: last[user_id] - counts[user_id] + 1 for user_id in users}
    stored: list[StoredEvent] = []
    for event in events:
        cursor = following[event.user_id]
        following[event.user_id] = cursor + 1
        stored.append(
            StoredEvent(event.user_id, cursor, event.kind, event.topic_id, event.item_id, event.actor_id, now)
        )
    for start in range(0, len(stored), 1000):
        chunk = stored[start : start + 1000]
        values: list[Any] = []
        for e in chunk:
            values += [e.user_id, e.cursor, e.kind, e.topic_id, e.item_id, e.actor_id, now]
        await tx.execute(
            "INSERT INTO user_events (user_id, cursor, kind, topic_id, item_id, actor_id, created_at) VALUES "  # noqa: S608
            + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
            values,
        )
    return stored


async def events_after(db: Executor, user_id: str, cursor: int, limit: int) -> list[StoredEvent]:
    rows = await db.fetch_all(
        "SELECT user_id, cursor, kind, topic_id, item_id, actor_id, created_at FROM user_events "
        "WHERE user_id = ? AND cursor > ? ORDER BY cursor LIMIT ?",
        (user_id, cursor, limit),
    )
    return [StoredEvent.from_row(row) for row in rows]


async def current_cursor(db: Executor, user_id: str) -> int:
    value = await db.fetch_val("SELECT cursor FROM realtime_users WHERE user_id = ?", (user_id,))
    return int(value or 0)


async def ensure_user(db: Executor, user_id: str) -> None:
    await db.execute(
        "INSERT INTO realtime_users (user_id) VALUES (?) ON CONFLICT (user_id) DO NOTHING",
        (user_id,),
    )


async def set_last_seen(db: Executor, user_id: str, at: int) -> None:
    await db.execute("UPDATE realtime_users SET last_seen_at = ? WHERE user_id = ?", (at, user_id))


async def set_invisible(db: Executor, user_id: str, invisible: bool) -> None:
    await db.execute(
        "INSERT INTO realtime_users (user_id, invisible) VALUES (?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET invisible = excluded.invisible",
        (user_id, int(invisible)),
    )


@dataclass(frozen=True, slots=True)
class PresencePrefs:
    invisible: bool
    last_seen_at: int | None


async def presence_prefs(db: Executor, user_ids: Sequence[str]) -> dict[str, PresencePrefs]:
    """Invisible flag and last-seen time per user (users without a row: visible, never seen)."""
    result: dict[str, PresencePrefs] = {}
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = await db.fetch_all(
            f"SELECT user_id, invisible, last_seen_at FROM realtime_users WHERE user_id IN ({marks})",  # noqa: S608
            chunk,
        )
        for row in rows:
            seen = row["last_seen_at"]
            result[str(row["user_id"])] = PresencePrefs(int(row["invisible"]) == 1, None if seen is None else int(seen))
    return result


async def prune_events(db: Executor, before: int, limit: int = 10_000) -> int:
    """Delete events older than ``before`` (ms), at most ``limit`` per call."""
    return await db.execute(
        "DELETE FROM user_events WHERE (user_id, cursor) IN "
        "(SELECT user_id, cursor FROM user_events WHERE created_at < ? LIMIT ?)",
        (before, limit),
    )
