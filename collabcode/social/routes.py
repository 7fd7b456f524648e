"""HTTP endpoints of profiles, following, avatars, the dashboard and the activity feed.

Every route but ``GET /api/avatars/{id}`` authenticates first (401). Unknown and disabled people,
and people who blocked the caller, answer ``404 not_found`` like a name nobody has. Answers are
the allowlisted dicts of the service with ``Cache-Control: no-store``; avatar images are served
with their own type, ``nosniff``, ``Content-Security-Policy: default-src 'none'`` and an ETag.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collabcode.auth.dependencies import require_user
from collabcode.auth.service import auth_service
from collabcode.errors import NotFound, PayloadTooLarge, ValidationFailed
from collabcode.services import services_of
from collabcode.social import avatars, schemas
from collabcode.social.service import SocialService, social_service
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint

NO_STORE = {"cache-control": "no-store"}
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ID = re.compile(r"^[0-9a-f]{32}$")


def _service(request: Request) -> SocialService:
    return social_service(services_of(request))


def _json(body: object, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _username(request: Request) -> str:
    value = str(request.path_params.get("username", ""))
    if not _USERNAME.fullmatch(value):
        raise NotFound()
    return value.lower()


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 4 or not 1 <= int(raw) <= 100:
        raise ValidationFailed(
            "limit: expected a whole number from 1 to 100", details={"field": "limit", "rule": "int_range"}
        )
    return int(raw)


def _before(request: Request) -> str | None:
    raw = request.query_params.get("before")
    if raw is not None and len(raw) > 64:
        raise ValidationFailed("before: not a cursor this API gave out", details={"field": "before", "rule": "cursor"})
    return raw


# -- profiles and following ---------------------------------------------------------------------------


@endpoint
async def profile(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).profile(identity.user_id, _username(request)))


@endpoint
async def follow(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).follow(identity, _username(request)))


@endpoint
async def unfollow(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).unfollow(identity, _username(request)))


async def _follow_list(request: Request, direction: str) -> Response:
    identity = await require_user(request)
    result = await _service(request).follow_list(
        identity.user_id, _username(request), direction, before=_before(request), limit=_limit(request)
    )
    return _json(result)


@endpoint
async def followers(request: Request) -> Response:
    return await _follow_list(request, "followers")


@endpoint
async def following(request: Request) -> Response:
    return await _follow_list(request, "following")


@endpoint
async def update_profile(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.ProfileUpdate)
    changes: dict[str, str] = {}
    for name in sorted(body.model_fields_set):
        value = getattr(body, name)
        if value is None:
            raise ValidationFailed(f"{name}: may not be null", details={"field": name, "rule": "null"})
        changes[name] = value
    if changes:
        await auth_service(services_of(request)).update_profile(identity, changes)
    return _json(await _service(request).profile(identity.user_id, identity.username))


# -- avatars --------------------------------------------------------------------------------------------


def _image(avatar_id: str, content_type: str, data: bytes, request: Request, cache: str) -> Response:
    etag = f'"{avatar_id}"'
    headers = {
        "etag": etag,
        "cache-control": cache,
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'",
        "content-disposition": "inline",
        "cross-origin-resource-policy": "same-origin",
    }
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type, headers=headers)


async def _read_image(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > avatars.MAX_BYTES:
        raise PayloadTooLarge(f"An avatar is at most {avatars.MAX_BYTES} bytes.", code="image_too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > avatars.MAX_BYTES:
            raise PayloadTooLarge(f"An avatar is at most {avatars.MAX_BYTES} bytes.", code="image_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


@endpoint
async def put_avatar(request: Request) -> Response:
    identity = await require_user(request)
    content_type = request.headers.get("content-type", "")
    avatars.check_declared(content_type)  # 415 before reading the body
    data = await _read_image(request)
    return _json(await _service(request).set_avatar(identity, content_type, data))


@endpoint
async def delete_avatar(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).delete_avatar(identity))


@endpoint
async def avatar_by_id(request: Request) -> Response:
    """Public: the id is an unguessable server id handed out with profiles (like a file URL)."""
    avatar_id = str(request.path_params.get("avatar_id", ""))
    if not _ID.fullmatch(avatar_id):
        raise NotFound()
    found_id, content_type, data = await _service(request).avatar(avatar_id)
    return _image(found_id, content_type, data, request, "public, max-age=31536000, immutable")


@endpoint
async def user_avatar(request: Request) -> Response:
    identity = await require_user(request)
    found_id, content_type, data = await _service(request).avatar_of(identity.user_id, _username(request))
    return _image(found_id, content_type, data, request, "private, no-cache")


# -- dashboard, recent files, activity -----------------------------------------------------------------


@endpoint
async def dashboard(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).dashboard(identity))


@endpoint
async def record_open(request: Request) -> Response:
    identity = await require_user(request)
    body = await parse_body(request, schemas.RecentFile)
    return _json(await _service(request).record_open(identity.user_id, body.workspace_id, body.file_id))


@endpoint
async def activity(request: Request) -> Response:
    identity = await require_user(request)
    return _json(await _service(request).feed(identity.user_id, before=_before(request), limit=_limit(request)))


_U = "/api/users/{username}"

routes: list[BaseRoute] = [
    Route(_U, profile, methods=["GET"]),
    Route(_U + "/follow", follow, methods=["POST"]),
    Route(_U + "/follow", unfollow, methods=["DELETE"]),
    Route(_U + "/followers", followers, methods=["GET"]),
    Route(_U + "/following", following, methods=["GET"]),
    Route(_U + "/avatar", user_avatar, methods=["GET"]),
    Route("/api/avatars/{avatar_id}", avatar_by_id, methods=["GET"]),
    Route("/api/me/profile", update_profile, methods=["PATCH"]),
    Route("/api/me/avatar", put_avatar, methods=["PUT"]),
    Route("/api/me/avatar", delete_avatar, methods=["DELETE"]),
    Route("/api/me/recent-files", record_open, methods=["POST"]),
    Route("/api/dashboard", dashboard, methods=["GET"]),
    Route("/api/activity", activity, methods=["GET"]),
]
