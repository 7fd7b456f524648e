"""The accounts SQL, and nothing else. Every function takes an Executor (database or transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from collabcode.db import Executor, Row


def _sql(*parts: str) -> str:
    """Join constant SQL fragments (column lists and clauses written here, never client input)."""
    return " ".join(parts)


# -- users -------------------------------------------------------------------------------------

_USER_COLUMNS = (
    "id, email, username, display_name, bio, avatar_color, password_hash, role, email_verified, disabled, "
    "created_at, updated_at"
)


async def insert_user(
    ex: Executor,
    *,
    user_id: str,
    email: str,
    username: str,
    display_name: str,
    avatar_color: str,
    password_hash: str | None,
    role: str,
    email_verified: bool,
    now: int,
) -> None:
    await ex.execute(
        "INSERT INTO users (id, email, username, display_name, bio, avatar_color, password_hash, role, "
        "email_verified, disabled, created_at, updated_at, password_changed_at) "
        "VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, 0, ?, ?, ?)",
        (
            user_id,
            email,
            username,
            display_name,
            avatar_color,
            password_hash,
            role,
            int(email_verified),
            now,
            now,
            now if password_hash else None,
        ),
    )


async def user_by_id(ex: Executor, user_id: str) -> Row | None:
    return await ex.fetch_one(_sql("SELECT", _USER_COLUMNS, "FROM users WHERE id = ?"), (user_id,))


async def user_by_email(ex: Executor, email: str) -> Row | None:
    return await ex.fetch_one(_sql("SELECT", _USER_COLUMNS, "FROM users WHERE email = ?"), (email,))


async def user_by_username(ex: Executor, username: str) -> Row | None:
    return await ex.fetch_one(_sql("SELECT", _USER_COLUMNS, "FROM users WHERE username = ?"), (username,))


async def user_by_login(ex: Executor, key: str) -> Row | None:
    """The user whose (normalised) email or username is ``key``."""
    return await ex.fetch_one(_sql("SELECT", _USER_COLUMNS, "FROM users WHERE email = ? OR username = ?"), (key, key))


async def count_users(ex: Executor) -> int:
    return int(await ex.fetch_val("SELECT COUNT(*) AS n FROM users") or 0)


async def update_profile(ex: Executor, user_id: str, changes: dict[str, str], now: int) -> int:
    allowed = {"display_name", "bio", "avatar_color"}
    assert set(changes) <= allowed, "only profile columns may be updated here"
    if not changes:
        return 0
    columns = sorted(changes)
    assignments = ", ".join(f"{column} = ?" for column in columns)
    params: list[Any] = [changes[column] for column in columns]
    return await ex.execute(
        _sql("UPDATE users SET", assignments + ",", "updated_at = ? WHERE id = ?"), (*params, now, user_id)
    )


async def set_password_hash(ex: Executor, user_id: str, password_hash: str, now: int) -> int:
    return await ex.execute(
        "UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?",
        (password_hash, now, now, user_id),
    )


async def set_email_verified(ex: Executor, user_id: str, email: str, now: int) -> int:
    """Mark verified, only if the address is still the one the token was sent to."""
    return await ex.execute(
        "UPDATE users SET email_verified = 1, updated_at = ? WHERE id = ? AND email = ?", (now, user_id, email)
    )


async def set_role(ex: Executor, user_id: str, role: str, now: int) -> int:
    return await ex.execute("UPDATE users SET role = ?, updated_at = ? WHERE id = ?", (role, now, user_id))


async def set_disabled(ex: Executor, user_id: str, disabled: bool, now: int) -> int:
    return await ex.execute("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?", (int(disabled), now, user_id))


async def count_other_active_admins(ex: Executor, user_id: str) -> int:
    return int(
        await ex.fetch_val(
            "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?", (user_id,)
        )
        or 0
    )


async def list_users(ex: Executor, *, query: str | None, limit: int, offset: int) -> list[Row]:
    if query:
        pattern = "%" + query.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        return await ex.fetch_all(
            _sql(
                "SELECT",
                _USER_COLUMNS,
                "FROM users WHERE username LIKE ? ESCAPE '!' OR email LIKE ? ESCAPE '!' "
                "OR lower(display_name) LIKE ? ESCAPE '!' ORDER BY created_at, id LIMIT ? OFFSET ?",
            ),
            (pattern, pattern, pattern, limit, offset),
        )
    return await ex.fetch_all(
        _sql("SELECT", _USER_COLUMNS, "FROM users ORDER BY created_at, id LIMIT ? OFFSET ?"), (limit, offset)
    )


# -- sessions ----------------------------------------------------------------------------------

_SESSION_COLUMNS = "id, user_id, created_at, last_seen_at, expires_at, ip, user_agent, revoked_at, revoked_reason"


async def insert_session(
    ex: Executor, *, session_id: str, user_id: str, now: int, expires_at: int, ip: str, user_agent: str
) -> None:
    await ex.execute(
        "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, ip, user_agent) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, user_id, now, now, expires_at, ip, user_agent),
    )


async def session_by_id(ex: Executor, session_id: str) -> Row | None:
    return await ex.fetch_one(_sql("SELECT", _SESSION_COLUMNS, "FROM sessions WHERE id = ?"), (session_id,))


async def session_and_user(ex: Executor, session_id: str) -> Row | None:
    """The session with its user's columns prefixed ``u_`` (one round trip per request)."""
    return await ex.fetch_one(
        "SELECT s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at, "
        "s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at, s.ip AS s_ip, "
        "s.user_agent AS s_user_agent, s.revoked_at AS s_revoked_at, s.revoked_reason AS s_revoked_reason, "
        "u.id AS id, u.email AS email, u.username AS username, u.display_name AS display_name, u.bio AS bio, "
        "u.avatar_color AS avatar_color, u.role AS role, u.email_verified AS email_verified, "
        "u.disabled AS disabled, u.created_at AS created_at, u.updated_at AS updated_at "
        "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?",
        (session_id,),
    )


async def live_sessions(ex: Executor, user_id: str, *, now: int, idle_since: int) -> list[Row]:
    return await ex.fetch_all(
        _sql(
            "SELECT",
            _SESSION_COLUMNS,
            "FROM sessions WHERE user_id = ? AND revoked_at IS NULL "
            "AND expires_at > ? AND last_seen_at > ? ORDER BY last_seen_at DESC, id",
        ),
        (user_id, now, idle_since),
    )


async def all_live_sessions(ex: Executor, *, now: int, idle_since: int, user_id: str | None, limit: int) -> list[Row]:
    if user_id is not None:
        return (await live_sessions(ex, user_id, now=now, idle_since=idle_since))[:limit]
    return await ex.fetch_all(
        _sql(
            "SELECT",
            _SESSION_COLUMNS,
            "FROM sessions WHERE revoked_at IS NULL AND expires_at > ? AND last_seen_at > ? "
            "ORDER BY last_seen_at DESC, id LIMIT ?",
        ),
        (now, idle_since, limit),
    )


async def touch_session(ex: Executor, session_id: str, *, now: int, ip: str, user_agent: str) -> int:
    return await ex.execute(
        "UPDATE sessions SET last_seen_at = ?, ip = ?, user_agent = ? WHERE id = ? AND revoked_at IS NULL",
        (now, ip, user_agent, session_id),
    )


async def revoke_session(ex: Executor, session_id: str, *, now: int, reason: str) -> int:
    return await ex.execute(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
        (now, reason, session_id),
    )


async def revoke_user_sessions(
    ex: Executor, user_id: str, *, now: int, reason: str, keep: str | None = None
) -> list[str]:
    """Revoke every live session of a user (but ``keep``); the ids revoked."""
    rows = await ex.fetch_all(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = ? "
        "WHERE user_id = ? AND revoked_at IS NULL AND id <> ? RETURNING id",
        (now, reason, user_id, keep or ""),
    )
    return [str(row["id"]) for row in rows]


# -- refresh tokens ----------------------------------------------------------------------------


async def insert_refresh_token(
    ex: Executor, *, token_id: str, session_id: str, token_hash: str, parent_id: str | None, now: int
) -> None:
    await ex.execute(
        "INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (token_id, session_id, token_hash, parent_id, now),
    )


async def refresh_token_by_hash(ex: Executor, token_hash: str) -> Row | None:
    return await ex.fetch_one(
        "SELECT id, session_id, token_hash, parent_id, created_at, used_at, replaced_by, grace_box "
        "FROM refresh_tokens WHERE token_hash = ?",
        (token_hash,),
    )


async def refresh_token_by_id(ex: Executor, token_id: str) -> Row | None:
    return await ex.fetch_one(
        "SELECT id, session_id, token_hash, parent_id, created_at, used_at, replaced_by, grace_box "
        "FROM refresh_tokens WHERE id = ?",
        (token_id,),
    )


async def claim_refresh_token(ex: Executor, token_id: str, *, now: int, replaced_by: str, grace_box: str) -> int:
    """Mark a token used, atomically: 1 for the one caller that wins, 0 for everyone else."""
    return await ex.execute(
        "UPDATE refresh_tokens SET used_at = ?, replaced_by = ?, grace_box = ? WHERE id = ? AND used_at IS NULL",
        (now, replaced_by, grace_box, token_id),
    )


# -- email tokens ------------------------------------------------------------------------------


async def insert_email_token(
    ex: Executor,
    *,
    token_id: str,
    user_id: str,
    purpose: str,
    email: str,
    token_hash: str,
    now: int,
    expires_at: int,
) -> None:
    await ex.execute(
        "INSERT INTO email_tokens (id, user_id, purpose, email, token_hash, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_id, user_id, purpose, email, token_hash, now, expires_at),
    )


async def consume_email_token(ex: Executor, token_hash: str, *, purpose: str, now: int) -> Row | None:
    """Use a live token once; the row (user_id, email) or None."""
    return await ex.fetch_one(
        "UPDATE email_tokens SET used_at = ? "
        "WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? "
        "RETURNING id, user_id, email",
        (now, token_hash, purpose, now),
    )


async def expire_email_tokens(ex: Executor, user_id: str, *, purpose: str, now: int) -> int:
    return await ex.execute(
        "UPDATE email_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL",
        (now, user_id, purpose),
    )


# -- invites -----------------------------------------------------------------------------------

_INVITE_COLUMNS = "id, created_by, created_at, expires_at, max_uses, uses, revoked_at"


async def insert_invite(
    ex: Executor,
    *,
    invite_id: str,
    token_hash: str,
    created_by: str | None,
    now: int,
    expires_at: int,
    max_uses: int,
) -> None:
    await ex.execute(
        "INSERT INTO invites (id, token_hash, created_by, created_at, expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?)",
        (invite_id, token_hash, created_by, now, expires_at, max_uses),
    )


async def invite_by_id(ex: Executor, invite_id: str) -> Row | None:
    return await ex.fetch_one(_sql("SELECT", _INVITE_COLUMNS, "FROM invites WHERE id = ?"), (invite_id,))


async def usable_invite(ex: Executor, token_hash: str, *, now: int) -> Row | None:
    return await ex.fetch_one(
        _sql(
            "SELECT",
            _INVITE_COLUMNS,
            "FROM invites WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ? AND uses < max_uses",
        ),
        (token_hash, now),
    )


async def use_invite(ex: Executor, token_hash: str, *, now: int) -> Row | None:
    """Count one use of a live invite atomically; the invite or None."""
    return await ex.fetch_one(
        _sql(
            "UPDATE invites SET uses = uses + 1 WHERE token_hash = ? AND revoked_at IS NULL "
            "AND expires_at > ? AND uses < max_uses RETURNING",
            _INVITE_COLUMNS,
        ),
        (token_hash, now),
    )


async def list_invites(ex: Executor, *, limit: int) -> list[Row]:
    return await ex.fetch_all(
        _sql("SELECT", _INVITE_COLUMNS, "FROM invites ORDER BY created_at DESC, id LIMIT ?"), (limit,)
    )


async def revoke_invite(ex: Executor, invite_id: str, *, now: int) -> int:
    return await ex.execute("UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (now, invite_id))


# -- first-run setup ---------------------------------------------------------------------------


async def insert_setup_token(ex: Executor, *, token_id: str, token_hash: str, now: int, expires_at: int) -> None:
    await ex.execute(
        "INSERT INTO setup_tokens (id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (token_id, token_hash, now, expires_at),
    )


async def consume_setup_token(ex: Executor, token_hash: str, *, now: int) -> int:
    return await ex.execute(
        "UPDATE setup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (now, token_hash, now),
    )


async def expire_setup_tokens(ex: Executor, *, now: int) -> int:
    return await ex.execute("UPDATE setup_tokens SET used_at = ? WHERE used_at IS NULL", (now,))


async def claim_meta_flag(ex: Executor, key: str, value: str) -> bool:
    """Set a one-time instance flag; True for the single caller that set it."""
    changed = await ex.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", (key, value))
    return changed == 1


# -- WebSocket tickets -------------------------------------------------------------------------


async def insert_ticket(
    ex: Executor, *, ticket_hash: str, session_id: str, user_id: str, now: int, expires_at: int
) -> None:
    await ex.execute(
        "INSERT INTO ws_tickets (ticket_hash, session_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (ticket_hash, session_id, user_id, now, expires_at),
    )


async def consume_ticket(ex: Executor, ticket_hash: str, *, now: int) -> Row | None:
    """Delete a ticket and return it if it was still valid: single use, even under races."""
    row = await ex.fetch_one(
        "DELETE FROM ws_tickets WHERE ticket_hash = ? RETURNING session_id, user_id, expires_at", (ticket_hash,)
    )
    if row is None or int(row["expires_at"]) <= now:
        return None
    return row


# -- housekeeping ------------------------------------------------------------------------------


async def purge(ex: Executor, *, now: int, grace_before: int, dead_before: int) -> Sequence[int]:
    """Delete what can no longer be used; counts per statement."""
    return (
        await ex.execute("DELETE FROM ws_tickets WHERE expires_at <= ?", (now,)),
        await ex.execute(
            "UPDATE refresh_tokens SET grace_box = NULL WHERE grace_box IS NOT NULL AND used_at < ?", (grace_before,)
        ),
        await ex.execute("DELETE FROM email_tokens WHERE expires_at < ?", (dead_before,)),
        await ex.execute("DELETE FROM setup_tokens WHERE expires_at < ?", (dead_before,)),
        await ex.execute(
            "DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < ?) OR expires_at < ?",
            (dead_before, dead_before),
        ),
    )
