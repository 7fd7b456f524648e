"""HTTP endpoints of file history, authorship, contributors and anchored comments.

Every route authenticates first (401); the service answers 404 for anything outside the caller's
reach (one body for "missing" and "not yours") and 403 for a viewer trying to change the file.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collabcode.auth.dependencies import require_user
from collabcode.errors import ValidationFailed
from collabcode.history import schemas
from collabcode.history.service import SERVICE_KEY, HistoryService
from collabcode.services import services_of
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint

NO_STORE = {"cache-control": "no-store"}


def history_service(request: Request) -> HistoryService:
    service = services_of(request).extras.get(SERVICE_KEY)
    if not isinstance(service, HistoryService):
        raise RuntimeError("the history feature has not started: add collabcode.history.feature")
    return service


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _ids(request: Request) -> tuple[str, str]:
    return str(request.path_params["workspace_id"]), str(request.path_params["file_id"])


def _int(request: Request, name: str, *, default: int | None = None, low: int = 1, high: int = 2**62) -> int | None:
    """An optional whole-number query parameter within ``low..high`` (422 otherwise)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 19 or not low <= int(raw) <= high:
        raise ValidationFailed(
            f"{name} must be a whole number from {low} to {high}.", details={"field": name, "rule": "range"}
        )
    return int(raw)


def _version(request: Request) -> int:
    raw = str(request.path_params["version"])
    if not raw.isdigit() or len(raw) > 19 or int(raw) < 1:
        raise ValidationFailed("A version is a whole number from 1.", details={"field": "version", "rule": "range"})
    return int(raw)


@endpoint
async def timeline(request: Request) -> Response:
    identity = await require_user(request)
    before = _int(request, "before")
    limit = _int(request, "limit", default=50, high=200) or 50
    return _json(await history_service(request).timeline(identity, *_ids(request), before=before, limit=limit))


@endpoint
async def version(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await history_service(request).version(identity, *_ids(request), _version(request)))


@endpoint
async def diff(request: Request) -> Response:
    identity = await require_user(request)
    old = _int(request, "from")
    if old is None:
        raise ValidationFailed(
            "Say which version to compare from (?from=).", details={"field": "from", "rule": "required"}
        )
    new = _int(request, "to")
    return _json(await history_service(request).diff(identity, *_ids(request), old, new))


@endpoint
async def add_checkpoint(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.CreateCheckpoint)
    return _json(await history_service(request).checkpoint(identity, *_ids(request), body.name), 201)


@endpoint
async def list_checkpoints(request: Request) -> Response:
    identity = await require_user(request)
    return _json({"checkpoints": await history_service(request).list_checkpoints(identity, *_ids(request))})


@endpoint
async def restore(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.Restore)
    return _json(await history_service(request).restore(identity, *_ids(request), body.version))


@endpoint
async def authorship(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await history_service(request).authorship(identity, *_ids(request)))


async def _contributors(request: Request, file_id: str | None) -> Response:
    identity = await require_user(request)
    service = history_service(request)
    workspace_id = str(request.path_params["workspace_id"])
    people = await service.contributors(identity, workspace_id, file_id)
    fmt = request.query_params.get("format", "json")
    if fmt == "trailers":
        text = service.trailers(people, identity)
        return Response(text.encode("utf-8"), media_type="text/plain; charset=utf-8", headers=NO_STORE)
    if fmt != "json":
        raise ValidationFailed("format is json or trailers.", details={"field": "format", "rule": "choice"})
    return _json({"contributors": people})


@endpoint
async def workspace_contributors(request: Request) -> Response:
    return await _contributors(request, None)


@endpoint
async def file_contributors(request: Request) -> Response:
    return await _contributors(request, str(request.path_params["file_id"]))


@endpoint
async def list_comments(request: Request) -> Response:
    identity = await require_user(request)
    return _json({"comments": await history_service(request).comments(identity, *_ids(request))})


@endpoint
async def add_comment(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.CreateComment)
    comment = await history_service(request).add_comment(
        identity, *_ids(request), body.anchor.start, body.anchor.end, body.body
    )
    return _json(comment, 201)


@endpoint
async def update_comment(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.UpdateComment)
    comment_id = str(request.path_params["comment_id"])
    return _json(await history_service(request).set_resolved(identity, *_ids(request), comment_id, body.resolved))


_W = "/api/workspaces/{workspace_id}"
_F = _W + "/files/{file_id}"

routes: list[BaseRoute] = [
    Route(_F + "/history", timeline, methods=["GET"]),
    Route(_F + "/history/diff", diff, methods=["GET"]),
    Route(_F + "/history/{version}", version, methods=["GET"]),
    Route(_F + "/checkpoints", list_checkpoints, methods=["GET"]),
    Route(_F + "/checkpoints", add_checkpoint, methods=["POST"]),
    Route(_F + "/restore", restore, methods=["POST"]),
    Route(_F + "/authorship", authorship, methods=["GET"]),
    Route(_F + "/contributors", file_contributors, methods=["GET"]),
    Route(_W + "/contributors", workspace_contributors, methods=["GET"]),
    Route(_F + "/comments", list_comments, methods=["GET"]),
    Route(_F + "/comments", add_comment, methods=["POST"]),
    Route(_F + "/comments/{comment_id}", update_comment, methods=["PATCH"]),
]
