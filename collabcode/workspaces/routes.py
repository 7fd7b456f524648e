"""HTTP endpoints of workspaces: authenticate, parse, call one service method, shape the answer.

Every route authenticates first (401), then the service decides visibility (404, one body for
"missing" and "not yours") and permission (403). Responses are the allowlisted dicts built in
``schemas.py``; JSON answers carry ``Cache-Control: no-store``.
"""

from __future__ import annotations

import errno
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from collabcode.auth.dependencies import require_user
from collabcode.errors import (
    InsufficientStorage,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from collabcode.services import services_of
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint
from collabcode.workspaces import schemas
from collabcode.workspaces.paths import safe_filename
from collabcode.workspaces.service import Download, WorkspaceService

log = logging.getLogger(__name__)


NO_STORE = {"cache-control": "no-store"}
EXTRAS_KEY = "workspaces"
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/x-zip"})
_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 1024 * 1024


def workspace_service(request: Request) -> WorkspaceService:
    service = services_of(request).extras.get(EXTRAS_KEY)
    if not isinstance(service, WorkspaceService):
        raise RuntimeError("the workspaces feature has not started: add collabcode.workspaces.feature")
    return service


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _param(request: Request, name: str) -> str:
    return str(request.path_params[name])


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    return f"attachment; filename=\"{safe_filename(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def _media_type(request: Request) -> tuple[str, dict[str, str]]:
    raw = request.headers.get("content-type", "")
    kind, *params = raw.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        key, _, value = param.partition("=")
        parsed[key.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), parsed


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _text_body_reader(request: Request) -> Callable[[int], Awaitable[bytes]]:
    """Read a ``text/*`` body (UTF-8) of at most ``limit`` bytes, only when the service asks."""

    async def read(limit: int) -> bytes:
        kind, params = _media_type(request)
        if not kind.startswith("text/") or params.get("charset", "utf-8") not in {"utf-8", "utf8"}:
            raise UnsupportedMediaType(
                "Send the file as text/plain; charset=utf-8 (only text files can be stored).",
                details={"field": "content-type", "rule": "text_only"},
            )
        too_large = PayloadTooLarge(f"A file holds at most {limit} bytes.", code="file_too_large")
        declared = _declared_length(request)
        if declared is not None and declared > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    return read


def _archive_spooler(request: Request) -> Callable[[], Awaitable[IO[bytes]]]:
    """Stream a zip upload into a temporary file (memory first, disk past 1 MiB)."""

    async def spool() -> IO[bytes]:
        kind, _ = _media_type(request)
        if kind not in ZIP_TYPES:
            raise UnsupportedMediaType(
                "Send the archive as application/zip.", details={"field": "content-type", "rule": "zip_only"}
            )
        limit = services_of(request).settings.max_upload_bytes
        declared = _declared_length(request)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"The archive is larger than {limit} bytes.")
        target: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"The archive is larger than {limit} bytes.")
                target.write(chunk)
            target.seek(0)
        except OSError as exc:
            target.close()
            if exc.errno == errno.ENOSPC:
                raise InsufficientStorage() from None
            raise
        except BaseException:
            target.close()
            raise
        return target

    return spool


async def _stream(fileobj: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := fileobj.read(_CHUNK):
            yield chunk
    finally:
        fileobj.close()


def _download(download: Download, media_type: str) -> Response:
    headers = {
        "content-disposition": content_disposition(download.name),
        "content-length": str(download.size),
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
        "cache-control": "no-store",
    }
    return StreamingResponse(_stream(download.fileobj), media_type=media_type, headers=headers)


# -- workspaces --------------------------------------------------------------------------------


@endpoint
async def list_workspaces(request: Request) -> Response:
    identity = await require_user(request)
    return _json({"workspaces": await workspace_service(request).list_workspaces(identity)})


@endpoint
async def create_workspace(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.CreateWorkspace)
    return _json(await workspace_service(request).create_workspace(identity, body.name), 201)


@endpoint
async def get_workspace(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await workspace_service(request).get_workspace(identity, _param(request, "workspace_id")))


@endpoint
async def update_workspace(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.UpdateWorkspace)
    workspace_id = _param(request, "workspace_id")
    return _json(await workspace_service(request).rename_workspace(identity, workspace_id, body.name))


@endpoint
async def delete_workspace(request: Request) -> Response:
    identity = await require_user(request)
    await workspace_service(request).delete_workspace(identity, _param(request, "workspace_id"))
    return Response(status_code=204, headers=NO_STORE)


# -- members -----------------------------------------------------------------------------------


@endpoint
async def list_members(request: Request) -> Response:
    identity = await require_user(request)
    members = await workspace_service(request).list_members(identity, _param(request, "workspace_id"))
    return _json({"members": members})


@endpoint
async def add_member(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.AddMember)
    workspace_id = _param(request, "workspace_id")
    return _json(await workspace_service(request).add_member(identity, workspace_id, body.username, body.role), 201)


@endpoint
async def update_member(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.UpdateMember)
    service = workspace_service(request)
    member = await service.update_member(
        identity, _param(request, "workspace_id"), _param(request, "user_id"), body.role
    )
    return _json(member)


@endpoint
async def remove_member(request: Request) -> Response:
    identity = await require_user(request)
    await workspace_service(request).remove_member(
        identity, _param(request, "workspace_id"), _param(request, "user_id")
    )
    return Response(status_code=204, headers=NO_STORE)


# -- files and folders -------------------------------------------------------------------------


@endpoint
async def tree(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await workspace_service(request).tree(identity, _param(request, "workspace_id")))


@endpoint
async def create_entry(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.CreateEntry)
    entry = await workspace_service(request).create_entry(
        identity, _param(request, "workspace_id"), path=body.path, kind=body.kind, content=body.content
    )
    return _json(entry, 201)


@endpoint
async def move_entry(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.MoveEntry)
    entry = await workspace_service(request).move_entry(
        identity, _param(request, "workspace_id"), _param(request, "file_id"), body.path
    )
    return _json(entry)


@endpoint
async def delete_entry(request: Request) -> Response:
    identity = await require_user(request)
    await workspace_service(request).delete_entry(identity, _param(request, "workspace_id"), _param(request, "file_id"))
    return Response(status_code=204, headers=NO_STORE)


@endpoint
async def read_content(request: Request) -> Response:
    identity = await require_user(request)
    path, text = await workspace_service(request).read_content(
        identity, _param(request, "workspace_id"), _param(request, "file_id")
    )
    headers = {"x-content-type-options": "nosniff", "content-security-policy": "sandbox", "cache-control": "no-store"}
    if request.query_params.get("download") in {"1", "true"}:
        headers["content-disposition"] = content_disposition(path.rpartition("/")[2])
    return Response(text.encode("utf-8"), media_type="text/plain; charset=utf-8", headers=headers)


@endpoint
async def write_content(request: Request) -> Response:
    identity = await require_user(request)
    entry = await workspace_service(request).write_content(
        identity, _param(request, "workspace_id"), _param(request, "file_id"), _text_body_reader(request)
    )
    return _json(entry)


@endpoint
async def import_archive(request: Request) -> Response:
    identity = await require_user(request)
    summary = await workspace_service(request).import_archive(
        identity, _param(request, "workspace_id"), _archive_spooler(request)
    )
    return _json(
        {
            "created": summary.created,
            "skipped": [skipped.as_dict() for skipped in summary.skipped],
            "version": summary.version,
        }
    )


@endpoint
async def export_archive(request: Request) -> Response:
    identity = await require_user(request)
    download = await workspace_service(request).export_archive(identity, _param(request, "workspace_id"))
    return _download(download, "application/zip")


_W = "/api/workspaces/{workspace_id}"

routes: list[BaseRoute] = [
    Route("/api/workspaces", list_workspaces, methods=["GET"]),
    Route("/api/workspaces", create_workspace, methods=["POST"]),
    Route(_W, get_workspace, methods=["GET"]),
    Route(_W, update_workspace, methods=["PATCH"]),
    Route(_W, delete_workspace, methods=["DELETE"]),
    Route(_W + "/members", list_members, methods=["GET"]),
    Route(_W + "/members", add_member, methods=["POST"]),
    Route(_W + "/members/{user_id}", update_member, methods=["PATCH"]),
    Route(_W + "/members/{user_id}", remove_member, methods=["DELETE"]),
    Route(_W + "/tree", tree, methods=["GET"]),
    Route(_W + "/files", create_entry, methods=["POST"]),
    Route(_W + "/files/{file_id}", move_entry, methods=["PATCH"]),
    Route(_W + "/files/{file_id}", delete_entry, methods=["DELETE"]),
    Route(_W + "/files/{file_id}/content", read_content, methods=["GET"]),
    Route(_W + "/files/{file_id}/content", write_content, methods=["PUT"]),
    Route(_W + "/import", import_archive, methods=["POST"]),
    Route(_W + "/export", export_archive, methods=["GET"]),
]
