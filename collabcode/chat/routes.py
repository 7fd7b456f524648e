"""HTTP endpoints and events-socket frames of chat: authenticate, parse, call one service method.

Every route authenticates first (401). A conversation the caller is not in, a message outside
the conversation in the path, and a malformed id all answer ``404 not_found`` with the body of an
id that never existed. Bodies are strict (unknown fields, ``sender`` included, are 422); answers
are the allowlisted dicts of ``views.py`` with ``Cache-Control: no-store``. The frames at the
bottom are the same actions over ``/ws/events`` (docs/protocol.md, "Events socket").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collabcode.auth.dependencies import client_info, require_user
from collabcode.chat import schemas
from collabcode.chat.service import ChatService, Sent, chat_service
from collabcode.errors import NotFound, ValidationFailed
from collabcode.realtime.frames import FrameContext
from collabcode.realtime.hub import EventsHub
from collabcode.services import services_of
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint

log = logging.getLogger(__name__)


NO_STORE = {"cache-control": "no-store"}
_ID = re.compile(r"^[0-9a-f]{32}$")
_SEARCH = re.compile(r"^[a-z0-9_-]{2,32}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _service(request: Request) -> ChatService:
    return chat_service(services_of(request))


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _id(request: Request, name: str) -> str:
    value = str(request.path_params.get(name, ""))
    if not _ID.fullmatch(value):
        raise NotFound()
    return value


def _username(request: Request) -> str:
    value = str(request.path_params.get("username", ""))
    if not _USERNAME.fullmatch(value):
        raise NotFound()
    return value.lower()


def _query_int(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise ValidationFailed(
            f"{name}: expected a whole number from {low} to {high}", details={"field": name, "rule": "int_range"}
        )
    return int(raw)


# -- conversations ---------------------------------------------------------------------------------


@endpoint
async def list_conversations(request: Request) -> Response:
    identity = await require_user(request)
    conversations, cursor = await _service(request).list_conversations(identity.user_id)
    return _json({"conversations": conversations, "cursor": cursor})


@endpoint
async def open_conversation(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.OpenConversation)
    conversation, created = await _service(request).open_conversation(identity.user_id, body.username)
    return _json(conversation, 201 if created else 200)


@endpoint
async def get_conversation(request: Request) -> Response:
    identity = await require_user(request)
    conversation = await _service(request).get_conversation(identity.user_id, _id(request, "conversation_id"))
    return _json(conversation)


@endpoint
async def list_messages(request: Request) -> Response:
    identity = await require_user(request)
    conversation_id = _id(request, "conversation_id")
    before = _query_int(request, "before", 1, 2**53)
    after = _query_int(request, "after", 0, 2**53)
    limit = _query_int(request, "limit", 1, 100)
    if before is not None and after is not None:
        raise ValidationFailed(
            "before, after: give one of them, not both", details={"field": "after", "rule": "exclusive"}
        )
    messages, more = await _service(request).list_messages(
        identity.user_id, conversation_id, before=before, after=after, limit=limit
    )
    return _json({"messages": messages, "has_more": more})


@endpoint
async def send_message(request: Request) -> Response:
    identity = await require_user(request)
    conversation_id = _id(request, "conversation_id")
    body = await parse_body(request, schemas.SendMessage)
    sent = await _service(request).send_message(
        identity.user_id, conversation_id, body.body, body.client_id, code_ref=body.code_ref
    )
    return _json(sent.message, 201 if sent.created else 200)


@endpoint
async def edit_message(request: Request) -> Response:
    identity = await require_user(request)
    conversation_id, message_id = _id(request, "conversation_id"), _id(request, "message_id")
    body = await parse_body(request, schemas.EditMessage)
    message = await _service(request).edit_message(identity.user_id, conversation_id, message_id, body.body)
    return _json(message)


@endpoint
async def delete_message(request: Request) -> Response:
    identity = await require_user(request)
    conversation_id, message_id = _id(request, "conversation_id"), _id(request, "message_id")
    message = await _service(request).delete_message(identity.user_id, conversation_id, message_id)
    return _json(message)


@endpoint
async def mark_read(request: Request) -> Response:
    identity = await require_user(request)
    conversation_id = _id(request, "conversation_id")
    body = await parse_body(request, schemas.MarkRead)
    result = await _service(request).mark_read(identity.user_id, conversation_id, body.message_id)
    return _json(result)


# -- people ----------------------------------------------------------------------------------------


@endpoint
async def search_users(request: Request) -> Response:
    identity = await require_user(request)
    query = (request.query_params.get("q") or "").strip().lower()
    if not _SEARCH.fullmatch(query):
        raise ValidationFailed(
            "q: use 2 to 32 characters: a-z, 0-9, '_' and '-'", details={"field": "q", "rule": "invalid_query"}
        )
    return _json({"users": await _service(request).search_users(identity.user_id, query)})


@endpoint
async def block_user(request: Request) -> Response:
    identity = await require_user(request)
    await _service(request).block(identity.user_id, _username(request))
    return Response(status_code=204, headers=NO_STORE)


@endpoint
async def unblock_user(request: Request) -> Response:
    identity = await require_user(request)
    await _service(request).unblock(identity.user_id, _username(request))
    return Response(status_code=204, headers=NO_STORE)


@endpoint
async def list_blocks(request: Request) -> Response:
    identity = await require_user(request)
    return _json({"blocks": await _service(request).list_blocks(identity.user_id)})


@endpoint
async def discover(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.Discover)
    found = await _service(request).discover(identity.user_id, body.phone_numbers, body.region, client_info(request))
    return _json({"matches": found})


@endpoint
async def get_privacy(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).privacy(identity.user_id))


@endpoint
async def update_privacy(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.PrivacyUpdate)
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    changes.pop("phone_region", None)
    for name in ("discoverable", "read_receipts", "invisible"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(f"{name}: may not be null", details={"field": name, "rule": "null"})
    result = await _service(request).update_privacy(identity.user_id, changes, body.phone_region)
    return _json(result)


_C = "/api/conversations/{conversation_id}"

routes: list[BaseRoute] = [
    Route("/api/conversations", list_conversations, methods=["GET"]),
    Route("/api/conversations", open_conversation, methods=["POST"]),
    Route(_C, get_conversation, methods=["GET"]),
    Route(_C + "/messages", list_messages, methods=["GET"]),
    Route(_C + "/messages", send_message, methods=["POST"]),
    Route(_C + "/messages/{message_id}", edit_message, methods=["PATCH"]),
    Route(_C + "/messages/{message_id}", delete_message, methods=["DELETE"]),
    Route(_C + "/read", mark_read, methods=["POST"]),
    Route("/api/users/search", search_users, methods=["GET"]),
    Route("/api/users/{username}/block", block_user, methods=["POST"]),
    Route("/api/users/{username}/block", unblock_user, methods=["DELETE"]),
    Route("/api/blocks", list_blocks, methods=["GET"]),
    Route("/api/me/privacy", get_privacy, methods=["GET"]),
    Route("/api/me/privacy", update_privacy, methods=["PATCH"]),
    Route("/api/contacts/discover", discover, methods=["POST"]),
]


# -- the same actions as events-socket frames ------------------------------------------------------


def _chat(ctx: FrameContext) -> ChatService:
    return chat_service(ctx.services)


async def _send_frame(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.SendFrame)
    pending = await _chat(ctx).start_send(
        ctx.identity.user_id,
        frame.conversation_id,
        frame.body,
        frame.client_id,
        origin=ctx.socket_id,
        ref=frame.ref,
        code_ref=frame.code_ref,
    )
    ctx.defer(_sent(ctx, frame, pending), frame.ref)  # the socket reads on while the commit happens


async def _sent(ctx: FrameContext, frame: schemas.SendFrame, pending: Awaitable[Sent]) -> None:
    sent = await pending
    if sent.created:
        return  # answered through the stream: message.sent with the event's cursor
    ctx.answer(
        {
            "type": "message.sent",
            "ref": frame.ref,
            "client_id": frame.client_id,
            "created": False,
            "message": sent.message,
        }
    )


async def _edit_frame(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.EditFrame)
    message = await _chat(ctx).edit_message(ctx.identity.user_id, frame.conversation_id, frame.message_id, frame.body)
    ctx.answer({"type": "ack", "ref": frame.ref, "message": message})


async def _delete_frame(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.DeleteFrame)
    message = await _chat(ctx).delete_message(ctx.identity.user_id, frame.conversation_id, frame.message_id)
    ctx.answer({"type": "ack", "ref": frame.ref, "message": message})


async def _read_frame(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.ReadFrame)
    result = await _chat(ctx).mark_read(ctx.identity.user_id, frame.conversation_id, frame.message_id)
    ctx.answer({"type": "ack", "ref": frame.ref, **result})


async def _typing_frame(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.TypingFrame)
    await _chat(ctx).typing(ctx.identity.user_id, frame.conversation_id, frame.active)


def register_frames(hub: EventsHub) -> None:
    hub.add_handler("message.send", schemas.SendFrame, _send_frame)
    hub.add_handler("message.edit", schemas.EditFrame, _edit_frame)
    hub.add_handler("message.delete", schemas.DeleteFrame, _delete_frame)
    hub.add_handler("message.read", schemas.ReadFrame, _read_frame)
    hub.add_handler("typing", schemas.TypingFrame, _typing_frame)
