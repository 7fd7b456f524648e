"""OpenAPI operations of conversations and contacts (:mod:`collabcode.chat.routes`)."""

from __future__ import annotations

from collabcode.chat import schemas
from collabcode.web.openapi import (
    BOOLEAN,
    ID,
    INTEGER,
    STRING,
    TIME,
    Operation,
    Reply,
    array,
    component,
    enum,
    integer,
    nullable,
    obj,
    text,
)

PERSON = component("Person", obj({"id": ID, "username": STRING, "display_name": STRING, "avatar_color": STRING}))
PRESENCE = component("Presence", obj({"status": enum("online", "away", "offline"), "last_seen_at": nullable(TIME)}))
#: What a reader is shown of a message's code reference (docs/chat.md): only ``available: false``
#: to someone who cannot read the workspace; otherwise the range as it is now, or ``deleted``.
CODE_REF = component(
    "CodeRef",
    {
        "oneOf": [
            obj({"available": {"const": False}}, closed=True),
            obj(
                {
                    "available": {"const": True},
                    "workspace_id": ID,
                    "file_id": ID,
                    "path": nullable(STRING),
                    "deleted": BOOLEAN,
                    "file_deleted": BOOLEAN,
                    "start": nullable(INTEGER),
                    "end": nullable(INTEGER),
                    "start_line": nullable(INTEGER),
                    "end_line": nullable(INTEGER),
                    "snippet": nullable(STRING),
                    "original_snippet": STRING,
                    "version": INTEGER,
                }
            ),
        ]
    },
)
MESSAGE = component(
    "ChatMessage",
    obj(
        {
            "id": ID,
            "conversation_id": ID,
            "seq": INTEGER,
            "sender_id": ID,
            "body": STRING,
            "created_at": TIME,
            "edited": BOOLEAN,
            "edited_at": nullable(TIME),
            "deleted": BOOLEAN,
            "status": nullable(enum("sent", "delivered", "read")),
            "client_id": STRING,
            "code_ref": nullable(CODE_REF),
        },
        optional=["client_id"],
    ),
)
CONVERSATION = component(
    "Conversation",
    obj(
        {
            "id": ID,
            "peer": PERSON,
            "created_at": TIME,
            "updated_at": TIME,
            "last_seq": INTEGER,
            "last_message": nullable(MESSAGE),
            "unread_count": INTEGER,
            "read_seq": INTEGER,
            "peer_delivered_seq": INTEGER,
            "peer_read_seq": nullable(INTEGER),
            "presence": nullable(PRESENCE),
            "blocked": BOOLEAN,
        }
    ),
)
READ = obj({"conversation_id": ID, "read_seq": INTEGER, "unread_count": INTEGER})
PRIVACY = component(
    "Privacy",
    obj(
        {
            "phone_number_hint": nullable(STRING),
            "discoverable": BOOLEAN,
            "read_receipts": BOOLEAN,
            "invisible": BOOLEAN,
        }
    ),
)
C = "/api/conversations/{conversation_id}"
BLOCKED = "`blocked`: a block stands between you."
TAG = "chat"
CONTACTS = "contacts"

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/api/conversations",
        "The caller's conversations, newest activity first",
        TAG,
        "user",
        {
            200: Reply(
                "Conversations and the stream cursor read before them (for `/ws/events?cursor=`).",
                obj({"conversations": array(CONVERSATION), "cursor": INTEGER}),
            )
        },
    ),
    Operation(
        "POST",
        "/api/conversations",
        "Open (or find) the conversation with a user",
        TAG,
        "user",
        {
            200: Reply("The pair's existing conversation.", CONVERSATION),
            201: Reply("A new conversation.", CONVERSATION),
            403: BLOCKED,
            404: "`not_found`: no such user, or a disabled one.",
        },
        body=schemas.OpenConversation,
    ),
    Operation("GET", C, "One conversation", TAG, "user", {200: Reply("The conversation.", CONVERSATION)}),
    Operation(
        "GET",
        C + "/messages",
        "A page of messages in seq order",
        TAG,
        "user",
        {200: Reply("Messages.", obj({"messages": array(MESSAGE), "has_more": BOOLEAN}))},
        query=[
            ("limit", integer(1, 100), False),
            ("before", integer(1, 2**53), False),
            ("after", integer(0, 2**53), False),
        ],
    ),
    Operation(
        "POST",
        C + "/messages",
        "Send a message (idempotent by client_id)",
        TAG,
        "user",
        {
            200: Reply("A retry: the stored message.", MESSAGE),
            201: Reply("The new message, after the commit.", MESSAGE),
            403: BLOCKED,
            404: "`not_found`: also a `code_ref` to a file the sender cannot read.",
            409: "`client_id_reused` with another body, conversation or `code_ref`.",
            422: "`validation_failed`; for `code_ref`, rule `range`, `empty`, `too_long` or `unanchorable`.",
        },
        body=schemas.SendMessage,
        rate_limited=True,
    ),
    Operation(
        "PATCH",
        C + "/messages/{message_id}",
        "Edit one's own message (15 minutes)",
        TAG,
        "user",
        {
            200: Reply("The message.", MESSAGE),
            403: "`not_sender`, `edit_window_closed` or `blocked`.",
            409: "`message_deleted`.",
        },
        body=schemas.EditMessage,
    ),
    Operation(
        "DELETE",
        C + "/messages/{message_id}",
        "Delete one's own message for everyone",
        TAG,
        "user",
        {200: Reply("The stub (`deleted: true`, empty body).", MESSAGE), 403: "`not_sender`."},
    ),
    Operation(
        "POST",
        C + "/read",
        "Mark everything up to a message read",
        TAG,
        "user",
        {200: Reply("The read mark.", READ)},
        body=schemas.MarkRead,
    ),
    Operation(
        "GET",
        "/api/users/search",
        "Find people by username prefix",
        CONTACTS,
        "user",
        {200: Reply("Up to 20 people.", obj({"users": array(PERSON)}))},
        query=[("q", text(pattern="^[a-z0-9_-]{2,32}$"), True)],
        rate_limited=True,
    ),
    Operation(
        "POST",
        "/api/users/{username}/block",
        "Block someone",
        CONTACTS,
        "user",
        {204: "Blocked (also when already blocked).", 422: "`cannot_block_self`."},
    ),
    Operation("DELETE", "/api/users/{username}/block", "Unblock someone", CONTACTS, "user", {204: "Unblocked."}),
    Operation(
        "GET",
        "/api/blocks",
        "People the caller blocked, newest first",
        CONTACTS,
        "user",
        {200: Reply("Blocks.", obj({"blocks": array({"allOf": [PERSON, obj({"blocked_at": TIME})]})}))},
    ),
    Operation(
        "GET",
        "/api/me/privacy",
        "The caller's privacy settings",
        CONTACTS,
        "user",
        {200: Reply("Settings.", PRIVACY)},
    ),
    Operation(
        "PATCH",
        "/api/me/privacy",
        "Change phone number, discoverability, read receipts or invisibility",
        CONTACTS,
        "user",
        {200: Reply("Settings.", PRIVACY)},
        body=schemas.PrivacyUpdate,
    ),
    Operation(
        "POST",
        "/api/contacts/discover",
        "Find people by phone number",
        CONTACTS,
        "user",
        {200: Reply("Matches.", obj({"matches": array(obj({"phone_number": STRING, "user": PERSON}))}))},
        body=schemas.Discover,
        rate_limited=True,
    ),
]
