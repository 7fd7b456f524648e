"""HTTP endpoints of the accounts feature: parse, authenticate, call one service method, shape.

Responses are built from explicit allowlists (``user_json`` ...), never from whole rows, so a
new column cannot leak. Every response here is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collabcode.auth import schemas
from collabcode.auth.dependencies import client_info, optional_user, require_admin, require_user
from collabcode.auth.devices import describe
from collabcode.auth.models import Invite, User
from collabcode.auth.service import AuthService, SessionView, SignIn, auth_service
from collabcode.errors import AppError, NotFound, ValidationFailed, error_body
from collabcode.logs import request_id_var
from collabcode.services import services_of
from collabcode.settings import Settings
from collabcode.web.bodies import parse_body
from collabcode.web.endpoint import endpoint

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

NO_STORE = {"cache-control": "no-store"}
SECURE_COOKIE = "__Host-collabcode_refresh"
DEV_COOKIE = "collabcode_refresh"
_ID = re.compile(r"^[0-9a-f]{32}$")


# -- plumbing ----------------------------------------------------------------------------------


def _service(request: Request) -> AuthService:
    return auth_service(services_of(request))


def _settings(request: Request) -> Settings:
    return services_of(request).settings


async def _body(request: Request, model: type[ModelT]) -> ModelT:
    return await parse_body(request, model)


async def _optional_body(request: Request, model: type[ModelT]) -> ModelT:
    """A body that may be left out entirely (no content, any or no content type)."""
    if not await request.body():
        return model.model_validate({})
    return await parse_body(request, model)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=NO_STORE)


def _no_content() -> Response:
    return Response(status_code=204, headers=NO_STORE)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _path_id(request: Request, name: str) -> str:
    value = str(request.path_params.get(name, ""))
    if not _ID.fullmatch(value):
        raise NotFound("Not found.")
    return value


def _provided(body: BaseModel) -> dict[str, Any]:
    """Fields the client actually sent; an explicit null is refused."""
    values = {name: getattr(body, name) for name in sorted(body.model_fields_set)}
    for name, value in values.items():
        if value is None:
            raise ValidationFailed(f"{name}: may not be null", details={"field": name, "rule": "null"})
    return values


# -- response shapes (allowlists) --------------------------------------------------------------


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "bio": user.bio,
        "avatar_color": user.avatar_color,
        "role": user.role,
        "email_verified": user.email_verified,
        "created_at": iso(user.created_at),
    }


def admin_user_json(user: User) -> dict[str, Any]:
    return {**user_json(user), "disabled": user.disabled, "updated_at": iso(user.updated_at)}


def session_json(view: SessionView) -> dict[str, Any]:
    s = view.session
    return {
        "id": s.id,
        "device": describe(s.user_agent),
        "ip": s.ip,
        "created_at": iso(s.created_at),
        "last_seen_at": iso(s.last_seen_at),
        "current": view.current,
    }


def invite_json(invite: Invite, now_ms: int) -> dict[str, Any]:
    return {
        "id": invite.id,
        "created_by": invite.created_by,
        "created_at": iso(invite.created_at),
        "expires_at": iso(invite.expires_at),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "status": invite.status(now_ms),
    }


# -- the refresh cookie ------------------------------------------------------------------------


def cookie_name(settings: Settings) -> str:
    """``__Host-`` (Secure, Path=/) on https; a plain name scoped to /api/auth on plain http."""
    return SECURE_COOKIE if settings.secure_cookies else DEV_COOKIE


def _cookie_path(settings: Settings) -> str:
    return "/" if settings.secure_cookies else "/api/auth"


def _set_refresh_cookie(response: Response, settings: Settings, token: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(settings),
        token,
        max_age=max_age,
        path=_cookie_path(settings),
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def _clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings),
        path=_cookie_path(settings),
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )


def _signed_in(request: Request, result: SignIn, status: int = 200) -> Response:
    response = _json(
        {
            "access_token": result.access_token,
            "token_type": "Bearer",
            "expires_in": result.expires_in,
            "user": user_json(result.user),
        },
        status,
    )
    _set_refresh_cookie(response, _settings(request), result.refresh_token, result.refresh_max_age)
    return response


def _check_email() -> Response:
    """The one answer of the enumeration-resistant endpoints."""
    return _json({"status": "check_email"}, 202)


# -- public endpoints --------------------------------------------------------------------------


@endpoint
async def config(request: Request) -> Response:
    return _json({"registration": _service(request).registration()})


@endpoint
async def setup_status(request: Request) -> Response:
    return _json({"needed": await _service(request).setup_needed()})


@endpoint
async def setup(request: Request) -> Response:
    body = await _body(request, schemas.SetupBody)
    result = await _service(request).complete_setup(
        token=body.token,
        email=body.email,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        client=client_info(request),
    )
    return _signed_in(request, result, 201)


@endpoint
async def invite_status(request: Request) -> Response:
    token = str(request.path_params.get("token", ""))
    return _json({"valid": await _service(request).invite_usable(token, client_info(request))})


@endpoint
async def signup(request: Request) -> Response:
    body = await _body(request, schemas.SignupBody)
    await _service(request).signup(
        email=body.email,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        invite=body.invite,
        client=client_info(request),
    )
    return _check_email()


@endpoint
async def login(request: Request) -> Response:
    body = await _body(request, schemas.LoginBody)
    result = await _service(request).login(login=body.login, password=body.password, client=client_info(request))
    return _signed_in(request, result)


@endpoint
async def refresh(request: Request) -> Response:
    await _optional_body(request, schemas.Empty)
    settings = _settings(request)
    token = request.cookies.get(cookie_name(settings))
    if not token:
        # Nobody is signed in on this browser: an ordinary state, not an error (every signed-out
        # page load asks). A present but bad cookie still answers 401.
        return Response(status_code=204, headers=NO_STORE)
    try:
        result = await _service(request).refresh(refresh_token=token, client=client_info(request))
    except AppError as exc:
        response = JSONResponse(
            error_body(exc.code, exc.message, request_id_var.get(), exc.details),
            status_code=exc.status,
            headers={**NO_STORE, **exc.headers},
        )
        if exc.status == 401:
            _clear_refresh_cookie(response, settings)
        return response
    return _signed_in(request, result)


@endpoint
async def logout(request: Request) -> Response:
    await _optional_body(request, schemas.Empty)
    settings = _settings(request)
    identity = None
    try:
        identity = await optional_user(request)
    except AppError:
        identity = None  # an expired access token must not stop anyone from signing out
    await _service(request).logout(
        refresh_token=request.cookies.get(cookie_name(settings)), identity=identity, client=client_info(request)
    )
    response = _no_content()
    _clear_refresh_cookie(response, settings)
    return response


@endpoint
async def verify_email(request: Request) -> Response:
    body = await _body(request, schemas.TokenBody)
    await _service(request).verify_email(token=body.token, client=client_info(request))
    return _no_content()


@endpoint
async def resend_verification(request: Request) -> Response:
    identity = await optional_user(request)
    body = await _optional_body(request, schemas.ResendBody)
    if identity is None and body.email is None:
        raise ValidationFailed("email: Field required", details={"field": "email", "rule": "missing"})
    await _service(request).resend_verification(email=body.email, identity=identity, client=client_info(request))
    return _check_email()


@endpoint
async def forgot_password(request: Request) -> Response:
    body = await _body(request, schemas.EmailBody)
    await _service(request).forgot_password(email=body.email, client=client_info(request))
    return _check_email()


@endpoint
async def reset_password(request: Request) -> Response:
    body = await _body(request, schemas.ResetBody)
    await _service(request).reset_password(token=body.token, password=body.password, client=client_info(request))
    return _no_content()


# -- signed-in endpoints -----------------------------------------------------------------------


@endpoint
async def change_password(request: Request) -> Response:
    identity = await require_user(request)
    body = await _body(request, schemas.ChangePasswordBody)
    await _service(request).change_password(
        identity, current=body.current_password, new=body.new_password, client=client_info(request)
    )
    return _no_content()


@endpoint
async def list_sessions(request: Request) -> Response:
    identity = await require_user(request)
    views = await _service(request).list_sessions(identity)
    return _json({"sessions": [session_json(view) for view in views]})


@endpoint
async def delete_session(request: Request) -> Response:
    identity = await require_user(request)
    session_id = _path_id(request, "session_id")
    await _service(request).revoke_session(identity, session_id, client_info(request))
    return _no_content()


@endpoint
async def revoke_other_sessions(request: Request) -> Response:
    identity = await require_user(request)
    await _optional_body(request, schemas.Empty)
    count = await _service(request).revoke_other_sessions(identity, client_info(request))
    return _json({"revoked": count})


@endpoint
async def ws_ticket(request: Request) -> Response:
    identity = await require_user(request)
    await _optional_body(request, schemas.Empty)
    ticket, ttl = await _service(request).issue_ws_ticket(identity, client_info(request))
    return _json({"ticket": ticket, "expires_in": ttl})


@endpoint
async def me(request: Request) -> Response:
    identity = await require_user(request)
    return _json(user_json(await _service(request).get_user(identity.user_id)))


@endpoint
async def update_me(request: Request) -> Response:
    identity = await require_user(request)
    body = await _body(request, schemas.ProfileUpdate)
    user = await _service(request).update_profile(identity, _provided(body))
    return _json(user_json(user))


# -- admin -------------------------------------------------------------------------------------


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationFailed(
            f"{name}: expected a number from {low} to {high}", details={"field": name, "rule": "range"}
        )
    return int(raw)


@endpoint
async def admin_users(request: Request) -> Response:
    await require_admin(request)
    query = request.query_params.get("q")
    if query is not None and len(query) > 100:
        raise ValidationFailed("q: at most 100 characters", details={"field": "q", "rule": "too_long"})
    limit = _query_int(request, "limit", 50, 1, 200)
    offset = _query_int(request, "offset", 0, 0, 1_000_000)
    users = await _service(request).list_users(query=query or None, limit=limit + 1, offset=offset)
    body: dict[str, Any] = {"users": [admin_user_json(u) for u in users[:limit]]}
    body["next_offset"] = offset + limit if len(users) > limit else None
    return _json(body)


@endpoint
async def admin_update_user(request: Request) -> Response:
    actor = await require_admin(request)
    user_id = _path_id(request, "user_id")
    body = await _body(request, schemas.AdminUserUpdate)
    changes = _provided(body)
    service = _service(request)
    user = await service.update_user(user_id, role=changes.get("role"), disabled=changes.get("disabled"), actor=actor)
    if changes.get("verified") and not user.email_verified:
        user = await service.set_verified(user_id)
    return _json(admin_user_json(user))


@endpoint
async def admin_reset_link(request: Request) -> Response:
    """A one-time link (1 hour) for the user to choose a new password; shown once, never mailed."""
    actor = await require_admin(request)
    user_id = _path_id(request, "user_id")
    await _optional_body(request, schemas.Empty)
    service = _service(request)
    user = await service.get_user(user_id)
    url = await service.reset_link(user.id)
    log.info("password reset link created user=%s by=%s", user.id, actor.user_id)
    return _json({"url": url, "expires_in": service.policy.reset_ttl})


@endpoint
async def admin_invites(request: Request) -> Response:
    await require_admin(request)
    service = _service(request)
    invites = await service.list_invites()
    now = service.now_ms()
    return _json({"invites": [invite_json(invite, now) for invite in invites]})


@endpoint
async def admin_create_invite(request: Request) -> Response:
    actor = await require_admin(request)
    body = await _optional_body(request, schemas.InviteCreate)
    service = _service(request)
    created = await service.create_invite(actor=actor, expires_in=body.expires_in_hours * 3600, max_uses=body.max_uses)
    return _json({**invite_json(created.invite, service.now_ms()), "token": created.token, "url": created.url}, 201)


@endpoint
async def admin_revoke_invite(request: Request) -> Response:
    await require_admin(request)
    await _service(request).revoke_invite(_path_id(request, "invite_id"))
    return _no_content()


routes: list[BaseRoute] = [
    Route("/api/auth/config", config, methods=["GET"]),
    Route("/api/auth/setup", setup_status, methods=["GET"]),
    Route("/api/auth/setup", setup, methods=["POST"]),
    Route("/api/auth/invites/{token}", invite_status, methods=["GET"]),
    Route("/api/auth/signup", signup, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/refresh", refresh, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/auth/verify-email", verify_email, methods=["POST"]),
    Route("/api/auth/verify-email/resend", resend_verification, methods=["POST"]),
    Route("/api/auth/password/forgot", forgot_password, methods=["POST"]),
    Route("/api/auth/password/reset", reset_password, methods=["POST"]),
    Route("/api/auth/password/change", change_password, methods=["POST"]),
    Route("/api/auth/sessions", list_sessions, methods=["GET"]),
    Route("/api/auth/sessions/revoke-others", revoke_other_sessions, methods=["POST"]),
    Route("/api/auth/sessions/{session_id}", delete_session, methods=["DELETE"]),
    Route("/api/auth/ws-ticket", ws_ticket, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me", update_me, methods=["PATCH"]),
    Route("/api/admin/users", admin_users, methods=["GET"]),
    Route("/api/admin/users/{user_id}", admin_update_user, methods=["PATCH"]),
    Route("/api/admin/users/{user_id}/reset-link", admin_reset_link, methods=["POST"]),
    Route("/api/admin/invites", admin_invites, methods=["GET"]),
    Route("/api/admin/invites", admin_create_invite, methods=["POST"]),
    Route("/api/admin/invites/{invite_id}", admin_revoke_invite, methods=["DELETE"]),
]
