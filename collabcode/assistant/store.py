"""SQL of the assistant: daily token usage and the per-workspace switch (migration 0007)."""

from __future__ import annotations

from collabcode.db import Executor


async def add_usage(ex: Executor, day: str, user_id: str, tokens: int, now: int) -> None:
    await ex.execute(
        "INSERT INTO ai_usage (day, user_id, requests, tokens, updated_at) VALUES (?, ?, 1, ?, ?) "
        "ON CONFLICT (day, user_id) DO UPDATE SET requests = ai_usage.requests + 1, "
        "tokens = ai_usage.tokens + excluded.tokens, updated_at = excluded.updated_at",
        (day, user_id, tokens, now),
    )


async def day_tokens(ex: Executor, day: str) -> int:
    value = await ex.fetch_val("SELECT COALESCE(SUM(tokens), 0) FROM ai_usage WHERE day = ?", (day,))
    return int(value or 0)


async def user_day(ex: Executor, day: str, user_id: str) -> tuple[int, int]:
    """(requests, tokens) of one user on one day."""
    row = await ex.fetch_one("SELECT requests, tokens FROM ai_usage WHERE day = ? AND user_id = ?", (day, user_id))
    return (int(row["requests"]), int(row["tokens"])) if row else (0, 0)


async def workspace_enabled(ex: Executor, workspace_id: str) -> bool:
    value = await ex.fetch_val("SELECT enabled FROM ai_workspace_settings WHERE workspace_id = ?", (workspace_id,))
    return value is None or bool(value)


async def set_workspace_enabled(ex: Executor, workspace_id: str, enabled: bool, user_id: str, now: int) -> None:
    await ex.execute(
        "INSERT INTO ai_workspace_settings (workspace_id, enabled, updated_by, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (workspace_id) DO UPDATE SET enabled = excluded.enabled, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        (workspace_id, 1 if enabled else 0, user_id, now),
    )


async def workspace_exists(ex: Executor, workspace_id: str) -> bool:
    return await ex.fetch_val("SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)) is not None
