"""SQL of conversations, messages, receipts, blocks and chat settings; nothing else.

Functions take an :class:`~collabcode.db.Executor`, so they run on the database or inside a
transaction. Lock order, so concurrent transactions never deadlock on PostgreSQL: a
conversation row first, then member rows, then users' stream counters in id order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from collabcode.db import Executor

_MESSAGE_COLUMNS = (
    "m.id AS id, m.conversation_id AS conversation_id, m.seq AS seq, m.sender_id AS sender_id, "
    "m.client_id AS client_id, m.request_hash AS request_hash, m.body AS body, m.created_at AS created_at, "
    "m.edited_at AS edited_at, m.deleted_at AS deleted_at"
)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    conversation_id: str
    seq: int
    sender_id: str
    client_id: str
    request_hash: str
    body: str
    created_at: int
    edited_at: int | None
    deleted_at: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Message:
        return cls(
            id=str(row["id"]),
            conversation_id=str(row["conversation_id"]),
            seq=int(row["seq"]),
            sender_id=str(row["sender_id"]),
            client_id=str(row["client_id"]),
            request_hash=str(row["request_hash"]),
            body=str(row["body"]),
            created_at=int(row["created_at"]),
            edited_at=None if row["edited_at"] is None else int(row["edited_at"]),
            deleted_at=None if row["deleted_at"] is None else int(row["deleted_at"]),
        )


@dataclass(frozen=True, slots=True)
class Pair:
    """The two members of a conversation."""

    conversation_id: str
    user_a: str
    user_b: str
    created_by: str

    def has(self, user_id: str) -> bool:
        return user_id in (self.user_a, self.user_b)

    def peer_of(self, user_id: str) -> str:
        return self.user_b if user_id == self.user_a else self.user_a


@dataclass(frozen=True, slots=True)
class Member:
    conversation_id: str
    user_id: str
    peer_id: str
    delivered_seq: int
    read_seq: int


# -- users ----------------------------------------------------------------------------------------


async def user_by_username(db: Executor, username: str) -> dict[str, Any] | None:
    return await db.fetch_one(
        "SELECT id, username, display_name, avatar_color, email_verified, disabled FROM users WHERE username = ?",
        (username,),
    )


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def search_users(db: Executor, prefix: str, *, exclude: str, limit: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        "SELECT id, username, display_name, avatar_color FROM users "
        "WHERE username LIKE ? ESCAPE '\\' AND email_verified = 1 AND disabled = 0 AND id <> ? "
        "ORDER BY username LIMIT ?",
        (_like_prefix(prefix), exclude, limit),
    )


# -- conversations --------------------------------------------------------------------------------


async def pair_of(db: Executor, conversation_id: str) -> Pair | None:
    row = await db.fetch_one(
        "SELECT id, user_a, user_b, created_by FROM conversations WHERE id = ?",
        (conversation_id,),
    )
    if row is None:
        return None
    return Pair(str(row["id"]), str(row["user_a"]), str(row["user_b"]), str(row["created_by"]))


async def conversation_for_pair(db: Executor, user_a: str, user_b: str) -> str | None:
    value = await db.fetch_val("SELECT id FROM conversations WHERE user_a = ? AND user_b = ?", (user_a, user_b))
    return None if value is None else str(value)


async def insert_conversation(
    tx: Executor, *, conversation_id: str, user_a: str, user_b: str, created_by: str, now: int
) -> bool:
    """Create the pair's conversation; False when it already exists (another request won)."""
    created = await tx.fetch_val(
        "INSERT INTO conversations (id, user_a, user_b, created_by, last_seq, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 0, ?, ?) ON CONFLICT (user_a, user_b) DO NOTHING RETURNING id",
        (conversation_id, user_a, user_b, created_by, now, now),
    )
    if created is None:
        return False
    await tx.execute_many(
        "INSERT INTO conversation_members (conversation_id, user_id, peer_id, delivered_seq, read_seq) "
        "VALUES (?, ?, ?, 0, 0)",
        [(conversation_id, user_a, user_b), (conversation_id, user_b, user_a)],
    )
    return True


_SUMMARY = """
SELECT c.id AS id, c.created_by AS created_by, c.last_seq AS last_seq, c.created_at AS created_at,
       c.updated_at AS updated_at, me.read_seq AS read_seq,
       peer.user_id AS peer_id, peer.delivered_seq AS peer_delivered_seq, peer.read_seq AS peer_read_seq,
       u.username AS peer_username, u.display_name AS peer_display_name, u.avatar_color AS peer_avatar_color,
       (SELECT COUNT(*) FROM messages um WHERE um.conversation_id = c.id AND um.seq > me.read_seq
          AND um.sender_id <> me.user_id AND um.deleted_at IS NULL) AS unread_count,
       lm.id AS lm_id, lm.seq AS lm_seq, lm.sender_id AS lm_sender_id, lm.client_id AS lm_client_id,
       lm.request_hash AS lm_request_hash, lm.body AS lm_body, lm.created_at AS lm_created_at,
       lm.edited_at AS lm_edited_at, lm.deleted_at AS lm_deleted_at
FROM conversation_members me
JOIN conversations c ON c.id = me.conversation_id
JOIN conversation_members peer ON peer.conversation_id = me.conversation_id AND peer.user_id = me.peer_id
JOIN users u ON u.id = me.peer_id
LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq
"""


async def conversation_rows(db: Executor, user_id: str, *, limit: int) -> list[dict[str, Any]]:
    """The user's conversations, newest activity first (a conversation the other side opened
    is listed once it has a message)."""
    return await db.fetch_all(
        _SUMMARY + "WHERE me.user_id = ? AND (c.last_seq > 0 OR c.created_by = ?) "
        "ORDER BY c.updated_at DESC, c.id LIMIT ?",
        (user_id, user_id, limit),
    )


async def conversation_row(db: Executor, user_id: str, conversation_id: str) -> dict[str, Any] | None:
    return await db.fetch_one(_SUMMARY + "WHERE me.user_id = ? AND c.id = ?", (user_id, conversation_id))


def last_message_of(row: dict[str, Any]) -> Message | None:
    if row.get("lm_id") is None:
        return None
    return Message.from_row(
        {
            "id": row["lm_id"],
            "conversation_id": row["id"],
            "seq": row["lm_seq"],
            "sender_id": row["lm_sender_id"],
            "client_id": row["lm_client_id"],
            "request_hash": row["lm_request_hash"],
            "body": row["lm_body"],
            "created_at": row["lm_created_at"],
            "edited_at": row["lm_edited_at"],
            "deleted_at": row["lm_deleted_at"],
        }
    )


async def peers_of(db: Executor, user_id: str) -> set[str]:
    rows = await db.fetch_all("SELECT peer_id FROM conversation_members WHERE user_id = ?", (user_id,))
    return {str(row["peer_id"]) for row in rows}


async def members(db: Executor, conversation_ids: Sequence[str]) -> dict[tuple[str, str], Member]:
    ids = sorted(set(conversation_ids))
    found: dict[tuple[str, str], Member] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await db.fetch_all(
            "SELECT conversation_id, user_id, peer_id, delivered_seq, read_seq FROM conversation_members "  # noqa: S608
            f"WHERE conversation_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            member = Member(
                str(row["conversation_id"]),
                str(row["user_id"]),
                str(row["peer_id"]),
                int(row["delivered_seq"]),
                int(row["read_seq"]),
            )
            found[(member.conversation_id, member.user_id)] = member
    return found


async def unread_count(db: Executor, conversation_id: str, user_id: str) -> int:
    value = await db.fetch_val(
        "SELECT COUNT(*) FROM messages m JOIN conversation_members me "
        "ON me.conversation_id = m.conversation_id AND me.user_id = ? "
        "WHERE m.conversation_id = ? AND m.seq > me.read_seq AND m.sender_id <> ? AND m.deleted_at IS NULL",
        (user_id, conversation_id, user_id),
    )
    return int(value or 0)


# -- messages -------------------------------------------------------------------------------------


async def reserve_seqs(tx: Executor, counts: dict[str, int], now: int) -> dict[str, int]:
    """Take ``counts[cid]`` message numbers in each conversation at once (locking the rows in id
    order); returns each conversation's new last seq. Conversations with a block between their
    two people (or gone) are left out."""
    ids = sorted(counts)
    if not ids:
        return {}
    cases = " ".join(["WHEN ? THEN CAST(? AS BIGINT)"] * len(ids))
    params: list[Any] = []
    for cid in ids:
        params += [cid, counts[cid]]
    rows = await tx.fetch_all(
        f"UPDATE conversations SET last_seq = last_seq + CASE id {cases} END, updated_at = ? "  # noqa: S608
        f"WHERE id IN ({', '.join('?' * len(ids))}) AND NOT EXISTS (SELECT 1 FROM chat_blocks b "
        "WHERE (b.blocker_id = conversations.user_a AND b.blocked_id = conversations.user_b) "
        "OR (b.blocker_id = conversations.user_b AND b.blocked_id = conversations.user_a)) "
        "RETURNING id, last_seq",
        [*params, now, *ids],
    )
    return {str(row["id"]): int(row["last_seq"]) for row in rows}


async def insert_messages(tx: Executor, messages: Sequence[Message]) -> set[str]:
    """Insert new messages; returns the ids stored (a taken ``(sender_id, client_id)`` is skipped)."""
    if not messages:
        return set()
    params: list[Any] = []
    for m in messages:
        params += [m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.request_hash, m.body, m.created_at]
    rows = await tx.fetch_all(
        "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, request_hash, body, created_at) "  # noqa: S608
        f"VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?, ?)'] * len(messages))} "
        "ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id",
        params,
    )
    return {str(row["id"]) for row in rows}


async def messages_by_client_ids(db: Executor, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Message]:
    """Stored messages by ``(sender_id, client_id)``."""
    found: dict[tuple[str, str], Message] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), 400):
        chunk = unique[start : start + 400]
        params: list[Any] = [value for key in chunk for value in key]
        rows = await db.fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE (m.sender_id, m.client_id) IN "  # noqa: S608
            f"(VALUES {', '.join(['(?, ?)'] * len(chunk))})",
            params,
        )
        for row in rows:
            message = Message.from_row(row)
            found[(message.sender_id, message.client_id)] = message
    return found


async def message_in(db: Executor, conversation_id: str, message_id: str) -> Message | None:
    row = await db.fetch_one(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.id = ? AND m.conversation_id = ?",  # noqa: S608
        (message_id, conversation_id),
    )
    return None if row is None else Message.from_row(row)


async def messages_by_ids(db: Executor, message_ids: Sequence[str]) -> dict[str, Message]:
    ids = sorted(set(message_ids))
    found: dict[str, Message] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await db.fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.id IN ({', '.join('?' * len(chunk))})",  # noqa: S608
            chunk,
        )
        found.update({str(row["id"]): Message.from_row(row) for row in rows})
    return found


async def page(
    db: Executor, conversation_id: str, *, before: int | None, after: int | None, limit: int
) -> list[Message]:
    """Up to ``limit`` messages in seq order: the newest before ``before``, or the oldest after ``after``."""
    if after is not None:
        rows = await db.fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = ? AND m.seq > ? "  # noqa: S608
            "ORDER BY m.seq LIMIT ?",
            (conversation_id, after, limit),
        )
        return [Message.from_row(row) for row in rows]
    bound = before if before is not None else 2**62
    rows = await db.fetch_all(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages m WHERE m.conversation_id = ? AND m.seq < ? "  # noqa: S608
        "ORDER BY m.seq DESC LIMIT ?",
        (conversation_id, bound, limit),
    )
    return [Message.from_row(row) for row in reversed(rows)]


async def edit_message(tx: Executor, message_id: str, body: str, now: int) -> bool:
    changed = await tx.execute(
        "UPDATE messages SET body = ?, edited_at = ? WHERE id = ? AND deleted_at IS NULL", (body, now, message_id)
    )
    return changed > 0


async def delete_message(tx: Executor, message_id: str, now: int) -> bool:
    """Delete for everyone: the text and any code reference (with its snippet) go."""
    changed = await tx.execute(
        "UPDATE messages SET body = '', deleted_at = ? WHERE id = ? AND deleted_at IS NULL", (now, message_id)
    )
    await tx.execute("DELETE FROM message_code_refs WHERE message_id = ?", (message_id,))
    return changed > 0


# -- code references ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeRef:
    """A message's stored reference to a range of a workspace file (docs/chat.md)."""

    message_id: str
    workspace_id: str
    file_id: str
    anchor_start: bytes
    anchor_end: bytes
    snippet: str
    seq: int


async def insert_code_refs(tx: Executor, refs: Sequence[CodeRef]) -> None:
    if not refs:
        return
    await tx.execute_many(
        "INSERT INTO message_code_refs (message_id, workspace_id, file_id, anchor_start, anchor_end, snippet, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.message_id, r.workspace_id, r.file_id, r.anchor_start, r.anchor_end, r.snippet, r.seq) for r in refs],
    )


async def code_refs_of(db: Executor, message_ids: Sequence[str]) -> dict[str, CodeRef]:
    """The code references of those of ``message_ids`` that have one."""
    ids = sorted(set(message_ids))
    found: dict[str, CodeRef] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await db.fetch_all(
            "SELECT message_id, workspace_id, file_id, anchor_start, anchor_end, snippet, seq "  # noqa: S608
            f"FROM message_code_refs WHERE message_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            found[str(row["message_id"])] = CodeRef(
                str(row["message_id"]),
                str(row["workspace_id"]),
                str(row["file_id"]),
                bytes(row["anchor_start"]),
                bytes(row["anchor_end"]),
                str(row["snippet"]),
                int(row["seq"]),
            )
    return found


# -- receipts -------------------------------------------------------------------------------------


async def advance_read(tx: Executor, conversation_id: str, user_id: str, seq: int) -> Member | None:
    """Raise the member's read mark (and delivered with it) to ``seq``; None when it did not move."""
    row = await tx.fetch_one(
        "UPDATE conversation_members SET read_seq = ?, "
        "delivered_seq = CASE WHEN delivered_seq < ? THEN ? ELSE delivered_seq END "
        "WHERE conversation_id = ? AND user_id = ? AND read_seq < ? "
        "RETURNING conversation_id, user_id, peer_id, delivered_seq, read_seq",
        (seq, seq, seq, conversation_id, user_id, seq),
    )
    return None if row is None else _member(row)


async def advance_delivered_many(tx: Executor, marks: dict[tuple[str, str], int]) -> list[Member]:
    """Raise several members' delivered marks at once; the members whose mark moved."""
    keys = sorted(marks)
    if not keys:
        return []
    cases = " ".join(["WHEN ? THEN CAST(? AS BIGINT)"] * len(keys))
    case_params: list[Any] = []
    for cid, user_id in keys:
        case_params += [f"{cid}:{user_id}", marks[(cid, user_id)]]
    target = f"CASE conversation_id || ':' || user_id {cases} END"
    rows = await tx.fetch_all(
        f"UPDATE conversation_members SET delivered_seq = {target} "  # noqa: S608
        f"WHERE (conversation_id, user_id) IN (VALUES {', '.join(['(?, ?)'] * len(keys))}) "
        f"AND delivered_seq < {target} "
        "RETURNING conversation_id, user_id, peer_id, delivered_seq, read_seq",
        [*case_params, *[v for key in keys for v in key], *case_params],
    )
    return sorted((_member(row) for row in rows), key=lambda m: (m.conversation_id, m.user_id))


def _member(row: dict[str, Any]) -> Member:
    return Member(
        str(row["conversation_id"]),
        str(row["user_id"]),
        str(row["peer_id"]),
        int(row["delivered_seq"]),
        int(row["read_seq"]),
    )


# -- blocks ---------------------------------------------------------------------------------------


async def block(db: Executor, blocker_id: str, blocked_id: str, now: int) -> bool:
    changed = await db.execute(
        "INSERT INTO chat_blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        (blocker_id, blocked_id, now),
    )
    return changed > 0


async def unblock(db: Executor, blocker_id: str, blocked_id: str) -> bool:
    changed = await db.execute(
        "DELETE FROM chat_blocks WHERE blocker_id = ? AND blocked_id = ?", (blocker_id, blocked_id)
    )
    return changed > 0


async def blocked_between(db: Executor, user_a: str, user_b: str) -> bool:
    value = await db.fetch_val(
        "SELECT COUNT(*) FROM chat_blocks WHERE (blocker_id = ? AND blocked_id = ?) "
        "OR (blocker_id = ? AND blocked_id = ?)",
        (user_a, user_b, user_b, user_a),
    )
    return int(value or 0) > 0


async def blocked_by_me(db: Executor, user_id: str) -> list[dict[str, Any]]:
    return await db.fetch_all(
        "SELECT u.id AS id, u.username AS username, u.display_name AS display_name, "
        "u.avatar_color AS avatar_color, b.created_at AS blocked_at FROM chat_blocks b "
        "JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = ? ORDER BY b.created_at DESC LIMIT 1000",
        (user_id,),
    )


async def block_relations(db: Executor, user_id: str) -> tuple[set[str], set[str]]:
    """(people ``user_id`` blocked, people who blocked ``user_id``)."""
    rows = await db.fetch_all(
        "SELECT blocker_id, blocked_id FROM chat_blocks WHERE blocker_id = ? OR blocked_id = ?",
        (user_id, user_id),
    )
    mine = {str(r["blocked_id"]) for r in rows if r["blocker_id"] == user_id}
    theirs = {str(r["blocker_id"]) for r in rows if r["blocked_id"] == user_id}
    return mine, theirs


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    read_receipts: bool = True
    discoverable: bool = False
    phone_hash: str | None = None
    phone_hint: str | None = None


async def settings_of(db: Executor, user_ids: Sequence[str]) -> dict[str, Settings]:
    """Chat settings per user; users who never changed them get the defaults."""
    ids = sorted(set(user_ids))
    found: dict[str, Settings] = {user_id: Settings() for user_id in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await db.fetch_all(
            "SELECT user_id, read_receipts, discoverable, phone_hash, phone_hint FROM chat_settings "  # noqa: S608
            f"WHERE user_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        for row in rows:
            found[str(row["user_id"])] = Settings(
                read_receipts=int(row["read_receipts"]) == 1,
                discoverable=int(row["discoverable"]) == 1,
                phone_hash=row["phone_hash"],
                phone_hint=row["phone_hint"],
            )
    return found


async def save_settings(db: Executor, user_id: str, settings: Settings, now: int) -> None:
    await db.execute(
        "INSERT INTO chat_settings (user_id, read_receipts, discoverable, phone_hash, phone_hint, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET read_receipts = excluded.read_receipts, "
        "discoverable = excluded.discoverable, phone_hash = excluded.phone_hash, phone_hint = excluded.phone_hint, "
        "updated_at = excluded.updated_at",
        (
            user_id,
            int(settings.read_receipts),
            int(settings.discoverable),
            settings.phone_hash,
            settings.phone_hint,
            now,
        ),
    )


async def discoverable_by_hashes(db: Executor, hashes: Sequence[str], *, exclude: str) -> list[dict[str, Any]]:
    """Opted-in, verified, enabled users whose number hash is one of ``hashes``."""
    if not hashes:
        return []
    marks = ", ".join("?" * len(hashes))
    return await db.fetch_all(
        "SELECT s.phone_hash AS phone_hash, u.id AS id, u.username AS username, "  # noqa: S608
        "u.display_name AS display_name, u.avatar_color AS avatar_color FROM chat_settings s "
        f"JOIN users u ON u.id = s.user_id WHERE s.phone_hash IN ({marks}) AND s.discoverable = 1 "
        "AND u.email_verified = 1 AND u.disabled = 0 AND u.id <> ? ORDER BY u.username",
        [*hashes, exclude],
    )
