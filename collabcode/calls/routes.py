"""HTTP endpoints and events-socket frames of calls: authenticate, parse, call one service method.

Every route authenticates first (401). A call the caller may not see and a malformed id both
answer ``404 not_found``. Bodies are strict; answers are the allowlisted dicts of ``views.py``
with ``Cache-Control: no-store``. The frames at the bottom are signaling (relayed to another
participant with ``from`` stamped by the server) and the call actions over ``/ws/events``
(docs/protocol.md, "Calls").
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collabcode.auth.dependencies import require_user
from collabcode.calls import schemas
from collabcode.calls.ice import ice_servers
from collabcode.calls.service import CallService, calls_service
from collabcode.errors import NotFound, ValidationFailed
from collabcode.realtime.frames import FrameContext
from collabcode.realtime.hub import EventsHub
from collabcode.services import services_of
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint

NO_STORE = {"cache-control": "no-store"}
_ID = re.compile(r"^[0-9a-f]{32}$")


def _service(request: Request) -> CallService:
    return calls_service(services_of(request))


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _id(request: Request) -> str:
    value = str(request.path_params.get("call_id", ""))
    if not _ID.fullmatch(value):
        raise NotFound()
    return value


def _query_id(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not _ID.fullmatch(raw):
        raise ValidationFailed(f"{name}: expected an id", details={"field": name, "rule": "id"})
    return raw


def _query_int(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise ValidationFailed(
            f"{name}: expected a whole number from {low} to {high}", details={"field": name, "rule": "int_range"}
        )
    return int(raw)


@endpoint
async def ice_servers_route(request: Request) -> Response:
    identity = await require_user(request)
    services = services_of(request)
    body = ice_servers(
        services.settings,
        turn_secret=services.secrets.turn_secret,
        user_id=identity.user_id,
        now=services.clock.now(),
        request_host=request.headers.get("host"),
    )
    return _json(body)


@endpoint
async def start_call(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.StartCall)
    call, created = await _service(request).start_call(
        identity.user_id,
        media=body.media,
        callee=body.callee,
        conversation_id=body.conversation_id,
        workspace_id=body.workspace_id,
    )
    return _json(call, 201 if created else 200)


@endpoint
async def list_calls(request: Request) -> Response:
    identity = await require_user(request)
    before = _query_int(request, "before", 1, 2**53)
    limit = _query_int(request, "limit", 1, 100)
    state = request.query_params.get("state")
    if state not in (None, "", "live"):
        raise ValidationFailed("state: the only filter is 'live'", details={"field": "state", "rule": "choice"})
    calls, more = await _service(request).history(
        identity.user_id,
        before=before,
        limit=limit,
        conversation_id=_query_id(request, "conversation_id"),
        workspace_id=_query_id(request, "workspace_id"),
        live_only=state == "live",
    )
    return _json({"calls": calls, "has_more": more})


@endpoint
async def get_call(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).get(identity.user_id, _id(request)))


Action = Callable[[CallService, str, str], Awaitable[dict[str, Any]]]

ACTIONS: dict[str, Action] = {
    "accept": CallService.accept,
    "decline": CallService.decline,
    "cancel": CallService.cancel,
    "end": CallService.end,
}


def _action_route(name: str) -> Callable[[Request], Awaitable[Response]]:
    action = ACTIONS[name]

    @endpoint
    async def run(request: Request) -> Response:
        identity = await require_user(request)
        call_id = _id(request)
        return _json(await action(_service(request), identity.user_id, call_id))

    run.__name__ = f"{name}_call"
    return run


_C = "/api/calls/{call_id}"

routes: list[BaseRoute] = [
    Route("/api/rtc/ice-servers", ice_servers_route, methods=["GET"]),
    Route("/api/calls", list_calls, methods=["GET"]),
    Route("/api/calls", start_call, methods=["POST"]),
    Route(_C, get_call, methods=["GET"]),
    *(Route(f"{_C}/{name}", _action_route(name), methods=["POST"]) for name in ACTIONS),
]


# -- events-socket frames ------------------------------------------------------------------------


def _calls(ctx: FrameContext) -> CallService:
    return calls_service(ctx.services)


def _ack(ctx: FrameContext, ref: str | None, **fields: Any) -> None:
    if ref is not None:
        ctx.answer({"type": "ack", "ref": ref, **fields})


async def _offer(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.OfferFrame)
    await _calls(ctx).relay(ctx.identity.user_id, "rtc.offer", frame.call_id, frame.to, {"sdp": frame.sdp})
    _ack(ctx, frame.ref)


async def _answer(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.AnswerFrame)
    await _calls(ctx).relay(ctx.identity.user_id, "rtc.answer", frame.call_id, frame.to, {"sdp": frame.sdp})
    _ack(ctx, frame.ref)


async def _candidate(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.CandidateFrame)
    candidate = None if frame.candidate is None else frame.candidate.model_dump()
    await _calls(ctx).relay(ctx.identity.user_id, "rtc.candidate", frame.call_id, frame.to, {"candidate": candidate})
    _ack(ctx, frame.ref)


async def _call_action(ctx: FrameContext, frame: Any) -> None:
    assert isinstance(frame, schemas.CallActionFrame)
    action = ACTIONS[frame.type.removeprefix("call.")]
    call = await action(_calls(ctx), ctx.identity.user_id, frame.call_id)
    _ack(ctx, frame.ref, call=call)


def register_frames(hub: EventsHub) -> None:
    hub.add_handler("rtc.offer", schemas.OfferFrame, _offer)
    hub.add_handler("rtc.answer", schemas.AnswerFrame, _answer)
    hub.add_handler("rtc.candidate", schemas.CandidateFrame, _candidate)
    for name in ACTIONS:
        hub.add_handler(f"call.{name}", schemas.CallActionFrame, _call_action)
