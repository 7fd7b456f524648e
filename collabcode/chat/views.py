"""What chat shows, as allowlisted dicts: messages, conversations, receipts, people.

One set of builders serves the HTTP answers, the live frames and the replayed frames, so a
message looks the same whichever way it reaches a client. Who looks matters: only a sender sees
its own ``client_id`` and the ``status`` ticks of its messages, and read marks are shown only
when both people have read receipts on.
"""

from __future__ import annotations

from typing import Any, Literal

from collabcode.chat.store import Member, Message
from collabcode.realtime.presence import PresenceView, iso

Status = Literal["sent", "delivered", "read"]


def message_status(message: Message, peer: Member | None, receipts_visible: bool) -> Status:
    """Ticks of a message its sender sees: one (sent), two (delivered), or read."""
    if peer is not None:
        if receipts_visible and peer.read_seq >= message.seq:
            return "read"
        if peer.delivered_seq >= message.seq:
            return "delivered"
    return "sent"


def message_json(
    message: Message,
    viewer_id: str,
    peer: Member | None,
    receipts_visible: bool,
    code_ref: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``peer`` is the viewer's peer's member row (its delivered/read marks); ``code_ref`` the
    message's code reference as resolved for this viewer (``chat.code_refs``), if it has one."""
    own = message.sender_id == viewer_id
    view: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "body": "" if message.deleted_at is not None else message.body,
        "created_at": iso(message.created_at),
        "edited": message.edited_at is not None,
        "edited_at": iso(message.edited_at),
        "deleted": message.deleted_at is not None,
        "status": message_status(message, peer, receipts_visible) if own else None,
        "code_ref": None if message.deleted_at is not None else code_ref,
    }
    if own:
        view["client_id"] = message.client_id
    return view


def person_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "username": str(row["username"]),
        "display_name": str(row["display_name"]),
        "avatar_color": str(row["avatar_color"]),
    }


def presence_json(view: PresenceView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"status": view.status, "last_seen_at": iso(view.last_seen_at)}


def receipt_frame(cursor: int, member: Member, receipts_visible: bool) -> dict[str, Any]:
    """Sent to ``member``'s peer: how far ``member`` has received and read."""
    return {
        "type": "receipt",
        "cursor": cursor,
        "conversation_id": member.conversation_id,
        "user_id": member.user_id,
        "delivered_seq": member.delivered_seq,
        "read_seq": member.read_seq if receipts_visible else None,
    }


def read_frame(cursor: int, member: Member, unread: int) -> dict[str, Any]:
    """Sent to ``member``'s own sockets: it read up to ``read_seq`` (on this or another device)."""
    return {
        "type": "conversation.read",
        "cursor": cursor,
        "conversation_id": member.conversation_id,
        "read_seq": member.read_seq,
        "unread_count": unread,
    }
