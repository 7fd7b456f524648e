"""SQL of calls, their participants and who is busy; nothing else.

Functions take an :class:`~collabcode.db.Executor`, so they run on the database or inside a
transaction. Lock order: the call row first (:func:`lock_call`), then participants, then
``call_busy`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from collabcode.db import Executor

LIVE_STATES = ("ringing", "active")


@dataclass(frozen=True, slots=True)
class CallRow:
    id: str
    kind: str
    media: str
    caller_id: str
    conversation_id: str | None
    workspace_id: str | None
    state: str
    version: int
    created_at: int
    ring_until: int
    answered_at: int | None
    ended_at: int | None
    end_reason: str | None

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CallRow:
        return cls(
            id=str(row["id"]),
            kind=str(row["kind"]),
            media=str(row["media"]),
            caller_id=str(row["caller_id"]),
            conversation_id=None if row["conversation_id"] is None else str(row["conversation_id"]),
            workspace_id=None if row["workspace_id"] is None else str(row["workspace_id"]),
            state=str(row["state"]),
            version=int(row["version"]),
            created_at=int(row["created_at"]),
            ring_until=int(row["ring_until"]),
            answered_at=None if row["answered_at"] is None else int(row["answered_at"]),
            ended_at=None if row["ended_at"] is None else int(row["ended_at"]),
            end_reason=None if row["end_reason"] is None else str(row["end_reason"]),
        )


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    call_id: str
    user_id: str
    username: str
    display_name: str
    role: str
    state: str
    invited_at: int
    joined_at: int | None
    left_at: int | None


_CALL_COLUMNS = (
    "id, kind, media, caller_id, conversation_id, workspace_id, state, version, created_at, ring_until, "
    "answered_at, ended_at, end_reason"
)


async def insert_call(ex: Executor, call: CallRow, live_key: str) -> bool:
    """Store a new call; False when a live call with ``live_key`` exists already."""
    changed = await ex.execute(
        f"INSERT INTO calls ({_CALL_COLUMNS}, live_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "  # noqa: S608
        "ON CONFLICT (live_key) DO NOTHING",
        (
            call.id,
            call.kind,
            call.media,
            call.caller_id,
            call.conversation_id,
            call.workspace_id,
            call.state,
            call.version,
            call.created_at,
            call.ring_until,
            call.answered_at,
            call.ended_at,
            call.end_reason,
            live_key,
        ),
    )
    return changed > 0


async def get_call(ex: Executor, call_id: str) -> CallRow | None:
    row = await ex.fetch_one(f"SELECT {_CALL_COLUMNS} FROM calls WHERE id = ?", (call_id,))  # noqa: S608
    return None if row is None else CallRow.from_row(row)


async def live_call_by_key(ex: Executor, live_key: str) -> CallRow | None:
    row = await ex.fetch_one(f"SELECT {_CALL_COLUMNS} FROM calls WHERE live_key = ?", (live_key,))  # noqa: S608
    return None if row is None else CallRow.from_row(row)


async def lock_call(ex: Executor, call_id: str) -> CallRow | None:
    """Take the call's row lock (bump its version); None when the call is unknown or ended."""
    changed = await ex.execute(
        "UPDATE calls SET version = version + 1 WHERE id = ? AND state IN ('ringing', 'active')", (call_id,)
    )
    if changed == 0:
        return None
    return await get_call(ex, call_id)


async def set_call_state(
    ex: Executor, call_id: str, state: str, *, answered_at: int | None = None, now: int, reason: str | None = None
) -> None:
    if state == "ended":
        await ex.execute(
            "UPDATE calls SET state = 'ended', live_key = NULL, ended_at = ?, end_reason = ? WHERE id = ?",
            (now, reason, call_id),
        )
        await ex.execute("DELETE FROM call_busy WHERE call_id = ?", (call_id,))
        await ex.execute(
            "UPDATE call_participants SET state = CASE WHEN state = 'ringing' THEN 'missed' ELSE 'left' END, "
            "left_at = ? WHERE call_id = ? AND state IN ('ringing', 'joined')",
            (now, call_id),
        )
    else:
        await ex.execute(
            "UPDATE calls SET state = ?, answered_at = COALESCE(answered_at, ?) WHERE id = ?",
            (state, answered_at, call_id),
        )


async def live_calls(ex: Executor, limit: int = 10_000) -> list[CallRow]:
    rows = await ex.fetch_all(
        f"SELECT {_CALL_COLUMNS} FROM calls WHERE state IN ('ringing', 'active') LIMIT ?",  # noqa: S608
        (limit,),
    )
    return [CallRow.from_row(r) for r in rows]


# -- participants ---------------------------------------------------------------------------------


async def insert_participants(ex: Executor, call_id: str, rows: Sequence[tuple[str, str, str]], now: int) -> None:
    """``rows``: (user id, role, state); a joined participant's joined_at is ``now``."""
    await ex.execute_many(
        "INSERT INTO call_participants (call_id, user_id, role, state, invited_at, joined_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (call_id, user_id) DO NOTHING",
        [(call_id, user_id, role, state, now, now if state == "joined" else None) for user_id, role, state in rows],
    )


async def participants(ex: Executor, call_ids: Sequence[str]) -> dict[str, list[ParticipantRow]]:
    if not call_ids:
        return {}
    marks = ", ".join("?" * len(call_ids))
    rows = await ex.fetch_all(
        "SELECT p.call_id AS call_id, p.user_id AS user_id, u.username AS username, u.display_name AS display_name, "  # noqa: S608
        "p.role AS role, p.state AS state, p.invited_at AS invited_at, p.joined_at AS joined_at, p.left_at AS left_at "
        f"FROM call_participants p JOIN users u ON u.id = p.user_id WHERE p.call_id IN ({marks}) "
        "ORDER BY p.invited_at, p.user_id",
        list(call_ids),
    )
    out: dict[str, list[ParticipantRow]] = {call_id: [] for call_id in call_ids}
    for r in rows:
        out[str(r["call_id"])].append(
            ParticipantRow(
                call_id=str(r["call_id"]),
                user_id=str(r["user_id"]),
                username=str(r["username"]),
                display_name=str(r["display_name"]),
                role=str(r["role"]),
                state=str(r["state"]),
                invited_at=int(r["invited_at"]),
                joined_at=None if r["joined_at"] is None else int(r["joined_at"]),
                left_at=None if r["left_at"] is None else int(r["left_at"]),
            )
        )
    return out


async def participant_state(ex: Executor, call_id: str, user_id: str) -> str | None:
    value = await ex.fetch_val(
        "SELECT state FROM call_participants WHERE call_id = ? AND user_id = ?", (call_id, user_id)
    )
    return None if value is None else str(value)


async def signal_states(ex: Executor, call_id: str, user_ids: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    """The call's state and the states of ``user_ids`` in it, in one read (the relay's check)."""
    marks = ", ".join("?" * len(user_ids))
    rows = await ex.fetch_all(
        "SELECT c.state AS call_state, p.user_id AS user_id, p.state AS state FROM calls c "  # noqa: S608
        "LEFT JOIN call_participants p ON p.call_id = c.id "
        f"AND p.user_id IN ({marks}) WHERE c.id = ?",
        [*user_ids, call_id],
    )
    if not rows:
        return None, {}
    states = {str(r["user_id"]): str(r["state"]) for r in rows if r["user_id"] is not None}
    return str(rows[0]["call_state"]), states


async def set_participant(ex: Executor, call_id: str, user_id: str, state: str, now: int) -> None:
    if state == "joined":
        await ex.execute(
            "UPDATE call_participants SET state = 'joined', joined_at = ?, left_at = NULL "
            "WHERE call_id = ? AND user_id = ?",
            (now, call_id, user_id),
        )
    else:
        await ex.execute(
            "UPDATE call_participants SET state = ?, left_at = ? WHERE call_id = ? AND user_id = ?",
            (state, now, call_id, user_id),
        )


async def expire_ringing(ex: Executor, call_id: str, now: int) -> int:
    return await ex.execute(
        "UPDATE call_participants SET state = 'missed', left_at = ? WHERE call_id = ? AND state = 'ringing'",
        (now, call_id),
    )


# -- busy -------------------------------------------------------------------------------------------


async def take_busy(ex: Executor, user_id: str, call_id: str) -> bool:
    """Mark ``user_id`` as in ``call_id``; False when they are in another call."""
    changed = await ex.execute(
        "INSERT INTO call_busy (user_id, call_id) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING", (user_id, call_id)
    )
    if changed > 0:
        return True
    current = await ex.fetch_val("SELECT call_id FROM call_busy WHERE user_id = ?", (user_id,))
    return str(current) == call_id


async def busy_call(ex: Executor, user_id: str) -> str | None:
    value = await ex.fetch_val("SELECT call_id FROM call_busy WHERE user_id = ?", (user_id,))
    return None if value is None else str(value)


async def release_busy(ex: Executor, user_id: str, call_id: str) -> None:
    await ex.execute("DELETE FROM call_busy WHERE user_id = ? AND call_id = ?", (user_id, call_id))


# -- history and access -------------------------------------------------------------------------------


async def history(
    ex: Executor,
    user_id: str,
    *,
    before: int | None,
    limit: int,
    conversation_id: str | None = None,
    workspace_id: str | None = None,
    live_only: bool = False,
) -> list[CallRow]:
    """Calls ``user_id`` took part in (or was rung for), newest first."""
    where = ["p.user_id = ?"]
    params: list[Any] = [user_id]
    if live_only:
        where.append("c.state IN ('ringing', 'active')")
    if before is not None:
        where.append("c.created_at < ?")
        params.append(before)
    if conversation_id is not None:
        where.append("c.conversation_id = ?")
        params.append(conversation_id)
    if workspace_id is not None:
        where.append("c.workspace_id = ?")
        params.append(workspace_id)
    params.append(limit)
    columns = ", ".join(f"c.{c.strip()} AS {c.strip()}" for c in _CALL_COLUMNS.split(","))
    rows = await ex.fetch_all(
        f"SELECT {columns} FROM calls c JOIN call_participants p ON p.call_id = c.id "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY c.created_at DESC, c.id DESC LIMIT ?",
        params,
    )
    return [CallRow.from_row(r) for r in rows]


async def user_by_username(ex: Executor, username: str) -> dict[str, Any] | None:
    return await ex.fetch_one(
        "SELECT id, username, display_name, disabled, email_verified FROM users WHERE username = ?", (username,)
    )


async def share_workspace(ex: Executor, user_a: str, user_b: str) -> bool:
    value = await ex.fetch_val(
        "SELECT COUNT(*) FROM workspace_members a JOIN workspace_members b ON a.workspace_id = b.workspace_id "
        "WHERE a.user_id = ? AND b.user_id = ?",
        (user_a, user_b),
    )
    return int(value or 0) > 0


async def workspace_member_ids(ex: Executor, workspace_id: str) -> list[str]:
    rows = await ex.fetch_all(
        "SELECT m.user_id AS user_id FROM workspace_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.workspace_id = ? AND u.disabled = 0 ORDER BY m.user_id",
        (workspace_id,),
    )
    return [str(r["user_id"]) for r in rows]


async def is_workspace_member(ex: Executor, workspace_id: str, user_id: str) -> bool:
    value = await ex.fetch_val(
        "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = ? AND user_id = ?", (workspace_id, user_id)
    )
    return int(value or 0) > 0


async def blocked_among(ex: Executor, user_id: str, others: Sequence[str]) -> set[str]:
    """The people in ``others`` with a block either way between them and ``user_id``."""
    if not others:
        return set()
    marks = ", ".join("?" * len(others))
    rows = await ex.fetch_all(
        f"SELECT blocker_id, blocked_id FROM chat_blocks WHERE (blocker_id = ? AND blocked_id IN ({marks})) "  # noqa: S608
        f"OR (blocked_id = ? AND blocker_id IN ({marks}))",
        [user_id, *others, user_id, *others],
    )
    out: set[str] = set()
    for r in rows:
        out.add(str(r["blocked_id"]) if r["blocker_id"] == user_id else str(r["blocker_id"]))
    return out
