"""OpenAPI operations of profiles, following, avatars, the dashboard, activity and the instance
admin pages (:mod:`collabcode.social.routes`, :mod:`collabcode.social.admin`)."""

from __future__ import annotations

from collabcode.auth.api_doc import SESSION
from collabcode.calls.api_doc import CALLER
from collabcode.chat.api_doc import MESSAGE
from collabcode.social import schemas
from collabcode.web.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    ID,
    INTEGER,
    NOTHING_YET,
    NULL,
    STRING,
    TIME,
    Operation,
    Reply,
    array,
    binary,
    component,
    enum,
    integer,
    nullable,
    obj,
    text,
)

PERSON = component(
    "PersonWithAvatar",
    obj({"id": ID, "username": STRING, "display_name": STRING, "avatar_color": STRING, "avatar_url": nullable(STRING)}),
)
PRESENCE = obj({"status": enum("online", "away", "offline"), "last_seen_at": nullable(TIME)})
PROFILE = component(
    "Profile",
    {
        "allOf": [
            PERSON,
            obj(
                {
                    "bio": STRING,
                    "joined_at": TIME,
                    "presence": nullable(PRESENCE),
                    "followers_count": INTEGER,
                    "following_count": INTEGER,
                    "followed_by_me": BOOLEAN,
                    "follows_me": BOOLEAN,
                    "blocked": BOOLEAN,
                    "shared_workspaces": array(obj({"id": ID, "name": STRING})),
                }
            ),
        ]
    },
)
FOLLOW_STATE = obj({"following": BOOLEAN, "followers_count": INTEGER})
PEOPLE_PAGE = component(
    "PeoplePage",
    obj({"users": array({"allOf": [PERSON, obj({"presence": nullable(PRESENCE)})]}), "next_cursor": nullable(STRING)}),
)
SHORT_PERSON = obj({"id": ID, "username": STRING, "display_name": STRING})
OPEN_FILE = obj({"workspace_id": ID, "workspace_name": STRING, "file_id": ID, "path": STRING})
DASHBOARD = component(
    "Dashboard",
    obj(
        {
            "workspaces": array(
                obj(
                    {
                        "id": ID,
                        "name": STRING,
                        "role": enum("owner", "editor", "viewer"),
                        "members_online": array(SHORT_PERSON),
                        "last_activity_at": TIME,
                    }
                )
            ),
            "recent_files": array({"allOf": [OPEN_FILE, obj({"opened_at": TIME})]}),
            "unread_conversations": array(
                obj(
                    {
                        "id": ID,
                        "other": obj({"username": STRING, "display_name": STRING}),
                        "unread_count": INTEGER,
                        "last_message": nullable(MESSAGE),
                    }
                )
            ),
            "missed_calls": array(
                obj(
                    {
                        "id": ID,
                        "caller": CALLER,
                        "media": enum("audio", "video"),
                        "conversation_id": nullable(ID),
                        "workspace_id": nullable(ID),
                        "started_at": TIME,
                    }
                )
            ),
            "following": array({"allOf": [PERSON, obj({"presence": PRESENCE, "activity": nullable(OPEN_FILE)})]}),
            "pending_invitations": NOTHING_YET,
            "sessions": array(SESSION),
        }
    ),
)
ACTIVITY = component(
    "ActivityPage",
    obj(
        {
            "items": array(
                obj(
                    {
                        "id": ID,
                        "type": STRING,
                        "workspace_id": ID,
                        "workspace_name": STRING,
                        "actor": nullable(obj({"username": STRING, "display_name": STRING})),
                        "data": ANY_OBJECT,
                        "created_at": TIME,
                    }
                )
            ),
            "next_cursor": nullable(STRING),
        }
    ),
)
SETTING = obj(
    {
        "editable": {"const": False},
        "source": enum("default", "configured"),
        "flag": nullable(STRING),
        "env": array(STRING),
        "help": STRING,
        "value": {},
        "is_set": BOOLEAN,
    },
    optional=["is_set"],
)
SETTINGS = component(
    "InstanceSettings",
    obj(
        {
            "settings": {**ANY_OBJECT, "additionalProperties": SETTING},
            "ai_enabled": BOOLEAN,
            "changes_need_restart": {"const": True},
        }
    ),
)
HEALTH = component(
    "InstanceHealth",
    obj(
        {
            "ok": BOOLEAN,
            "versions": obj({"collabcode": STRING, "python": STRING}),
            "checks": array(obj({"name": STRING, "ok": BOOLEAN, "detail": STRING})),
            "process": obj(
                {
                    "uptime_seconds": INTEGER,
                    "open_sockets": obj({"events": INTEGER, "collab": INTEGER}),
                    "rooms_loaded": nullable(INTEGER),
                    "broker": obj({"kind": STRING, "healthy": BOOLEAN}),
                }
            ),
            "checked_at": TIME,
        }
    ),
)
IMAGE = binary("image/*")
IMAGE_HEADERS = {
    "ETag": "The avatar id, quoted; send it back in `If-None-Match`.",
    "Cache-Control": "`public, max-age=31536000, immutable` by id; `private, no-cache` by username.",
}
PAGING = [
    ("limit", integer(1, 100), False),
    ("before", text(max_length=64), False),
]
U = "/api/users/{username}"
TAG = "people"
NOT_VISIBLE = "No such person, a disabled one, or someone who blocked the caller: `not_found`."

OPERATIONS: list[Operation] = [
    Operation("GET", U, "A person's profile", TAG, "user", {200: Reply("The profile.", PROFILE), 404: NOT_VISIBLE}),
    Operation(
        "POST",
        U + "/follow",
        "Follow someone",
        TAG,
        "user",
        {
            200: Reply("Following (also when already).", FOLLOW_STATE),
            403: "`blocked`: the caller blocked them.",
            404: NOT_VISIBLE,
            422: "`cannot_follow_self`.",
        },
        rate_limited=True,
    ),
    Operation(
        "DELETE",
        U + "/follow",
        "Stop following someone",
        TAG,
        "user",
        {200: Reply("Not following.", FOLLOW_STATE), 404: NOT_VISIBLE},
        rate_limited=True,
    ),
    Operation(
        "GET",
        U + "/followers",
        "People who follow someone, newest first",
        TAG,
        "user",
        {200: Reply("A page of people.", PEOPLE_PAGE), 404: NOT_VISIBLE},
        query=PAGING,
    ),
    Operation(
        "GET",
        U + "/following",
        "People someone follows, newest first",
        TAG,
        "user",
        {200: Reply("A page of people.", PEOPLE_PAGE), 404: NOT_VISIBLE},
        query=PAGING,
    ),
    Operation(
        "GET",
        U + "/avatar",
        "A person's avatar image",
        TAG,
        "user",
        {
            200: Reply("The image (`image/webp` or `image/png`).", IMAGE, "image/*", IMAGE_HEADERS),
            304: "Not modified (`If-None-Match`).",
            404: "`no_avatar` (initials avatar), or " + NOT_VISIBLE,
        },
    ),
    Operation(
        "GET",
        "/api/avatars/{avatar_id}",
        "An avatar image by id (no sign-in; ids are unguessable)",
        TAG,
        "public",
        {
            200: Reply("The image (`image/webp` or `image/png`).", IMAGE, "image/*", IMAGE_HEADERS),
            304: "Not modified (`If-None-Match`).",
        },
    ),
    Operation(
        "PATCH",
        "/api/me/profile",
        "Change display name or bio",
        TAG,
        "user",
        {200: Reply("The caller's profile.", PROFILE)},
        body=schemas.ProfileUpdate,
    ),
    Operation(
        "PUT",
        "/api/me/avatar",
        "Upload an avatar (re-encoded, at most 512x512)",
        TAG,
        "user",
        {
            200: Reply("The new avatar.", obj({"avatar_url": STRING, "width": INTEGER, "height": INTEGER})),
            413: "`image_too_large` (over 1 MiB).",
            415: "`unsupported_image`: another type, SVG, markup, scripts, or bytes that do not decode.",
            422: "Empty, or over 4096x4096 (`dimensions`).",
        },
        raw_body={media: binary(media) for media in ("image/png", "image/jpeg", "image/webp", "image/gif")},
        rate_limited=True,
    ),
    Operation(
        "DELETE",
        "/api/me/avatar",
        "Go back to the initials avatar",
        TAG,
        "user",
        {200: Reply("The initials avatar.", obj({"avatar_url": NULL, "avatar_color": STRING}))},
    ),
    Operation(
        "POST",
        "/api/me/recent-files",
        "Record that the caller opened a file",
        TAG,
        "user",
        {
            200: Reply("The record.", obj({"workspace_id": ID, "file_id": ID, "opened_at": TIME})),
            404: "`not_found`: a file the caller cannot open.",
        },
        body=schemas.RecentFile,
    ),
    Operation(
        "GET", "/api/dashboard", "The caller's dashboard", TAG, "user", {200: Reply("The dashboard.", DASHBOARD)}
    ),
    Operation(
        "GET",
        "/api/activity",
        "Events of the caller's workspaces, newest first",
        TAG,
        "user",
        {200: Reply("A page of the feed.", ACTIVITY)},
        query=PAGING,
    ),
    Operation(
        "GET",
        "/api/admin/settings",
        "Instance settings (read-only; secrets only say whether they are set)",
        "admin",
        "admin",
        {200: Reply("The settings.", SETTINGS)},
    ),
    Operation(
        "PATCH",
        "/api/admin/settings",
        "Try to change a setting: every one is read at start",
        "admin",
        "admin",
        {
            200: Reply("The settings (for an empty body).", SETTINGS),
            409: "`setting_read_only`, naming the flag and environment variable to set.",
        },
        body=schemas.SettingsUpdate,
    ),
    Operation(
        "GET",
        "/api/admin/health",
        "The doctor's checks and this process's facts",
        "admin",
        "admin",
        {200: Reply("Health.", HEALTH)},
    ),
]
