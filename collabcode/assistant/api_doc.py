"""OpenAPI operations of the AI assistant (:mod:`collabcode.assistant.routes`)."""

from __future__ import annotations

from collabcode.assistant.schemas import ChatRequest, CompleteRequest, WorkspaceSwitch
from collabcode.web.openapi import BOOLEAN, ID, STRING, Operation, Reply, enum, nullable, obj

STATUS = obj(
    {
        "enabled": BOOLEAN,
        "provider": nullable(STRING),
        "chat_model": nullable(STRING),
        "completion_model": nullable(STRING),
        "reason": nullable(STRING),
        "how_to_enable": nullable(STRING),
    }
)
#: One server-sent event of a chat answer (``sse()`` in routes.py); ``data`` is JSON text.
SSE_EVENT = obj(
    {
        "event": enum("delta", "done", "error"),
        "data": {
            **STRING,
            "description": 'JSON: delta `{"text"}`, done `{"finish_reason"}`, error `{"code", "message"}`.',
        },
    }
)
PROVIDER_ERRORS = "`ai_provider_error`, `ai_malformed_answer`, `ai_answer_cut_off`: the provider failed."
TAG = "assistant"

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/api/ai/status",
        "Whether the assistant is on (for a workspace)",
        TAG,
        "user",
        {200: Reply("Status.", STATUS), 404: "`not_found`: a malformed or invisible `workspace_id`."},
        query=[("workspace_id", ID, False)],
    ),
    Operation(
        "POST",
        "/api/ai/complete",
        "An inline completion at the cursor",
        TAG,
        "user",
        {
            200: Reply("The completion.", obj({"completion": STRING})),
            403: "`secret_file`: the file looks like it holds secrets.",
            404: "`not_found`: no such workspace or file, or one the caller may not see.",
            409: "`superseded`: a newer request of the caller replaced it.",
            502: PROVIDER_ERRORS,
            503: "`assistant_off`, `ai_unavailable`, `ai_timeout`, `ai_busy`: off, or the provider is unreachable.",
        },
        body=CompleteRequest,
        rate_limited=True,
    ),
    Operation(
        "POST",
        "/api/ai/chat",
        "A streamed chat answer about the code",
        TAG,
        "user",
        {
            200: Reply(
                "Server-sent events: `delta` events, then `done` or `error`; the schema describes one event.",
                SSE_EVENT,
                "text/event-stream",
            ),
            403: "`secret_file`: the file looks like it holds secrets.",
            404: "`not_found`: no such workspace or file, or one the caller may not see.",
            502: PROVIDER_ERRORS,
            503: "`assistant_off`, `ai_unavailable`, `ai_timeout`, `ai_busy`: off, or the provider is unreachable.",
        },
        body=ChatRequest,
        rate_limited=True,
    ),
    Operation(
        "PATCH",
        "/api/ai/workspaces/{workspace_id}",
        "Turn the assistant on or off for a workspace (owners, admins)",
        TAG,
        "user",
        {
            200: Reply("The switch.", obj({"workspace_id": ID, "enabled": BOOLEAN})),
            403: "`forbidden`: not an owner of the workspace or an instance admin.",
        },
        body=WorkspaceSwitch,
    ),
]
