"""OpenAPI operations of calls and ICE servers (:mod:`collabcode.calls.routes`)."""

from __future__ import annotations

from collabcode.calls import schemas
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
)

#: Who started a call (``username``/``display_name`` null when the account is gone).
CALLER = obj({"user_id": ID, "username": nullable(STRING), "display_name": nullable(STRING)})
CALL = component(
    "Call",
    obj(
        {
            "id": ID,
            "kind": enum("direct", "workspace"),
            "state": enum("ringing", "active", "ended"),
            "media": enum("audio", "video"),
            "caller": CALLER,
            "conversation_id": nullable(ID),
            "workspace_id": nullable(ID),
            "participants": array(
                obj(
                    {
                        "user_id": ID,
                        "username": STRING,
                        "display_name": STRING,
                        "role": enum("caller", "callee", "member"),
                        "state": enum("ringing", "joined", "declined", "missed", "left"),
                        "joined_at": nullable(TIME),
                        "left_at": nullable(TIME),
                    }
                )
            ),
            "max_participants": INTEGER,
            "started_at": TIME,
            "ring_until": nullable(TIME),
            "answered_at": nullable(TIME),
            "ended_at": nullable(TIME),
            "end_reason": nullable(enum("missed", "declined", "cancelled", "hangup", "connection_lost")),
        }
    ),
)
ICE_SERVER = obj({"urls": array(STRING), "username": STRING, "credential": STRING}, optional=["username", "credential"])
C = "/api/calls/{call_id}"
TAG = "calls"

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/api/rtc/ice-servers",
        "STUN and TURN servers for RTCPeerConnection",
        TAG,
        "user",
        {
            200: Reply(
                "Servers and how long the TURN credential lasts.",
                obj({"ice_servers": array(ICE_SERVER), "ttl": INTEGER}),
            )
        },
    ),
    Operation(
        "GET",
        "/api/calls",
        "Calls the caller was rung for or in, newest first",
        TAG,
        "user",
        {200: Reply("A page of calls.", obj({"calls": array(CALL), "has_more": BOOLEAN}))},
        query=[
            ("limit", integer(1, 100), False),
            ("before", integer(1, 2**53), False),
            ("conversation_id", ID, False),
            ("workspace_id", ID, False),
            ("state", enum("live"), False),
        ],
    ),
    Operation(
        "POST",
        "/api/calls",
        "Start a direct or workspace call (or join the one already there)",
        TAG,
        "user",
        {
            200: Reply("Joined an existing call.", CALL),
            201: Reply("A new call, ringing.", CALL),
            403: "`not_connected` or `blocked`.",
            404: "`not_found`: no such user, workspace or conversation.",
            409: "`busy`, `already_in_call` or `conflict`.",
            422: "`cannot_call_self`, or an invalid body.",
        },
        body=schemas.StartCall,
        rate_limited=True,
    ),
    Operation("GET", C, "One call", TAG, "user", {200: Reply("The call.", CALL)}),
    Operation(
        "POST",
        C + "/accept",
        "Answer a call",
        TAG,
        "user",
        {
            200: Reply("The call, active.", CALL),
            403: "`blocked`.",
            409: "`not_ringing`, `call_full`, `busy`, `already_in_call` or `call_ended`.",
        },
    ),
    Operation(
        "POST",
        C + "/decline",
        "Decline a call",
        TAG,
        "user",
        {200: Reply("The call.", CALL), 409: "`not_ringing`."},
    ),
    Operation(
        "POST",
        C + "/cancel",
        "Cancel a call the caller started before anyone answered",
        TAG,
        "user",
        {200: Reply("The call, ended `cancelled`.", CALL), 403: "`not_caller`.", 409: "`not_ringing`."},
    ),
    Operation(
        "POST",
        C + "/end",
        "Leave (hang up) a call",
        TAG,
        "user",
        {200: Reply("The call.", CALL), 409: "`not_joined` or `call_ended`."},
    ),
]
