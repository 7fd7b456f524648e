"""Who may use each route, socket and socket message, and what everyone else gets: one table.

Every HTTP route (method and path template exactly as registered), every page of the app shell,
both WebSockets, every client frame type of the events socket and every y-websocket message kind
of the collaboration socket has one :class:`AccessRow`. A row names the :class:`Rule` that grants
access and, per kind of intruder (:class:`Probe`), the answer the contract (SECURITY.md) requires:

- HTTP: the status code (401 anonymous, 403 for a caller who can see the object but lacks the
  role, 404 with the one ``not_found`` body wherever existence must not leak);
- a socket handshake that is refused: HTTP 403, before ``accept``;
- an events-socket frame: an ``error`` frame carrying that status (the socket stays open);
- a collaboration message: the close code (1008 for a viewer's write).

Each value is both the contract's answer and what the code answers: the sweep holds them equal,
so a difference fails it, and is fixed in the code rather than by copying the code's answer here.

``tests/security/test_access_sweep.py`` fails when a route or frame type has no row, when a row
names nothing that exists, and when the code answers anything else than the row says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from collabcode.web.static import APP_ROUTES

__all__ = ["ACCESS_RULES", "AccessRow", "Kind", "Probe", "Rule", "row_for", "rows_of"]


class Kind(StrEnum):
    HTTP = "http"  # key "METHOD /path/{template}"; HEAD goes with GET
    PAGE = "page"  # a path answered with the app shell (collabcode.web.static.APP_ROUTES)
    SOCKET = "socket"  # key: the WebSocket path template
    FRAME = "frame"  # key: an events-socket client frame type
    COLLAB = "collab_message"  # key: a y-websocket message kind on /ws/collab


class Rule(StrEnum):
    PUBLIC = "public"
    PUBLIC_BY_ID = "public, the id is an unguessable capability"
    SIGNED_IN = "any signed-in user (acts on their own data)"
    ADMIN = "instance admin"
    WORKSPACE_VIEWER = "workspace member, role viewer or above"
    WORKSPACE_EDITOR = "workspace member, role editor or above"
    WORKSPACE_OWNER = "workspace owner"
    WORKSPACE_OWNER_OR_SELF = "workspace owner, or the member themselves (leaving)"
    WORKSPACE_OWNER_OR_ADMIN = "workspace owner or instance admin"
    COMMENT_AUTHOR_OR_EDITOR = "workspace editor or above, or the comment's author"
    CONVERSATION_PARTICIPANT = "one of the conversation's two people"
    MESSAGE_SENDER = "the message's sender, in a conversation they are in"
    CALL_PARTICIPANT = "someone rung for or in the call (workspace calls: any member)"
    CALL_CALLER = "the caller of the call"
    SESSION_OWNER = "the user whose session it is"
    NOBODY = "no client: a server-to-client message"


class Probe(StrEnum):
    """Who tries a row they should not be able to use."""

    ANONYMOUS = "anonymous"  # no credentials at all, or the token of a signed-out session
    STRANGER = "stranger"  # signed in, no relation to the object (not a member, participant or admin)
    ADMIN = "admin"  # an instance admin with no relation to the object: admin rights open no one's things
    VIEWER = "viewer"  # a workspace viewer
    EDITOR = "editor"  # a workspace editor, on owner-only rows
    PARTICIPANT = "participant"  # the other person of a conversation or call, on sender/caller-only rows
    FOREIGN_ID = "foreign_id"  # a rightful caller using an id from another workspace, file or conversation


@dataclass(frozen=True)
class AccessRow:
    kind: Kind
    key: str
    rule: Rule
    #: What each intruder gets: an HTTP status, a handshake status, an error-frame status or a close code.
    denied: Mapping[Probe, int] = field(default_factory=lambda: MappingProxyType({}))
    note: str = ""


A: Final = Probe.ANONYMOUS
S: Final = Probe.STRANGER
ADM: Final = Probe.ADMIN
V: Final = Probe.VIEWER
E: Final = Probe.EDITOR
P: Final = Probe.PARTICIPANT
F: Final = Probe.FOREIGN_ID

#: The contract's answers for each rule on an HTTP route; rows may narrow them (fewer probes apply).
HTTP_DENIALS: Final[Mapping[Rule, Mapping[Probe, int]]] = {
    Rule.PUBLIC: {},
    Rule.PUBLIC_BY_ID: {},
    Rule.SIGNED_IN: {A: 401},
    Rule.ADMIN: {A: 401, S: 403},
    Rule.WORKSPACE_VIEWER: {A: 401, S: 404, ADM: 404, F: 404},
    Rule.WORKSPACE_EDITOR: {A: 401, S: 404, ADM: 404, V: 403, F: 404},
    Rule.WORKSPACE_OWNER: {A: 401, S: 404, ADM: 404, V: 403, E: 403, F: 404},
    Rule.WORKSPACE_OWNER_OR_SELF: {A: 401, S: 404, ADM: 404, V: 403, E: 403, F: 404},
    Rule.WORKSPACE_OWNER_OR_ADMIN: {A: 401, S: 404, V: 403, E: 403},
    Rule.COMMENT_AUTHOR_OR_EDITOR: {A: 401, S: 404, ADM: 404, V: 403, F: 404},
    Rule.CONVERSATION_PARTICIPANT: {A: 401, S: 404, ADM: 404, F: 404},
    Rule.MESSAGE_SENDER: {A: 401, S: 404, ADM: 404, P: 403, F: 404},
    Rule.CALL_PARTICIPANT: {A: 401, S: 404, ADM: 404},
    Rule.CALL_CALLER: {A: 401, S: 404, ADM: 404, P: 403},
    Rule.SESSION_OWNER: {A: 401, ADM: 404, F: 404},
}


def _http(method: str, path: str, rule: Rule, note: str = "", *, only: tuple[Probe, ...] | None = None) -> AccessRow:
    denied = dict(HTTP_DENIALS[rule])
    if only is not None:
        denied = {probe: status for probe, status in denied.items() if probe in only}
    return AccessRow(Kind.HTTP, f"{method} {path}", rule, MappingProxyType(denied), note)


def _frame(frame_type: str, rule: Rule, note: str = "") -> AccessRow:
    # Anonymous callers never get a socket (see the /ws/events row): frames only meet signed-in people.
    denied: dict[Probe, int] = {probe: status for probe, status in HTTP_DENIALS[rule].items() if probe is not A}
    return AccessRow(Kind.FRAME, frame_type, rule, MappingProxyType(denied), note)


_W = "/api/workspaces/{workspace_id}"
_F = _W + "/files/{file_id}"
_C = "/api/conversations/{conversation_id}"
_CALL = "/api/calls/{call_id}"
_PUBLIC_AUTH = "an account flow: no session yet; rate limited and enumeration-resistant"

_HTTP_ROWS: Final = (
    # -- operations and static files
    _http("GET", "/healthz", Rule.PUBLIC, "liveness; no data"),
    _http("GET", "/readyz", Rule.PUBLIC, "readiness; dependency kinds only, never errors' text"),
    _http("GET", "/metrics", Rule.PUBLIC, "Prometheus text: counters by route template, no ids or user data"),
    _http("GET", "/static/{path:path}", Rule.PUBLIC, "the built frontend"),
    _http("GET", "/api/openapi.json", Rule.PUBLIC, "the API description, readable before signing in"),
    # -- accounts
    _http("GET", "/api/auth/config", Rule.PUBLIC, "the registration mode"),
    _http("GET", "/api/auth/setup", Rule.PUBLIC, "whether first-run setup is needed"),
    _http("POST", "/api/auth/setup", Rule.PUBLIC, "needs the one-time setup token"),
    _http("GET", "/api/auth/invites/{token}", Rule.PUBLIC, "whether an invite token is usable"),
    _http("POST", "/api/auth/signup", Rule.PUBLIC, _PUBLIC_AUTH),
    _http("POST", "/api/auth/login", Rule.PUBLIC, _PUBLIC_AUTH),
    _http("POST", "/api/auth/refresh", Rule.PUBLIC, "the refresh cookie is the credential"),
    _http("POST", "/api/auth/logout", Rule.PUBLIC, "works with an expired access token too"),
    _http("POST", "/api/auth/verify-email", Rule.PUBLIC, "the mailed token is the credential"),
    _http("POST", "/api/auth/verify-email/resend", Rule.PUBLIC, _PUBLIC_AUTH),
    _http("POST", "/api/auth/password/forgot", Rule.PUBLIC, _PUBLIC_AUTH),
    _http("POST", "/api/auth/password/reset", Rule.PUBLIC, "the mailed token is the credential"),
    _http("POST", "/api/auth/password/change", Rule.SIGNED_IN),
    _http("GET", "/api/auth/sessions", Rule.SIGNED_IN, "the caller's own sessions"),
    _http("POST", "/api/auth/sessions/revoke-others", Rule.SIGNED_IN),
    _http("DELETE", "/api/auth/sessions/{session_id}", Rule.SESSION_OWNER, "another user's session is 404"),
    _http("POST", "/api/auth/ws-ticket", Rule.SIGNED_IN),
    _http("GET", "/api/me", Rule.SIGNED_IN),
    _http("PATCH", "/api/me", Rule.SIGNED_IN),
    # -- instance administration
    _http("GET", "/api/admin/users", Rule.ADMIN),
    _http("PATCH", "/api/admin/users/{user_id}", Rule.ADMIN),
    _http("POST", "/api/admin/users/{user_id}/reset-link", Rule.ADMIN),
    _http("GET", "/api/admin/invites", Rule.ADMIN),
    _http("POST", "/api/admin/invites", Rule.ADMIN),
    _http("DELETE", "/api/admin/invites/{invite_id}", Rule.ADMIN),
    _http("GET", "/api/admin/settings", Rule.ADMIN),
    _http("PATCH", "/api/admin/settings", Rule.ADMIN),
    _http("GET", "/api/admin/health", Rule.ADMIN),
    # -- workspaces
    _http("GET", "/api/workspaces", Rule.SIGNED_IN, "only the caller's workspaces"),
    _http("POST", "/api/workspaces", Rule.SIGNED_IN, "the creator becomes its owner"),
    _http("GET", _W, Rule.WORKSPACE_VIEWER),
    _http("PATCH", _W, Rule.WORKSPACE_OWNER),
    _http("DELETE", _W, Rule.WORKSPACE_OWNER),
    _http("GET", _W + "/members", Rule.WORKSPACE_VIEWER),
    _http("POST", _W + "/members", Rule.WORKSPACE_OWNER),
    _http("PATCH", _W + "/members/{user_id}", Rule.WORKSPACE_OWNER, "a user of another workspace is 404"),
    _http("DELETE", _W + "/members/{user_id}", Rule.WORKSPACE_OWNER_OR_SELF, "a user of another workspace is 404"),
    _http("GET", _W + "/tree", Rule.WORKSPACE_VIEWER),
    _http("POST", _W + "/files", Rule.WORKSPACE_EDITOR),
    _http("PATCH", _F, Rule.WORKSPACE_EDITOR, "a file of another workspace is 404"),
    _http("DELETE", _F, Rule.WORKSPACE_EDITOR, "a file of another workspace is 404"),
    _http("GET", _F + "/content", Rule.WORKSPACE_VIEWER, "a file of another workspace is 404"),
    _http("PUT", _F + "/content", Rule.WORKSPACE_EDITOR, "a file of another workspace is 404"),
    _http("POST", _W + "/import", Rule.WORKSPACE_EDITOR),
    _http("GET", _W + "/export", Rule.WORKSPACE_VIEWER),
    # -- history, authorship, comments
    _http("GET", _F + "/history", Rule.WORKSPACE_VIEWER),
    _http("GET", _F + "/history/diff", Rule.WORKSPACE_VIEWER),
    _http("GET", _F + "/history/{version}", Rule.WORKSPACE_VIEWER),
    _http("GET", _F + "/checkpoints", Rule.WORKSPACE_VIEWER),
    _http("POST", _F + "/checkpoints", Rule.WORKSPACE_EDITOR),
    _http("POST", _F + "/restore", Rule.WORKSPACE_EDITOR),
    _http("GET", _F + "/authorship", Rule.WORKSPACE_VIEWER),
    _http("GET", _F + "/contributors", Rule.WORKSPACE_VIEWER),
    _http("GET", _W + "/contributors", Rule.WORKSPACE_VIEWER),
    _http("GET", _F + "/comments", Rule.WORKSPACE_VIEWER),
    _http("POST", _F + "/comments", Rule.WORKSPACE_VIEWER, "viewers may comment"),
    _http("PATCH", _F + "/comments/{comment_id}", Rule.COMMENT_AUTHOR_OR_EDITOR, "a comment of another file is 404"),
    # -- conversations and people
    _http("GET", "/api/conversations", Rule.SIGNED_IN, "only the caller's conversations"),
    _http("POST", "/api/conversations", Rule.SIGNED_IN, "opens one with a discoverable person"),
    _http("GET", _C, Rule.CONVERSATION_PARTICIPANT),
    _http("GET", _C + "/messages", Rule.CONVERSATION_PARTICIPANT),
    _http("POST", _C + "/messages", Rule.CONVERSATION_PARTICIPANT),
    _http("PATCH", _C + "/messages/{message_id}", Rule.MESSAGE_SENDER, "a message of another conversation is 404"),
    _http("DELETE", _C + "/messages/{message_id}", Rule.MESSAGE_SENDER, "a message of another conversation is 404"),
    _http("POST", _C + "/read", Rule.CONVERSATION_PARTICIPANT, "a message of another conversation is 404"),
    _http("GET", "/api/users/search", Rule.SIGNED_IN),
    _http("POST", "/api/users/{username}/block", Rule.SIGNED_IN, "the caller's own block list"),
    _http("DELETE", "/api/users/{username}/block", Rule.SIGNED_IN, "the caller's own block list"),
    _http("GET", "/api/blocks", Rule.SIGNED_IN),
    _http("GET", "/api/me/privacy", Rule.SIGNED_IN),
    _http("PATCH", "/api/me/privacy", Rule.SIGNED_IN),
    _http("POST", "/api/contacts/discover", Rule.SIGNED_IN, "quota per user"),
    # -- profiles, following, avatars, dashboard
    _http("GET", "/api/users/{username}", Rule.SIGNED_IN),
    _http("POST", "/api/users/{username}/follow", Rule.SIGNED_IN),
    _http("DELETE", "/api/users/{username}/follow", Rule.SIGNED_IN),
    _http("GET", "/api/users/{username}/followers", Rule.SIGNED_IN),
    _http("GET", "/api/users/{username}/following", Rule.SIGNED_IN),
    _http("GET", "/api/users/{username}/avatar", Rule.SIGNED_IN),
    _http("GET", "/api/avatars/{avatar_id}", Rule.PUBLIC_BY_ID, "handed out with profiles, like a file URL"),
    _http("PATCH", "/api/me/profile", Rule.SIGNED_IN),
    _http("PUT", "/api/me/avatar", Rule.SIGNED_IN),
    _http("DELETE", "/api/me/avatar", Rule.SIGNED_IN),
    _http(
        "POST",
        "/api/me/recent-files",
        Rule.WORKSPACE_VIEWER,
        "the body's file must be in the body's workspace",
        only=(A, S, ADM, F),
    ),
    _http("GET", "/api/dashboard", Rule.SIGNED_IN),
    _http("GET", "/api/activity", Rule.SIGNED_IN, "only what the caller may see"),
    # -- calls
    _http("GET", "/api/rtc/ice-servers", Rule.SIGNED_IN, "TURN credentials for the caller"),
    _http("GET", "/api/calls", Rule.SIGNED_IN, "only the caller's calls"),
    _http(
        "POST",
        "/api/calls",
        Rule.WORKSPACE_VIEWER,
        "a workspace call needs membership; a conversation_id of someone else's conversation is 404",
        only=(A, S, ADM, F),
    ),
    _http("GET", _CALL, Rule.CALL_PARTICIPANT),
    _http("POST", _CALL + "/accept", Rule.CALL_PARTICIPANT),
    _http("POST", _CALL + "/decline", Rule.CALL_PARTICIPANT),
    _http("POST", _CALL + "/cancel", Rule.CALL_CALLER),
    _http("POST", _CALL + "/end", Rule.CALL_PARTICIPANT),
    # -- the assistant
    _http(
        "GET",
        "/api/ai/status",
        Rule.WORKSPACE_VIEWER,
        "any signed-in user; with ?workspace_id= that workspace must be visible (404)",
        only=(A, S, ADM),
    ),
    _http(
        "POST", "/api/ai/complete", Rule.WORKSPACE_VIEWER, "the body names the workspace and file", only=(A, S, ADM, F)
    ),
    _http(
        "POST",
        "/api/ai/chat",
        Rule.WORKSPACE_VIEWER,
        "with a workspace_id, it and the context's file must be visible",
        only=(A, S, ADM, F),
    ),
    _http("PATCH", "/api/ai/workspaces/{workspace_id}", Rule.WORKSPACE_OWNER_OR_ADMIN),
)

_PAGE_ROWS: Final = tuple(
    AccessRow(Kind.PAGE, path, Rule.PUBLIC, note="the app shell: the same HTML for everyone, no data")
    for path in APP_ROUTES
)

_SOCKET_ROWS: Final = (
    AccessRow(
        Kind.SOCKET,
        "/ws/events",
        Rule.SIGNED_IN,
        MappingProxyType({A: 403}),
        "handshake refused before accept: HTTP 403",
    ),
    AccessRow(
        Kind.SOCKET,
        "/ws/collab/{workspace_id}/{file_id}",
        Rule.WORKSPACE_VIEWER,
        MappingProxyType({A: 403, S: 403, ADM: 403, F: 403}),
        "handshake refused before accept: HTTP 403 (a file of another workspace too)",
    ),
)

_FRAME_ROWS: Final = (
    _frame("ping", Rule.SIGNED_IN),
    _frame("presence.set", Rule.SIGNED_IN, "the caller's own presence"),
    _frame("message.send", Rule.CONVERSATION_PARTICIPANT),
    _frame("message.edit", Rule.MESSAGE_SENDER, "a message of another conversation is 404"),
    _frame("message.delete", Rule.MESSAGE_SENDER, "a message of another conversation is 404"),
    _frame("message.read", Rule.CONVERSATION_PARTICIPANT, "a message of another conversation is 404"),
    _frame("typing", Rule.CONVERSATION_PARTICIPANT, "the typing user is stamped by the server"),
    _frame("rtc.offer", Rule.CALL_PARTICIPANT, "relayed only between joined participants"),
    _frame("rtc.answer", Rule.CALL_PARTICIPANT, "relayed only between joined participants"),
    _frame("rtc.candidate", Rule.CALL_PARTICIPANT, "relayed only between joined participants"),
    _frame("call.accept", Rule.CALL_PARTICIPANT),
    _frame("call.decline", Rule.CALL_PARTICIPANT),
    _frame("call.cancel", Rule.CALL_CALLER),
    _frame("call.end", Rule.CALL_PARTICIPANT),
)

#: The socket itself admits viewers; these rows say what a viewer may send once connected.
_COLLAB_ROWS: Final = (
    AccessRow(Kind.COLLAB, "sync_step1", Rule.WORKSPACE_VIEWER, note="reading the document"),
    AccessRow(
        Kind.COLLAB,
        "sync_step2",
        Rule.WORKSPACE_EDITOR,
        MappingProxyType({V: 1008}),
        "a non-empty update from a viewer: 1008 read_only, nothing applied",
    ),
    AccessRow(
        Kind.COLLAB,
        "sync_update",
        Rule.WORKSPACE_EDITOR,
        MappingProxyType({V: 1008}),
        "a non-empty update from a viewer: 1008 read_only, nothing applied",
    ),
    AccessRow(Kind.COLLAB, "awareness", Rule.WORKSPACE_VIEWER, note="cursors; the user is stamped by the server"),
    AccessRow(Kind.COLLAB, "query_awareness", Rule.WORKSPACE_VIEWER),
    AccessRow(Kind.COLLAB, "auth", Rule.WORKSPACE_VIEWER, note="ignored: the handshake authenticates"),
    AccessRow(
        Kind.COLLAB,
        "saved",
        Rule.NOBODY,
        MappingProxyType({V: 1007, E: 1007}),
        "server-to-client only: 1007 unexpected_message_type from anyone",
    ),
)

ACCESS_RULES: Final[tuple[AccessRow, ...]] = (
    *_HTTP_ROWS,
    *_PAGE_ROWS,
    *_SOCKET_ROWS,
    *_FRAME_ROWS,
    *_COLLAB_ROWS,
)


def rows_of(kind: Kind) -> tuple[AccessRow, ...]:
    return tuple(row for row in ACCESS_RULES if row.kind is kind)


def row_for(kind: Kind, key: str) -> AccessRow:
    for row in ACCESS_RULES:
        if row.kind is kind and row.key == key:
            return row
    raise KeyError(f"no access row for {kind.value} {key!r}")
