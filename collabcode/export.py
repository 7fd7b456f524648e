"""A user's own data as one JSON document, for data-access requests (``admin export-user``).

Each feature contributes a section: a function registered with :func:`section` that gets an
executor and the user id and returns JSON-ready data. A feature that adds tables holding
per-user data registers its section next to its code (``@export.section("name")``); the
sections of the features that exist are below. What is in and what is left out, and why, is in
docs/operations.md ("Exporting a user's data"). The rules every section follows:

- Only the user's own data: what they wrote, chose or did, and the records about them (sessions,
  memberships). Other people appear by id and username only where the relation is the user's own
  (a conversation's other person, the people they follow or blocked, the people in a call).
- Messages they received are listed without their text: the sender wrote it (the user can read
  it in the app). Messages they sent are in full.
- Never a secret or a keyed hash: no password hash, token hashes, refresh tokens, WebSocket
  tickets or the phone number's keyed hash (the number itself is never stored, only that hash
  and a short hint shown to its owner).
- Who blocked the user is the blocker's private choice and is not shown.

Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from collabcode import __version__
from collabcode.db import Executor, Row

FORMAT = "collabcode-user-export"
FORMAT_VERSION = 1

Section = Callable[[Executor, str], Awaitable[dict[str, Any]]]

_SECTIONS: dict[str, Section] = {}


def section(name: str) -> Callable[[Section], Section]:
    """Register ``func`` as the export section ``name`` (one per feature; names are unique)."""

    def register(func: Section) -> Section:
        if name in _SECTIONS:
            raise ValueError(f"export section {name!r} is registered twice")
        _SECTIONS[name] = func
        return func

    return register


def section_names() -> list[str]:
    return list(_SECTIONS)


class UnknownUser(LookupError):
    """No user has this id."""


async def export_user(db: Executor, user_id: str, *, now_ms: int) -> dict[str, Any]:
    """Every section's data for ``user_id``; raises :class:`UnknownUser` for a missing user."""
    if await db.fetch_val("SELECT id FROM users WHERE id = ?", (user_id,)) is None:
        raise UnknownUser(user_id)
    sections = {name: await build(db, user_id) for name, build in _SECTIONS.items()}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "collabcode_version": __version__,
        "exported_at": iso(now_ms),
        "user_id": user_id,
        **sections,
    }


def iso(ms: int | None) -> str | None:
    """Milliseconds since the epoch as ISO 8601 UTC (None stays None)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rows(rows: list[Row], times: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Plain dicts with ``times`` as ISO strings and ``flags`` (0/1 columns) as booleans."""
    out = []
    for row in rows:
        item = dict(row)
        for key in times:
            item[key] = iso(item[key])
        for key in flags:
            item[key] = bool(item[key])
        out.append(item)
    return out


# -- accounts ----------------------------------------------------------------------------------


@section("account")
async def _account(db: Executor, user_id: str) -> dict[str, Any]:
    profile = await db.fetch_one(
        "SELECT id, email, username, display_name, bio, avatar_color, role, email_verified, disabled, "
        "created_at, updated_at, password_changed_at, password_hash IS NOT NULL AS has_password "
        "FROM users WHERE id = ?",
        (user_id,),
    )
    sessions = await db.fetch_all(
        "SELECT id, created_at, last_seen_at, expires_at, ip, user_agent, revoked_at, revoked_reason "
        "FROM sessions WHERE user_id = ? ORDER BY created_at, id",
        (user_id,),
    )
    invites = await db.fetch_all(
        "SELECT id, created_at, expires_at, max_uses, uses, revoked_at FROM invites "
        "WHERE created_by = ? ORDER BY created_at, id",
        (user_id,),
    )
    presence = await db.fetch_one("SELECT last_seen_at, invisible FROM realtime_users WHERE user_id = ?", (user_id,))
    return {
        "profile": _rows(
            [profile] if profile else [],
            times=("created_at", "updated_at", "password_changed_at"),
            flags=("email_verified", "disabled", "has_password"),
        )[0],
        "sessions": _rows(sessions, times=("created_at", "last_seen_at", "expires_at", "revoked_at")),
        "invites_created": _rows(invites, times=("created_at", "expires_at", "revoked_at")),
        "presence": {
            "last_seen_at": iso(presence["last_seen_at"]) if presence else None,
            "invisible": bool(presence["invisible"]) if presence else False,
        },
    }


# -- workspaces --------------------------------------------------------------------------------


@section("workspaces")
async def _workspaces(db: Executor, user_id: str) -> dict[str, Any]:
    memberships = await db.fetch_all(
        "SELECT w.id AS id, w.name AS name, m.role AS role, m.created_at AS member_since, "
        "w.created_by = ? AS created_by_me, w.created_at AS created_at "
        "FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id "
        "WHERE m.user_id = ? ORDER BY m.created_at, w.id",
        (user_id, user_id),
    )
    # Files belong to their workspace and are edited together; the schema records who created an
    # entry, so the export lists those entries (not their contents, which are shared documents).
    files = await db.fetch_all(
        "SELECT id, workspace_id, path, kind, size, created_at, updated_at FROM workspace_files "
        "WHERE created_by = ? ORDER BY workspace_id, path_key",
        (user_id,),
    )
    recent = await db.fetch_all(
        "SELECT file_id, workspace_id, opened_at FROM recent_files WHERE user_id = ? ORDER BY opened_at DESC",
        (user_id,),
    )
    activity = await db.fetch_all(
        "SELECT id, workspace_id, kind, data, created_at FROM workspace_activity "
        "WHERE actor_id = ? ORDER BY created_at, id",
        (user_id,),
    )
    comments = await db.fetch_all(
        "SELECT id, workspace_id, file_id, body, snippet, seq, resolved, created_at, updated_at "
        "FROM doc_comments WHERE author_id = ? ORDER BY created_at, id",
        (user_id,),
    )
    checkpoints = await db.fetch_all(
        "SELECT id, doc_id, seq, name, created_at FROM doc_checkpoints WHERE created_by = ? ORDER BY created_at, id",
        (user_id,),
    )
    edits = await db.fetch_all(
        "SELECT doc_id, COUNT(*) AS changes, MIN(created_at) AS first_at, MAX(created_at) AS last_at "
        "FROM doc_history WHERE author_id = ? GROUP BY doc_id ORDER BY doc_id",
        (user_id,),
    )
    for item in activity:
        item["data"] = json.loads(str(item["data"]))
    return {
        "memberships": _rows(memberships, times=("member_since", "created_at"), flags=("created_by_me",)),
        "entries_created": _rows(files, times=("created_at", "updated_at")),
        "recent_files": _rows(recent, times=("opened_at",)),
        "activity": _rows(activity, times=("created_at",)),
        "comments": _rows(comments, times=("created_at", "updated_at"), flags=("resolved",)),
        "checkpoints": _rows(checkpoints, times=("created_at",)),
        # Per document: how many stored changes the user made, and when (the binary CRDT
        # updates themselves are not meaningful outside the editor).
        "document_edits": _rows(
            [{**row, "changes": int(row["changes"])} for row in edits], times=("first_at", "last_at")
        ),
    }


# -- chat --------------------------------------------------------------------------------------


@section("chat")
async def _chat(db: Executor, user_id: str) -> dict[str, Any]:
    conversations = await db.fetch_all(
        "SELECT c.id AS id, me.peer_id AS peer_id, u.username AS peer_username, c.created_at AS created_at, "
        "c.created_by = ? AS started_by_me, me.delivered_seq AS delivered_seq, me.read_seq AS read_seq "
        "FROM conversation_members me JOIN conversations c ON c.id = me.conversation_id "
        "JOIN users u ON u.id = me.peer_id WHERE me.user_id = ? ORDER BY c.created_at, c.id",
        (user_id, user_id),
    )
    sent = await db.fetch_all(
        "SELECT m.id AS id, m.conversation_id AS conversation_id, m.seq AS seq, m.body AS body, "
        "m.created_at AS created_at, m.edited_at AS edited_at, m.deleted_at AS deleted_at, "
        "r.workspace_id AS ref_workspace_id, r.file_id AS ref_file_id, r.snippet AS ref_snippet, "
        "r.seq AS ref_version FROM messages m LEFT JOIN message_code_refs r ON r.message_id = m.id "
        "WHERE m.sender_id = ? ORDER BY m.created_at, m.id",
        (user_id,),
    )
    received = await db.fetch_all(
        "SELECT m.id AS id, m.conversation_id AS conversation_id, m.seq AS seq, m.sender_id AS sender_id, "
        "m.created_at AS created_at FROM conversation_members me "
        "JOIN messages m ON m.conversation_id = me.conversation_id AND m.sender_id = me.peer_id "
        "WHERE me.user_id = ? ORDER BY m.created_at, m.id",
        (user_id,),
    )
    blocked = await db.fetch_all(
        "SELECT b.blocked_id AS user_id, u.username AS username, b.created_at AS created_at "
        "FROM chat_blocks b JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = ? ORDER BY b.created_at",
        (user_id,),
    )
    settings = await db.fetch_one(
        "SELECT read_receipts, discoverable, phone_hint, phone_hash IS NOT NULL AS phone_on_file, updated_at "
        "FROM chat_settings WHERE user_id = ?",
        (user_id,),
    )
    return {
        "conversations": _rows(conversations, times=("created_at",), flags=("started_by_me",)),
        "messages_sent": [_with_code_ref(m) for m in _rows(sent, times=("created_at", "edited_at", "deleted_at"))],
        "messages_received": _rows(received, times=("created_at",)),
        "blocked": _rows(blocked, times=("created_at",)),
        "settings": _rows(
            [settings], times=("updated_at",), flags=("read_receipts", "discoverable", "phone_on_file")
        )[0]
        if settings
        else None,
    }


def _with_code_ref(message: dict[str, Any]) -> dict[str, Any]:
    """The message with the code it was sent with (as sent: file, history version, snippet)."""
    ref = {key: message.pop(f"ref_{key}") for key in ("workspace_id", "file_id", "version", "snippet")}
    message["code_ref"] = ref if ref["file_id"] is not None else None
    return message


# -- social ------------------------------------------------------------------------------------


@section("social")
async def _social(db: Executor, user_id: str) -> dict[str, Any]:
    following = await db.fetch_all(
        "SELECT f.followee_id AS user_id, u.username AS username, f.created_at AS since FROM follows f "
        "JOIN users u ON u.id = f.followee_id WHERE f.follower_id = ? ORDER BY f.created_at",
        (user_id,),
    )
    followers = await db.fetch_all(
        "SELECT f.follower_id AS user_id, u.username AS username, f.created_at AS since FROM follows f "
        "JOIN users u ON u.id = f.follower_id WHERE f.followee_id = ? ORDER BY f.created_at",
        (user_id,),
    )
    avatar = await db.fetch_one(
        "SELECT id, content_type, width, height, data, created_at FROM user_avatars WHERE user_id = ?", (user_id,)
    )
    return {
        "following": _rows(following, times=("since",)),
        "followers": _rows(followers, times=("since",)),
        "avatar": None
        if avatar is None
        else {
            "id": avatar["id"],
            "content_type": avatar["content_type"],
            "width": int(avatar["width"]),
            "height": int(avatar["height"]),
            "created_at": iso(avatar["created_at"]),
            "data_base64": base64.b64encode(bytes(avatar["data"])).decode("ascii"),
        },
    }


# -- calls -------------------------------------------------------------------------------------


@section("calls")
async def _calls(db: Executor, user_id: str) -> dict[str, Any]:
    calls = await db.fetch_all(
        "SELECT c.id AS id, c.kind AS kind, c.media AS media, c.caller_id AS caller_id, "
        "c.conversation_id AS conversation_id, c.workspace_id AS workspace_id, c.state AS state, "
        "c.created_at AS created_at, c.answered_at AS answered_at, c.ended_at AS ended_at, "
        "c.end_reason AS end_reason, p.role AS my_role, p.state AS my_state, p.joined_at AS joined_at, "
        "p.left_at AS left_at FROM call_participants p JOIN calls c ON c.id = p.call_id "
        "WHERE p.user_id = ? ORDER BY c.created_at, c.id",
        (user_id,),
    )
    people = await db.fetch_all(
        "SELECT o.call_id AS call_id, o.user_id AS user_id FROM call_participants p "
        "JOIN call_participants o ON o.call_id = p.call_id AND o.user_id <> p.user_id WHERE p.user_id = ?",
        (user_id,),
    )
    others: dict[str, list[str]] = {}
    for row in people:
        others.setdefault(str(row["call_id"]), []).append(str(row["user_id"]))
    items = _rows(calls, times=("created_at", "answered_at", "ended_at", "joined_at", "left_at"))
    for item in items:
        item["other_participants"] = sorted(others.get(str(item["id"]), []))
    return {"calls": items}


# -- assistant ---------------------------------------------------------------------------------


@section("assistant")
async def _assistant(db: Executor, user_id: str) -> dict[str, Any]:
    usage = await db.fetch_all(
        "SELECT day, requests, tokens FROM ai_usage WHERE user_id = ? ORDER BY day", (user_id,)
    )
    return {"usage_per_day": [{k: (v if k == "day" else int(v)) for k, v in row.items()} for row in usage]}
