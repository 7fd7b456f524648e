"""SQL of profiles, follows, avatars, recent files, the activity log and live activity; nothing else.

Functions take an :class:`~collabcode.db.Executor`. Every query that lists people or workspaces
for a viewer carries its own access condition (membership, disabled accounts, blocks), so a
caller cannot forget it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from collabcode.db import Executor

Row = dict[str, Any]

_PERSON = "u.id AS id, u.username AS username, u.display_name AS display_name, u.avatar_color AS avatar_color"
_AVATAR = "(SELECT a.id FROM user_avatars a WHERE a.user_id = u.id) AS avatar_id"
#: No block in either direction between the row's user ``u`` and the parameter.
_NO_BLOCK = (
    "NOT EXISTS (SELECT 1 FROM chat_blocks b WHERE (b.blocker_id = u.id AND b.blocked_id = ?) "
    "OR (b.blocker_id = ? AND b.blocked_id = u.id))"
)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


# -- people ---------------------------------------------------------------------------------------


async def profile_row(db: Executor, username: str) -> Row | None:
    """An enabled account by username, with its avatar id and follow counts."""
    return await db.fetch_one(
        f"SELECT {_PERSON}, u.bio AS bio, u.created_at AS created_at, {_AVATAR}, "  # noqa: S608
        "(SELECT COUNT(*) FROM follows f WHERE f.followee_id = u.id) AS followers_count, "
        "(SELECT COUNT(*) FROM follows f WHERE f.follower_id = u.id) AS following_count "
        "FROM users u WHERE u.username = ? AND u.disabled = 0",
        (username,),
    )


async def people(db: Executor, user_ids: Sequence[str]) -> dict[str, Row]:
    if not user_ids:
        return {}
    sql = f"SELECT {_PERSON}, {_AVATAR} FROM users u WHERE u.id IN ({_marks(user_ids)})"  # noqa: S608
    rows = await db.fetch_all(sql, user_ids)
    return {str(row["id"]): row for row in rows}


async def block_state(db: Executor, viewer_id: str, other_id: str) -> tuple[bool, bool]:
    """(viewer blocked other, other blocked viewer)."""
    rows = await db.fetch_all(
        "SELECT blocker_id FROM chat_blocks WHERE (blocker_id = ? AND blocked_id = ?) "
        "OR (blocker_id = ? AND blocked_id = ?)",
        (viewer_id, other_id, other_id, viewer_id),
    )
    blockers = {str(row["blocker_id"]) for row in rows}
    return viewer_id in blockers, other_id in blockers


async def shared_workspaces(db: Executor, user_a: str, user_b: str, *, limit: int) -> list[Row]:
    return await db.fetch_all(
        "SELECT w.id AS id, w.name AS name FROM workspace_members a "
        "JOIN workspace_members b ON b.workspace_id = a.workspace_id AND b.user_id = ? "
        "JOIN workspaces w ON w.id = a.workspace_id WHERE a.user_id = ? ORDER BY w.name, w.id LIMIT ?",
        (user_b, user_a, limit),
    )


async def co_members(db: Executor, user_id: str) -> set[str]:
    """Everyone who shares at least one workspace with ``user_id``."""
    rows = await db.fetch_all(
        "SELECT DISTINCT b.user_id AS user_id FROM workspace_members a "
        "JOIN workspace_members b ON b.workspace_id = a.workspace_id WHERE a.user_id = ? AND b.user_id <> ?",
        (user_id, user_id),
    )
    return {str(row["user_id"]) for row in rows}


# -- follows --------------------------------------------------------------------------------------


async def follow(db: Executor, follower_id: str, followee_id: str, now: int) -> bool:
    changed = await db.execute(
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (follower_id, followee_id) DO NOTHING",
        (follower_id, followee_id, now),
    )
    return changed > 0


async def unfollow(db: Executor, follower_id: str, followee_id: str) -> bool:
    changed = await db.execute(
        "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", (follower_id, followee_id)
    )
    return changed > 0


async def follow_flags(db: Executor, viewer_id: str, other_id: str) -> tuple[bool, bool]:
    """(viewer follows other, other follows viewer)."""
    rows = await db.fetch_all(
        "SELECT follower_id FROM follows WHERE (follower_id = ? AND followee_id = ?) "
        "OR (follower_id = ? AND followee_id = ?)",
        (viewer_id, other_id, other_id, viewer_id),
    )
    followers = {str(row["follower_id"]) for row in rows}
    return viewer_id in followers, other_id in followers


async def followers_count(db: Executor, user_id: str) -> int:
    return int(await db.fetch_val("SELECT COUNT(*) FROM follows WHERE followee_id = ?", (user_id,)) or 0)


async def followers_of(db: Executor, user_id: str) -> set[str]:
    rows = await db.fetch_all("SELECT follower_id FROM follows WHERE followee_id = ?", (user_id,))
    return {str(row["follower_id"]) for row in rows}


async def followed_by(db: Executor, user_id: str) -> set[str]:
    rows = await db.fetch_all("SELECT followee_id FROM follows WHERE follower_id = ?", (user_id,))
    return {str(row["followee_id"]) for row in rows}


async def follow_page(
    db: Executor, user_id: str, *, direction: str, before: tuple[int, str] | None, limit: int
) -> list[Row]:
    """People following ``user_id`` (``followers``) or followed by it (``following``), newest first.

    Disabled accounts and anyone with a block between them and ``user_id`` are left out.
    """
    own, other = ("followee_id", "follower_id") if direction == "followers" else ("follower_id", "followee_id")
    where = [f"f.{own} = ?", "u.disabled = 0", _NO_BLOCK]
    params: list[Any] = [user_id, user_id, user_id]
    if before is not None:
        where.append("(f.created_at < ? OR (f.created_at = ? AND u.id < ?))")
        params += [before[0], before[0], before[1]]
    params.append(limit)
    return await db.fetch_all(
        f"SELECT {_PERSON}, {_AVATAR}, f.created_at AS followed_at FROM follows f JOIN users u ON u.id = f.{other} "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY f.created_at DESC, u.id DESC LIMIT ?",
        params,
    )


async def following_people(db: Executor, user_id: str, *, limit: int) -> list[Row]:
    """Enabled people ``user_id`` follows, with no block either way (the dashboard's list)."""
    return await db.fetch_all(
        f"SELECT {_PERSON}, {_AVATAR} FROM follows f JOIN users u ON u.id = f.followee_id "  # noqa: S608
        f"WHERE f.follower_id = ? AND u.disabled = 0 AND {_NO_BLOCK} ORDER BY u.display_name, u.id LIMIT ?",
        (user_id, user_id, user_id, limit),
    )


# -- avatars --------------------------------------------------------------------------------------


async def save_avatar(
    db: Executor, user_id: str, avatar_id: str, content_type: str, width: int, height: int, data: bytes, now: int
) -> None:
    await db.execute(
        "INSERT INTO user_avatars (user_id, id, content_type, width, height, data, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, "
        "content_type = excluded.content_type, width = excluded.width, height = excluded.height, "
        "data = excluded.data, created_at = excluded.created_at",
        (user_id, avatar_id, content_type, width, height, data, now),
    )


async def delete_avatar(db: Executor, user_id: str) -> bool:
    return await db.execute("DELETE FROM user_avatars WHERE user_id = ?", (user_id,)) > 0


async def avatar_by_id(db: Executor, avatar_id: str) -> Row | None:
    return await db.fetch_one(
        "SELECT a.id AS id, a.content_type AS content_type, a.data AS data FROM user_avatars a "
        "JOIN users u ON u.id = a.user_id WHERE a.id = ? AND u.disabled = 0",
        (avatar_id,),
    )


async def avatar_of(db: Executor, user_id: str) -> Row | None:
    return await db.fetch_one(
        "SELECT id, content_type, data FROM user_avatars WHERE user_id = ?",
        (user_id,),
    )


# -- dashboard ------------------------------------------------------------------------------------


async def my_workspaces(db: Executor, user_id: str, *, limit: int) -> list[Row]:
    """The user's workspaces, most recently active first (a tree change or a logged event)."""
    return await db.fetch_all(
        "SELECT w.id AS id, w.name AS name, m.role AS role, w.updated_at AS updated_at, "
        "(SELECT MAX(a.created_at) FROM workspace_activity a WHERE a.workspace_id = w.id) AS last_event_at "
        "FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ? "
        "ORDER BY w.updated_at DESC, w.id LIMIT ?",
        (user_id, limit),
    )


async def co_member_rows(db: Executor, user_id: str, workspace_ids: Sequence[str]) -> list[Row]:
    """(workspace_id, person) for every other enabled member of the given workspaces of ``user_id``."""
    if not workspace_ids:
        return []
    return await db.fetch_all(
        f"SELECT b.workspace_id AS workspace_id, {_PERSON} FROM workspace_members a "  # noqa: S608
        "JOIN workspace_members b ON b.workspace_id = a.workspace_id AND b.user_id <> a.user_id "
        "JOIN users u ON u.id = b.user_id "
        f"WHERE a.user_id = ? AND u.disabled = 0 AND a.workspace_id IN ({_marks(workspace_ids)})",
        (user_id, *workspace_ids),
    )


async def record_open(db: Executor, user_id: str, workspace_id: str, file_id: str, now: int) -> bool:
    """Remember that ``user_id`` opened a file, if it is a file of a workspace they are in."""
    changed = await db.execute(
        "INSERT INTO recent_files (user_id, file_id, workspace_id, opened_at) "
        "SELECT ?, f.id, f.workspace_id, CAST(? AS BIGINT) FROM workspace_files f "
        "JOIN workspace_members m ON m.workspace_id = f.workspace_id AND m.user_id = ? "
        "WHERE f.id = ? AND f.workspace_id = ? AND f.kind = 'file' "
        "ON CONFLICT (user_id, file_id) DO UPDATE SET opened_at = excluded.opened_at",
        (user_id, now, user_id, file_id, workspace_id),
    )
    return changed > 0


async def recent_files(db: Executor, user_id: str, *, limit: int) -> list[Row]:
    """Recently opened files that still exist, in workspaces the user is still a member of."""
    return await db.fetch_all(
        "SELECT r.workspace_id AS workspace_id, w.name AS workspace_name, r.file_id AS file_id, f.path AS path, "
        "r.opened_at AS opened_at FROM recent_files r "
        "JOIN workspace_members m ON m.workspace_id = r.workspace_id AND m.user_id = r.user_id "
        "JOIN workspaces w ON w.id = r.workspace_id "
        "JOIN workspace_files f ON f.id = r.file_id AND f.workspace_id = r.workspace_id "
        "WHERE r.user_id = ? ORDER BY r.opened_at DESC, r.file_id LIMIT ?",
        (user_id, limit),
    )


async def trim_recent_files(db: Executor, user_id: str, keep: int) -> None:
    cutoff = await db.fetch_val(
        "SELECT opened_at FROM recent_files WHERE user_id = ? ORDER BY opened_at DESC LIMIT 1 OFFSET ?",
        (user_id, keep),
    )
    if cutoff is not None:
        await db.execute("DELETE FROM recent_files WHERE user_id = ? AND opened_at <= ?", (user_id, int(cutoff)))


# -- the activity log -----------------------------------------------------------------------------


async def insert_activity(db: Executor, rows: Sequence[tuple[str, str, str | None, str, str, int]]) -> None:
    """Rows of (id, workspace_id, actor_id, kind, data JSON, created_at)."""
    await db.execute_many(
        "INSERT INTO workspace_activity (id, workspace_id, actor_id, kind, data, created_at) "
        "SELECT ?, ?, ?, ?, ?, CAST(? AS BIGINT) WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = ?)",
        [(*row, row[1]) for row in rows],
    )


async def activity_page(db: Executor, user_id: str, *, before: tuple[int, str] | None, limit: int) -> list[Row]:
    """Events of the workspaces ``user_id`` is a member of now, newest first."""
    where = ["m.user_id = ?"]
    params: list[Any] = [user_id]
    if before is not None:
        where.append("(a.created_at < ? OR (a.created_at = ? AND a.id < ?))")
        params += [before[0], before[0], before[1]]
    params.append(limit)
    return await db.fetch_all(
        "SELECT a.id AS id, a.kind AS kind, a.workspace_id AS workspace_id, w.name AS workspace_name, "  # noqa: S608
        "a.data AS data, a.created_at AS created_at, u.username AS actor_username, "
        "u.display_name AS actor_display_name FROM workspace_activity a "
        "JOIN workspace_members m ON m.workspace_id = a.workspace_id "
        "JOIN workspaces w ON w.id = a.workspace_id LEFT JOIN users u ON u.id = a.actor_id "
        f"WHERE {' AND '.join(where)} ORDER BY a.created_at DESC, a.id DESC LIMIT ?",
        params,
    )


async def prune_activity(db: Executor, before: int) -> int:
    return await db.execute("DELETE FROM workspace_activity WHERE created_at < ?", (before,))


async def member_since(db: Executor, workspace_id: str, user_id: str) -> tuple[int, int] | None:
    row = await db.fetch_one(
        "SELECT created_at, updated_at FROM workspace_members WHERE workspace_id = ? AND user_id = ?",
        (workspace_id, user_id),
    )
    return None if row is None else (int(row["created_at"]), int(row["updated_at"]))


# -- live activity ----------------------------------------------------------------------------------


async def set_live(
    db: Executor, user_id: str, process_id: str, workspace_id: str, file_id: str, since: int, expires_at: int
) -> None:
    await db.execute(
        "INSERT INTO live_activity (user_id, process_id, workspace_id, file_id, since, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, process_id) DO UPDATE SET "
        "workspace_id = excluded.workspace_id, file_id = excluded.file_id, since = excluded.since, "
        "expires_at = excluded.expires_at",
        (user_id, process_id, workspace_id, file_id, since, expires_at),
    )


async def clear_live(db: Executor, process_id: str, user_ids: Sequence[str]) -> None:
    if user_ids:
        await db.execute(
            f"DELETE FROM live_activity WHERE process_id = ? AND user_id IN ({_marks(user_ids)})",  # noqa: S608
            (process_id, *user_ids),
        )


async def renew_live(db: Executor, process_id: str, expires_at: int) -> None:
    await db.execute("UPDATE live_activity SET expires_at = ? WHERE process_id = ?", (expires_at, process_id))


async def clear_process(db: Executor, process_id: str) -> None:
    await db.execute("DELETE FROM live_activity WHERE process_id = ?", (process_id,))


async def prune_live(db: Executor, now: int) -> int:
    return await db.execute("DELETE FROM live_activity WHERE expires_at <= ?", (now,))


async def live_for(db: Executor, viewer_id: str, user_ids: Sequence[str], now: int) -> list[Row]:
    """Live documents of ``user_ids``, only in workspaces ``viewer_id`` is a member of, newest first."""
    if not user_ids:
        return []
    return await db.fetch_all(
        "SELECT l.user_id AS user_id, l.workspace_id AS workspace_id, w.name AS workspace_name, "  # noqa: S608
        "l.file_id AS file_id, f.path AS path, l.since AS since FROM live_activity l "
        "JOIN workspace_members m ON m.workspace_id = l.workspace_id AND m.user_id = ? "
        "JOIN workspace_members o ON o.workspace_id = l.workspace_id AND o.user_id = l.user_id "
        "JOIN workspaces w ON w.id = l.workspace_id "
        "JOIN workspace_files f ON f.id = l.file_id AND f.workspace_id = l.workspace_id "
        f"WHERE l.user_id IN ({_marks(user_ids)}) AND l.expires_at > ? ORDER BY l.since DESC",
        (viewer_id, *user_ids, now),
    )
