"""OpenAPI operations of file history, authorship, contributors and comments
(:mod:`collabcode.history.routes`; the rules are in docs/history.md)."""

from __future__ import annotations

from collabcode.history import schemas
from collabcode.web.openapi import (
    BOOLEAN,
    EPOCH_MS,
    ID,
    INTEGER,
    STRING,
    Operation,
    Reply,
    array,
    component,
    enum,
    integer,
    nullable,
    obj,
)

#: A person as history shows them; ``username`` and ``color`` are null for a removed account.
PERSON = component(
    "HistoryPerson", obj({"id": ID, "username": nullable(STRING), "display_name": STRING, "color": nullable(STRING)})
)
CHECKPOINT = component(
    "Checkpoint",
    obj(
        {
            "id": ID,
            "version": INTEGER,
            "name": nullable(STRING),
            "automatic": BOOLEAN,
            "created_by": nullable(PERSON),
            "at": EPOCH_MS,
        }
    ),
)
#: A checkpoint inside a timeline version (its version is the one it sits in).
TIMELINE_CHECKPOINT = obj(
    {
        "id": ID,
        "name": nullable(STRING),
        "automatic": BOOLEAN,
        "created_by": nullable(PERSON),
        "at": EPOCH_MS,
    }
)
TIMELINE = component(
    "Timeline",
    obj(
        {
            "file_id": ID,
            "head": nullable(INTEGER),
            "versions": array(
                obj(
                    {
                        "version": INTEGER,
                        "at": EPOCH_MS,
                        "authors": array(obj({"user": nullable(PERSON), "via": nullable(STRING)})),
                        "merged": BOOLEAN,
                        "checkpoints": array(TIMELINE_CHECKPOINT),
                    }
                )
            ),
            "next_before": nullable(INTEGER),
        }
    ),
)
CONTRIBUTOR = component(
    "Contributor",
    obj(
        {
            "user": PERSON,
            "changes": INTEGER,
            "assistant_changes": INTEGER,
            "first_at": nullable(EPOCH_MS),
            "last_at": nullable(EPOCH_MS),
        }
    ),
)
ANCHOR = obj(
    {
        "deleted": BOOLEAN,
        "original_snippet": STRING,
        "version": INTEGER,
        "start": INTEGER,
        "end": INTEGER,
        "snippet": STRING,
    },
    optional=["start", "end", "snippet"],
)
COMMENT = component(
    "Comment",
    obj(
        {
            "id": ID,
            "file_id": ID,
            "author": PERSON,
            "body": STRING,
            "anchor": ANCHOR,
            "resolved": BOOLEAN,
            "resolved_by": nullable(PERSON),
            "created_at": EPOCH_MS,
            "updated_at": EPOCH_MS,
        }
    ),
)
CONTRIBUTORS_REPLY = Reply(
    "Contributors, most changes first; `?format=trailers` answers `Co-authored-by:` lines as `text/plain`.",
    obj({"contributors": array(CONTRIBUTOR)}),
    also={"text/plain": STRING},
)
FORMAT = [("format", enum("json", "trailers"), False)]
VIEWER = "`forbidden`: viewers cannot change the file."
F = "/api/workspaces/{workspace_id}/files/{file_id}"
TAG = "history"

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        F + "/history",
        "A file's versions, newest first",
        TAG,
        "user",
        {200: Reply("A page of versions.", TIMELINE)},
        query=[
            ("limit", integer(1, 200), False),
            ("before", integer(1, 2**62), False),
        ],
    ),
    Operation(
        "GET",
        F + "/history/diff",
        "A unified diff between a version and another (or the live text)",
        TAG,
        "user",
        {
            200: Reply(
                "The diff (empty when equal).",
                obj({"file_id": ID, "from": INTEGER, "to": nullable(INTEGER), "diff": STRING}),
            )
        },
        query=[
            ("from", integer(1, 2**62), True),
            ("to", integer(1, 2**62), False),
        ],
    ),
    Operation(
        "GET",
        F + "/history/{version}",
        "A file's text at a version",
        TAG,
        "user",
        {
            200: Reply("The text.", obj({"file_id": ID, "version": INTEGER, "at": EPOCH_MS, "text": STRING})),
            422: "`validation_failed`: the version is not a whole number from 1.",
        },
    ),
    Operation(
        "GET",
        F + "/checkpoints",
        "A file's newest 500 checkpoints, newest first",
        TAG,
        "user",
        {200: Reply("Checkpoints.", obj({"checkpoints": array(CHECKPOINT)}))},
    ),
    Operation(
        "POST",
        F + "/checkpoints",
        "Name the newest version (writers)",
        TAG,
        "user",
        {
            201: Reply("The checkpoint.", obj({"id": ID, "version": INTEGER, "name": STRING, "at": EPOCH_MS})),
            403: VIEWER,
            409: "`checkpoint_exists` or `no_history`.",
        },
        body=schemas.CreateCheckpoint,
        rate_limited=True,
    ),
    Operation(
        "POST",
        F + "/restore",
        "Bring a file back to a version as one new change (writers)",
        TAG,
        "user",
        {
            200: Reply(
                "What changed; `version` is the new head.",
                obj({"file_id": ID, "restored": INTEGER, "changed": BOOLEAN, "version": nullable(INTEGER)}),
            ),
            403: VIEWER,
            413: "The restored text would be over the document size limit.",
        },
        body=schemas.Restore,
        rate_limited=True,
    ),
    Operation(
        "GET",
        F + "/authorship",
        "Who wrote each line",
        TAG,
        "user",
        {
            200: Reply(
                "Per-line authorship.",
                obj(
                    {
                        "file_id": ID,
                        "version": nullable(INTEGER),
                        "lines": array(
                            obj(
                                {
                                    "line": INTEGER,
                                    "user": nullable(PERSON),
                                    "via": nullable(STRING),
                                    "authors": array(nullable(PERSON)),
                                    "at": nullable(EPOCH_MS),
                                }
                            )
                        ),
                    }
                ),
            )
        },
    ),
    Operation(
        "GET",
        F + "/contributors",
        "Who changed a file, and how much",
        TAG,
        "user",
        {200: CONTRIBUTORS_REPLY},
        query=FORMAT,
    ),
    Operation(
        "GET",
        "/api/workspaces/{workspace_id}/contributors",
        "Who changed a workspace's files, and how much",
        TAG,
        "user",
        {200: CONTRIBUTORS_REPLY},
        query=FORMAT,
    ),
    Operation(
        "GET",
        F + "/comments",
        "A file's comments with their anchors resolved against the live text",
        TAG,
        "user",
        {200: Reply("Comments.", obj({"comments": array(COMMENT)}))},
    ),
    Operation(
        "POST",
        F + "/comments",
        "Comment on a range of the current text",
        TAG,
        "user",
        {
            201: Reply("The comment.", COMMENT),
            409: "`limit_reached`: the file holds the most comments allowed.",
            422: "A range outside the text, or `unanchorable`.",
        },
        body=schemas.CreateComment,
        rate_limited=True,
    ),
    Operation(
        "PATCH",
        F + "/comments/{comment_id}",
        "Resolve or reopen a comment (writers, the author)",
        TAG,
        "user",
        {200: Reply("The comment.", COMMENT), 403: VIEWER},
        body=schemas.UpdateComment,
    ),
]
