"""The workspaces SQL, and nothing else. Every function takes an Executor (database or transaction).

Paths arrive here already normalised (``paths.normalize_path``) with their case-folded key.
Subtrees are selected with ``substr``, which counts characters on both databases, so a folder's
descendants are the rows whose key starts with the folder's key followed by ``/``.
"""

from __future__ import annotations

from collections.abc import Sequence

from collabcode.db import Executor, Row

# -- workspaces --------------------------------------------------------------------------------


async def insert_workspace(ex: Executor, *, workspace_id: str, name: str, created_by: str, now: int) -> None:
    await ex.execute(
        "INSERT INTO workspaces (id, name, created_by, created_at, updated_at, tree_version) VALUES (?, ?, ?, ?, ?, 0)",
        (workspace_id, name, created_by, now, now),
    )


async def workspace_for_member(ex: Executor, workspace_id: str, user_id: str) -> Row | None:
    """The workspace with the member's role, or None when it is missing or the user is no member."""
    return await ex.fetch_one(
        "SELECT w.id AS id, w.name AS name, w.created_at AS created_at, w.updated_at AS updated_at, "
        "w.tree_version AS tree_version, m.role AS role "
        "FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id "
        "WHERE w.id = ? AND m.user_id = ?",
        (workspace_id, user_id),
    )


async def workspaces_of_user(ex: Executor, user_id: str, *, limit: int) -> list[Row]:
    return await ex.fetch_all(
        "SELECT w.id AS id, w.name AS name, w.created_at AS created_at, w.updated_at AS updated_at, m.role AS role, "
        "(SELECT COUNT(*) FROM workspace_members c WHERE c.workspace_id = w.id) AS member_count "
        "FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id "
        "WHERE m.user_id = ? ORDER BY w.updated_at DESC, w.id LIMIT ?",
        (user_id, limit),
    )


async def count_memberships(ex: Executor, user_id: str) -> int:
    return int(await ex.fetch_val("SELECT COUNT(*) AS n FROM workspace_members WHERE user_id = ?", (user_id,)) or 0)


async def rename_workspace(ex: Executor, workspace_id: str, name: str, now: int) -> int:
    return await ex.execute("UPDATE workspaces SET name = ?, updated_at = ? WHERE id = ?", (name, now, workspace_id))


async def delete_workspace(ex: Executor, workspace_id: str) -> int:
    return await ex.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id,))


async def bump_tree_version(ex: Executor, workspace_id: str, now: int) -> int | None:
    """Lock the workspace row for this transaction and return its next tree version."""
    value = await ex.fetch_val(
        "UPDATE workspaces SET tree_version = tree_version + 1, updated_at = ? WHERE id = ? RETURNING tree_version",
        (now, workspace_id),
    )
    return None if value is None else int(value)


async def lock_workspace(ex: Executor, workspace_id: str, now: int) -> bool:
    """Lock the workspace row for this transaction (membership changes); False if it is gone."""
    return await ex.execute("UPDATE workspaces SET updated_at = ? WHERE id = ?", (now, workspace_id)) == 1


async def tree_version(ex: Executor, workspace_id: str) -> int:
    value = await ex.fetch_val("SELECT tree_version FROM workspaces WHERE id = ?", (workspace_id,))
    return int(value or 0)


# -- members -----------------------------------------------------------------------------------


async def member_role(ex: Executor, workspace_id: str, user_id: str) -> str | None:
    value = await ex.fetch_val(
        "SELECT role FROM workspace_members WHERE workspace_id = ? AND user_id = ?", (workspace_id, user_id)
    )
    return None if value is None else str(value)


async def list_members(ex: Executor, workspace_id: str) -> list[Row]:
    return await ex.fetch_all(
        "SELECT m.user_id AS user_id, m.role AS role, m.created_at AS added_at, u.username AS username, "
        "u.display_name AS display_name, u.avatar_color AS avatar_color "
        "FROM workspace_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.workspace_id = ? ORDER BY m.created_at, u.username",
        (workspace_id,),
    )


async def member(ex: Executor, workspace_id: str, user_id: str) -> Row | None:
    return await ex.fetch_one(
        "SELECT m.user_id AS user_id, m.role AS role, m.created_at AS added_at, u.username AS username, "
        "u.display_name AS display_name, u.avatar_color AS avatar_color "
        "FROM workspace_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.workspace_id = ? AND m.user_id = ?",
        (workspace_id, user_id),
    )


async def active_user_by_username(ex: Executor, username: str) -> Row | None:
    return await ex.fetch_one("SELECT id FROM users WHERE username = ? AND disabled = 0", (username,))


async def insert_member(ex: Executor, workspace_id: str, user_id: str, role: str, now: int) -> bool:
    """Add a member; False when the user already is one."""
    changed = await ex.execute(
        "INSERT INTO workspace_members (workspace_id, user_id, role, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (workspace_id, user_id) DO NOTHING",
        (workspace_id, user_id, role, now, now),
    )
    return changed == 1


async def set_member_role(ex: Executor, workspace_id: str, user_id: str, role: str, now: int) -> int:
    return await ex.execute(
        "UPDATE workspace_members SET role = ?, updated_at = ? WHERE workspace_id = ? AND user_id = ?",
        (role, now, workspace_id, user_id),
    )


async def delete_member(ex: Executor, workspace_id: str, user_id: str) -> int:
    return await ex.execute(
        "DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?", (workspace_id, user_id)
    )


async def count_members(ex: Executor, workspace_id: str) -> int:
    value = await ex.fetch_val("SELECT COUNT(*) AS n FROM workspace_members WHERE workspace_id = ?", (workspace_id,))
    return int(value or 0)


async def count_owners(ex: Executor, workspace_id: str) -> int:
    value = await ex.fetch_val(
        "SELECT COUNT(*) AS n FROM workspace_members WHERE workspace_id = ? AND role = 'owner'", (workspace_id,)
    )
    return int(value or 0)


async def count_owned(ex: Executor, user_id: str) -> int:
    value = await ex.fetch_val(
        "SELECT COUNT(*) AS n FROM workspace_members WHERE user_id = ? AND role = 'owner'", (user_id,)
    )
    return int(value or 0)


async def file_access(ex: Executor, workspace_id: str, file_id: str, user_id: str) -> str | None:
    """The user's role in the workspace, if ``file_id`` is a file of that workspace."""
    value = await ex.fetch_val(
        "SELECT m.role AS role FROM workspace_files f "
        "JOIN workspace_members m ON m.workspace_id = f.workspace_id AND m.user_id = ? "
        "WHERE f.id = ? AND f.workspace_id = ? AND f.kind = 'file'",
        (user_id, file_id, workspace_id),
    )
    return None if value is None else str(value)


# -- files and folders -------------------------------------------------------------------------


async def list_entries(ex: Executor, workspace_id: str) -> list[Row]:
    return await ex.fetch_all(
        "SELECT id, workspace_id, path, path_key, kind, size, created_at, updated_at FROM workspace_files "
        "WHERE workspace_id = ?",
        (workspace_id,),
    )


async def list_file_ids(ex: Executor, workspace_id: str) -> list[str]:
    rows = await ex.fetch_all(
        "SELECT id FROM workspace_files WHERE workspace_id = ? AND kind = 'file'", (workspace_id,)
    )
    return [str(row["id"]) for row in rows]


async def entry(ex: Executor, workspace_id: str, entry_id: str) -> Row | None:
    """The entry ``entry_id`` if it belongs to ``workspace_id`` (path-pair check in the query)."""
    return await ex.fetch_one(
        "SELECT id, workspace_id, path, path_key, kind, size, created_at, updated_at FROM workspace_files "
        "WHERE id = ? AND workspace_id = ?",
        (entry_id, workspace_id),
    )


async def entries_by_keys(ex: Executor, workspace_id: str, keys: Sequence[str]) -> list[Row]:
    if not keys:
        return []
    marks = ", ".join("?" for _ in keys)  # only placeholders are interpolated, never values
    return await ex.fetch_all(
        "SELECT id, workspace_id, path, path_key, kind, size, created_at, updated_at FROM workspace_files "  # noqa: S608
        f"WHERE workspace_id = ? AND path_key IN ({marks})",
        (workspace_id, *keys),
    )


async def count_entries(ex: Executor, workspace_id: str) -> int:
    value = await ex.fetch_val("SELECT COUNT(*) AS n FROM workspace_files WHERE workspace_id = ?", (workspace_id,))
    return int(value or 0)


async def insert_entries(ex: Executor, rows: Sequence[tuple[str, str, str, str, str, int, str, int]]) -> None:
    """Insert ``(id, workspace_id, path, path_key, kind, size, created_by, now)`` rows, all or nothing."""
    await ex.execute_many(
        "INSERT INTO workspace_files "
        "(id, workspace_id, path, path_key, kind, size, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, row[7]) for row in rows],
    )


def _subtree_params(workspace_id: str, key: str) -> tuple[str, str, int, str]:
    """Parameters of ``workspace_id = ? AND (path_key = ? OR substr(path_key, 1, ?) = ?)``."""
    prefix = key + "/"
    return workspace_id, key, len(prefix), prefix


async def subtree(ex: Executor, workspace_id: str, key: str) -> list[Row]:
    """The entry with ``key`` and everything below it."""
    return await ex.fetch_all(
        "SELECT id, workspace_id, path, path_key, kind, size, created_at, updated_at FROM workspace_files "
        "WHERE workspace_id = ? AND (path_key = ? OR substr(path_key, 1, ?) = ?)",
        _subtree_params(workspace_id, key),
    )


async def move_subtree(
    ex: Executor, workspace_id: str, *, old_path: str, old_key: str, new_path: str, new_key: str, now: int
) -> int:
    """Re-root the entry ``old_key`` and its descendants at ``new_path`` in one statement."""
    return await ex.execute(
        "UPDATE workspace_files SET path = CAST(? AS TEXT) || substr(path, ?), "
        "path_key = CAST(? AS TEXT) || substr(path_key, ?), updated_at = ? "
        "WHERE workspace_id = ? AND (path_key = ? OR substr(path_key, 1, ?) = ?)",
        (new_path, len(old_path) + 1, new_key, len(old_key) + 1, now, *_subtree_params(workspace_id, old_key)),
    )


async def delete_subtree(ex: Executor, workspace_id: str, key: str) -> list[Row]:
    return await ex.fetch_all(
        "DELETE FROM workspace_files WHERE workspace_id = ? AND (path_key = ? OR substr(path_key, 1, ?) = ?) "
        "RETURNING id, path, kind",
        _subtree_params(workspace_id, key),
    )


async def set_file_size(ex: Executor, workspace_id: str, file_id: str, size: int, now: int) -> int:
    return await ex.execute(
        "UPDATE workspace_files SET size = ?, updated_at = ? WHERE id = ? AND workspace_id = ? AND kind = 'file'",
        (size, now, file_id, workspace_id),
    )
