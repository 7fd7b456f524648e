"""OpenAPI operations of workspaces, members, files and archives (:mod:`collabcode.workspaces.routes`)."""

from __future__ import annotations

from collabcode.web.openapi import (
    EPOCH_MS,
    ID,
    INTEGER,
    STRING,
    Operation,
    Reply,
    array,
    binary,
    component,
    enum,
    obj,
)
from collabcode.workspaces import schemas

ROLE = enum("owner", "editor", "viewer")
WORKSPACE = component(
    "Workspace",
    obj(
        {
            "id": ID,
            "name": STRING,
            "role": ROLE,
            "created_at": EPOCH_MS,
            "updated_at": EPOCH_MS,
            "member_count": INTEGER,
        },
        optional=["member_count"],
    ),
)
MEMBER = component(
    "WorkspaceMember",
    obj(
        {
            "user_id": ID,
            "username": STRING,
            "display_name": STRING,
            "avatar_color": STRING,
            "role": ROLE,
            "added_at": EPOCH_MS,
        }
    ),
)
ENTRY = component(
    "Entry", obj({"id": ID, "path": STRING, "kind": enum("file", "folder"), "size": INTEGER, "updated_at": EPOCH_MS})
)
TREE = component("Tree", obj({"workspace_id": ID, "version": INTEGER, "entries": array(ENTRY)}))
IMPORTED = obj(
    {
        "created": INTEGER,
        "skipped": array(obj({"path": STRING, "reason": STRING})),
        "version": INTEGER,
    }
)
ROLE_FORBIDS = "`forbidden`: the caller's role does not allow this."
NO_CONTENT = "Done (no body)."
W = "/api/workspaces/{workspace_id}"
TAG = "workspaces"

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/api/workspaces",
        "The caller's workspaces, most recently changed first",
        TAG,
        "user",
        {200: Reply("Workspaces.", obj({"workspaces": array(WORKSPACE)}))},
    ),
    Operation(
        "POST",
        "/api/workspaces",
        "Create a workspace; the caller owns it",
        TAG,
        "user",
        {201: Reply("The workspace.", WORKSPACE), 409: "`limit_reached`."},
        body=schemas.CreateWorkspace,
    ),
    Operation("GET", W, "One workspace", TAG, "user", {200: Reply("The workspace.", WORKSPACE)}),
    Operation(
        "PATCH",
        W,
        "Rename a workspace (owner)",
        TAG,
        "user",
        {200: Reply("The workspace.", WORKSPACE), 403: ROLE_FORBIDS},
        body=schemas.UpdateWorkspace,
    ),
    Operation(
        "DELETE",
        W,
        "Delete a workspace with its files and members (owner)",
        TAG,
        "user",
        {204: NO_CONTENT, 403: ROLE_FORBIDS},
    ),
    Operation(
        "GET",
        W + "/members",
        "Members of a workspace",
        TAG,
        "user",
        {200: Reply("Members.", obj({"members": array(MEMBER)}))},
    ),
    Operation(
        "POST",
        W + "/members",
        "Add a member by username (owner)",
        TAG,
        "user",
        {201: Reply("The member.", MEMBER), 403: ROLE_FORBIDS, 409: "`already_member`, `limit_reached`."},
        body=schemas.AddMember,
    ),
    Operation(
        "PATCH",
        W + "/members/{user_id}",
        "Change a member's role (owner)",
        TAG,
        "user",
        {200: Reply("The member.", MEMBER), 403: ROLE_FORBIDS, 409: "`last_owner`."},
        body=schemas.UpdateMember,
    ),
    Operation(
        "DELETE",
        W + "/members/{user_id}",
        "Remove a member (owner), or leave",
        TAG,
        "user",
        {204: NO_CONTENT, 403: ROLE_FORBIDS, 409: "`last_owner`."},
    ),
    Operation("GET", W + "/tree", "Every file and folder", TAG, "user", {200: Reply("The tree.", TREE)}),
    Operation(
        "POST",
        W + "/files",
        "Create a file or folder (editor); parents are created",
        TAG,
        "user",
        {
            201: Reply("The entry.", ENTRY),
            403: ROLE_FORBIDS,
            409: "`already_exists`, `parent_is_file`, `case_conflict`, `limit_reached`, `conflict`.",
            413: "`file_too_large`, `payload_too_large`.",
        },
        body=schemas.CreateEntry,
    ),
    Operation(
        "PATCH",
        W + "/files/{file_id}",
        "Move or rename a file or folder (editor)",
        TAG,
        "user",
        {
            200: Reply("The entry.", ENTRY),
            403: ROLE_FORBIDS,
            409: "`already_exists`, `parent_is_file`, `case_conflict`, `conflict`.",
        },
        body=schemas.MoveEntry,
    ),
    Operation(
        "DELETE",
        W + "/files/{file_id}",
        "Delete a file, or a folder with everything below (editor)",
        TAG,
        "user",
        {204: NO_CONTENT, 403: ROLE_FORBIDS},
    ),
    Operation(
        "GET",
        W + "/files/{file_id}/content",
        "A file's text",
        TAG,
        "user",
        {
            200: Reply(
                "The text; `?download=1` (or `true`) adds `Content-Disposition: attachment`.",
                STRING,
                "text/plain",
            ),
            409: "`not_a_file`.",
        },
        query=[("download", STRING, False)],
    ),
    Operation(
        "PUT",
        W + "/files/{file_id}/content",
        "Replace a file's text (editor)",
        TAG,
        "user",
        {
            200: Reply("The entry, once durable.", ENTRY),
            403: ROLE_FORBIDS,
            409: "`not_a_file`, `conflict`.",
            413: "`file_too_large`, `payload_too_large`.",
            415: "`binary_content` or `unsupported_media_type`: not UTF-8 text.",
        },
        raw_body={"text/plain": STRING},
    ),
    Operation(
        "POST",
        W + "/import",
        "Import a zip archive (editor)",
        TAG,
        "user",
        {
            200: Reply("What was created and skipped.", IMPORTED),
            400: "`invalid_archive`.",
            403: ROLE_FORBIDS,
            409: "`limit_reached`, `conflict`.",
            413: "`archive_too_large`, `too_many_entries`, `payload_too_large`.",
            415: "`unsupported_media_type`: not `application/zip`.",
            507: "`insufficient_storage`.",
        },
        raw_body={"application/zip": binary("application/zip")},
        rate_limited=True,
    ),
    Operation(
        "GET",
        W + "/export",
        "Every file and folder as a zip archive",
        TAG,
        "user",
        {
            200: Reply(
                "The archive (attachment).",
                binary("application/zip"),
                "application/zip",
            ),
            507: "`insufficient_storage`.",
        },
    ),
]
