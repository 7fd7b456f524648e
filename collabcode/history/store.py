"""SQL of file history, checkpoints and anchored comments (tables of ``0009_history.sql``).

History rows are written by the collaboration group commit (``collab/sql_store.py``); this
module reads them, adds checkpoints and comments, and merges old rows at retention time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from collabcode.db import Executor, Row

#: One row of ``doc_history`` as read here (``data`` only when asked for).
HISTORY_COLUMNS = "seq, part, author_id, via, authors, created_at"


async def history_rows(ex: Executor, doc_id: str, *, upto: int | None = None, with_data: bool = True) -> list[Row]:
    """Every history row of a document (up to version ``upto``), oldest first."""
    columns = HISTORY_COLUMNS + (", data" if with_data else "")
    if upto is None:
        return await ex.fetch_all(
            f"SELECT {columns} FROM doc_history WHERE doc_id = ? ORDER BY seq, part",  # noqa: S608
            (doc_id,),
        )
    return await ex.fetch_all(
        f"SELECT {columns} FROM doc_history WHERE doc_id = ? AND seq <= ? ORDER BY seq, part",  # noqa: S608
        (doc_id, upto),
    )


async def versions_page(ex: Executor, doc_id: str, *, before: int | None, limit: int) -> list[Row]:
    """History rows (without data) of the newest ``limit`` versions older than ``before``."""
    bound = "" if before is None else " AND seq < ?"
    params: tuple[Any, ...] = (doc_id,) if before is None else (doc_id, before)
    seqs = await ex.fetch_all(
        f"SELECT DISTINCT seq AS seq FROM doc_history WHERE doc_id = ?{bound} ORDER BY seq DESC LIMIT ?",  # noqa: S608
        (*params, limit),
    )
    if not seqs:
        return []
    low, high = int(seqs[-1]["seq"]), int(seqs[0]["seq"])
    return await ex.fetch_all(
        f"SELECT {HISTORY_COLUMNS} FROM doc_history WHERE doc_id = ? AND seq >= ? AND seq <= ? "  # noqa: S608
        "ORDER BY seq DESC, part",
        (doc_id, low, high),
    )


async def head(ex: Executor, doc_id: str) -> tuple[int, int] | None:
    """(newest version, its time) of a document's history, or None when it has none."""
    row = await ex.fetch_one(
        "SELECT seq, created_at FROM doc_history WHERE doc_id = ? ORDER BY seq DESC, part DESC LIMIT 1",
        (doc_id,),
    )
    return None if row is None else (int(row["seq"]), int(row["created_at"]))


async def has_version(ex: Executor, doc_id: str, seq: int) -> bool:
    value = await ex.fetch_val("SELECT 1 FROM doc_history WHERE doc_id = ? AND seq = ? LIMIT 1", (doc_id, seq))
    return value is not None


# -- checkpoints -------------------------------------------------------------------------------


async def add_checkpoint(
    ex: Executor, *, checkpoint_id: str, doc_id: str, seq: int, name: str, user_id: str | None, now: int
) -> bool:
    """Add a checkpoint; False when the same name already marks that version."""
    changed = await ex.execute(
        "INSERT INTO doc_checkpoints (id, doc_id, seq, name, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (doc_id, seq, name) DO NOTHING",
        (checkpoint_id, doc_id, seq, name, user_id, now),
    )
    return changed == 1


async def checkpoints(ex: Executor, doc_id: str, *, low: int | None = None, high: int | None = None) -> list[Row]:
    """Checkpoints of a document (optionally of versions ``low..high``), oldest first."""
    sql = "SELECT id, seq, name, created_by, created_at FROM doc_checkpoints WHERE doc_id = ?"
    params: list[Any] = [doc_id]
    if low is not None and high is not None:
        sql += " AND seq >= ? AND seq <= ?"
        params += [low, high]
    return await ex.fetch_all(sql + " ORDER BY seq, created_at", params)


async def newest_checkpoints(ex: Executor, doc_id: str, limit: int) -> list[Row]:
    """The newest ``limit`` checkpoints of a document, newest first."""
    return await ex.fetch_all(
        "SELECT id, seq, name, created_by, created_at FROM doc_checkpoints WHERE doc_id = ? "
        "ORDER BY seq DESC, created_at DESC LIMIT ?",
        (doc_id, limit),
    )


async def latest_checkpoint_seq(ex: Executor, doc_id: str) -> int:
    value = await ex.fetch_val("SELECT MAX(seq) AS seq FROM doc_checkpoints WHERE doc_id = ?", (doc_id,))
    return 0 if value is None else int(value)


async def recently_edited(ex: Executor, since: int, until: int) -> list[Row]:
    """Documents with history rows made in ``[since, until)``: (doc_id, seq, at) of the newest."""
    return await ex.fetch_all(
        "SELECT doc_id AS doc_id, MAX(seq) AS seq, MAX(created_at) AS at FROM doc_history "
        "WHERE created_at >= ? AND created_at < ? GROUP BY doc_id",
        (since, until),
    )


# -- retention ---------------------------------------------------------------------------------


async def documents_with_old_rows(ex: Executor, cutoff: int, limit: int) -> list[str]:
    """Documents holding unmerged history rows older than ``cutoff``."""
    rows = await ex.fetch_all(
        "SELECT DISTINCT doc_id AS doc_id FROM doc_history WHERE created_at < ? AND authors IS NULL LIMIT ?",
        (cutoff, limit),
    )
    return [str(row["doc_id"]) for row in rows]


async def replace_span(
    ex: Executor, doc_id: str, low: int, high: int, *, data: bytes, authors: Sequence[str], at: int
) -> None:
    """Replace the history rows of versions ``low..high`` by one merged row at ``high``."""
    await ex.execute("DELETE FROM doc_history WHERE doc_id = ? AND seq >= ? AND seq <= ?", (doc_id, low, high))
    await ex.execute(
        "INSERT INTO doc_history (doc_id, seq, part, author_id, via, authors, created_at, data) "
        "VALUES (?, ?, 0, NULL, NULL, ?, ?, ?)",
        (doc_id, high, json.dumps(sorted(authors)), at, data),
    )


# -- contributors --------------------------------------------------------------------------------


def _scope(workspace_id: str, file_id: str | None) -> tuple[str, tuple[str, ...]]:
    """The ``doc_history`` condition for one file, or every file of a workspace (an id range)."""
    if file_id is None:
        return "doc_id >= ? AND doc_id < ?", (f"{workspace_id}/", f"{workspace_id}0")
    return "doc_id = ?", (f"{workspace_id}/{file_id}",)


async def contributions(ex: Executor, workspace_id: str, file_id: str | None) -> list[Row]:
    """Per author (and ``via``): how many stored changes, first and last time, in a workspace or file."""
    where, params = _scope(workspace_id, file_id)
    return await ex.fetch_all(
        "SELECT author_id AS author_id, via AS via, COUNT(*) AS changes, MIN(created_at) AS first_at, "  # noqa: S608
        f"MAX(created_at) AS last_at FROM doc_history WHERE {where} AND author_id IS NOT NULL "
        "GROUP BY author_id, via",
        params,
    )


async def merged_authors(ex: Executor, workspace_id: str, file_id: str | None) -> list[str]:
    """Authors recorded only in merged (retention-compacted) rows."""
    where, params = _scope(workspace_id, file_id)
    rows = await ex.fetch_all(
        f"SELECT authors AS authors FROM doc_history WHERE {where} AND authors IS NOT NULL",  # noqa: S608
        params,
    )
    found: set[str] = set()
    for row in rows:
        found.update(str(a) for a in json.loads(str(row["authors"])))
    return sorted(found)


async def users(ex: Executor, user_ids: Sequence[str]) -> dict[str, Row]:
    """id → (id, username, display_name, email) of the given users that exist."""
    if not user_ids:
        return {}
    marks = ", ".join("?" for _ in user_ids)
    rows = await ex.fetch_all(
        f"SELECT id, username, display_name, email, avatar_color FROM users WHERE id IN ({marks})",  # noqa: S608
        list(user_ids),
    )
    return {str(row["id"]): row for row in rows}


# -- comments ------------------------------------------------------------------------------------

COMMENT_COLUMNS = (
    "id, workspace_id, file_id, author_id, body, anchor_start, anchor_end, snippet, seq, resolved, "
    "resolved_by, created_at, updated_at"
)


async def add_comment(ex: Executor, values: dict[str, Any]) -> None:
    await ex.execute(
        "INSERT INTO doc_comments (id, workspace_id, file_id, author_id, body, anchor_start, anchor_end, snippet, "
        "seq, resolved, resolved_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)",
        (
            values["id"],
            values["workspace_id"],
            values["file_id"],
            values["author_id"],
            values["body"],
            values["anchor_start"],
            values["anchor_end"],
            values["snippet"],
            values["seq"],
            values["created_at"],
            values["created_at"],
        ),
    )


async def comments(ex: Executor, workspace_id: str, file_id: str, limit: int) -> list[Row]:
    return await ex.fetch_all(
        f"SELECT {COMMENT_COLUMNS} FROM doc_comments WHERE workspace_id = ? AND file_id = ? "  # noqa: S608
        "ORDER BY created_at, id LIMIT ?",
        (workspace_id, file_id, limit),
    )


async def comment(ex: Executor, workspace_id: str, file_id: str, comment_id: str) -> Row | None:
    return await ex.fetch_one(
        f"SELECT {COMMENT_COLUMNS} FROM doc_comments WHERE id = ? AND workspace_id = ? AND file_id = ?",  # noqa: S608
        (comment_id, workspace_id, file_id),
    )


async def count_comments(ex: Executor, workspace_id: str, file_id: str) -> int:
    value = await ex.fetch_val(
        "SELECT COUNT(*) FROM doc_comments WHERE workspace_id = ? AND file_id = ?", (workspace_id, file_id)
    )
    return int(value or 0)


async def set_resolved(ex: Executor, comment_id: str, resolved: bool, user_id: str | None, now: int) -> None:
    await ex.execute(
        "UPDATE doc_comments SET resolved = ?, resolved_by = ?, updated_at = ? WHERE id = ?",
        (int(resolved), user_id if resolved else None, now, comment_id),
    )
