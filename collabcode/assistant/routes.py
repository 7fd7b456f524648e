"""HTTP endpoints of the assistant (docs/assistant.md, docs/api.md): authenticate, parse, delegate.

``/api/ai/complete`` watches for the client going away while the provider works and cancels the
work (closing the upstream request). ``/api/ai/chat`` answers ``text/event-stream``: ``delta``
events, then ``done`` or ``error``; Starlette cancels the stream when the client disconnects,
and :class:`EventStream` then closes the provider's answer whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from collabcode.assistant.schemas import ChatRequest, CompleteRequest, WorkspaceSwitch
from collabcode.assistant.service import AssistantService, ChatStream, assistant_service
from collabcode.auth.dependencies import require_user
from collabcode.errors import AppError, NotFound
from collabcode.services import services_of
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint

log = logging.getLogger(__name__)

T = TypeVar("T")
NO_STORE = {"cache-control": "no-store"}
_ID = re.compile(r"^[0-9a-f]{32}$")
#: Status recorded for a request whose client left before the answer (nobody receives it).
CLIENT_CLOSED = 499


def _service(request: Request) -> AssistantService:
    return assistant_service(services_of(request))


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


class _ClientGone(Exception):
    pass


async def until_disconnected(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; if the client disconnects first, cancel it and raise :class:`_ClientGone`."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, AppError):
            await task
        raise _ClientGone
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class EventStream(StreamingResponse):
    """An SSE response that closes the provider's answer however the response ends."""

    def __init__(self, stream: ChatStream) -> None:
        self.stream = stream
        self.outcome = "cancelled"
        super().__init__(
            self._events(),
            media_type="text/event-stream",
            headers={**NO_STORE, "x-accel-buffering": "no"},
        )

    async def _events(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.stream.chunks():
                yield sse("delta", {"text": chunk.text})
            yield sse("done", {"finish_reason": self.stream.finish_reason or "stop"})
            self.outcome = "ok"
        except AppError as exc:
            self.outcome = "error"
            yield sse("error", {"code": exc.code, "message": exc.message})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.stream.close(self.outcome)


@endpoint
async def status(request: Request) -> Response:
    identity = await require_user(request)
    workspace_id = request.query_params.get("workspace_id") or None
    if workspace_id is not None and not _ID.fullmatch(workspace_id):
        raise NotFound()
    return _json(await _service(request).status(identity, workspace_id))


@endpoint
async def complete(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, CompleteRequest)
    try:
        text = await until_disconnected(request, _service(request).complete(identity, body))
    except _ClientGone:
        return Response(status_code=CLIENT_CLOSED, headers=NO_STORE)
    return _json({"completion": text})


@endpoint
async def chat(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, ChatRequest)
    try:
        stream = await until_disconnected(request, _service(request).open_chat(identity, body))
    except _ClientGone:
        return Response(status_code=CLIENT_CLOSED, headers=NO_STORE)
    return EventStream(stream)


@endpoint
async def switch_workspace(request: Request) -> Response:
    identity = await require_user(request)
    workspace_id = str(request.path_params["workspace_id"])
    if not _ID.fullmatch(workspace_id):
        raise NotFound()
    body = await parse_body(request, WorkspaceSwitch)
    return _json(await _service(request).set_workspace(identity, workspace_id, body.enabled))


routes: list[BaseRoute] = [
    Route("/api/ai/status", status, methods=["GET"]),
    Route("/api/ai/complete", complete, methods=["POST"]),
    Route("/api/ai/chat", chat, methods=["POST"]),
    Route("/api/ai/workspaces/{workspace_id}", switch_workspace, methods=["PATCH"]),
]
