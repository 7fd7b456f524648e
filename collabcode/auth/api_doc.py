"""OpenAPI operations of the accounts API (routes in :mod:`collabcode.auth.routes`)."""

from __future__ import annotations

from collabcode.auth import schemas
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
    text,
)

REFRESH_COOKIE = "The refresh cookie (`__Host-collabcode_refresh`, or `collabcode_refresh` on plain http)."
#: The refresh cookie's two names: ``__Host-`` on https, the plain one (Path=/api/auth) on http.
COOKIES = ("__Host-collabcode_refresh", "collabcode_refresh")

USER = component(
    "User",
    obj(
        {
            "id": ID,
            "username": STRING,
            "email": STRING,
            "display_name": STRING,
            "bio": STRING,
            "avatar_color": STRING,
            "role": enum("admin", "member"),
            "email_verified": BOOLEAN,
            "created_at": TIME,
        }
    ),
)
ADMIN_USER = component("AdminUser", {"allOf": [USER, obj({"disabled": BOOLEAN, "updated_at": TIME})]})
SIGNED_IN = component(
    "SignedIn",
    obj(
        {
            "access_token": STRING,
            "token_type": {"const": "Bearer"},
            "expires_in": INTEGER,
            "user": USER,
        }
    ),
)
CHECK_EMAIL = obj({"status": {"const": "check_email"}})
SESSION = component(
    "Session",
    obj(
        {
            "id": ID,
            "device": STRING,
            "ip": STRING,
            "created_at": TIME,
            "last_seen_at": TIME,
            "current": BOOLEAN,
        }
    ),
)
INVITE = component(
    "Invite",
    obj(
        {
            "id": ID,
            "created_by": nullable(STRING),
            "created_at": TIME,
            "expires_at": TIME,
            "max_uses": INTEGER,
            "uses": INTEGER,
            "status": enum("active", "used", "expired", "revoked"),
        }
    ),
)
NEW_INVITE = component("NewInvite", {"allOf": [INVITE, obj({"token": STRING, "url": STRING})]})

SIGNED_IN_REPLY = Reply("Signed in; sets the refresh cookie.", SIGNED_IN, headers={"Set-Cookie": REFRESH_COOKIE})
NO_CONTENT = "Done (no body)."

OPERATIONS: list[Operation] = [
    Operation(
        "GET",
        "/api/auth/config",
        "How people can sign up",
        "auth",
        "public",
        {200: Reply("Registration mode.", obj({"registration": enum("open", "invite", "closed")}))},
    ),
    Operation(
        "GET",
        "/api/auth/setup",
        "Whether the first-run setup is still needed",
        "auth",
        "public",
        {200: Reply("True while no account exists.", obj({"needed": BOOLEAN}))},
    ),
    Operation(
        "POST",
        "/api/auth/setup",
        "Create the first administrator with the setup link's token",
        "auth",
        "public",
        {201: SIGNED_IN_REPLY},
        body=schemas.SetupBody,
        rate_limited=True,
    ),
    Operation(
        "GET",
        "/api/auth/invites/{token}",
        "Whether an invite link can still be used",
        "auth",
        "public",
        {200: Reply("Validity of the invite.", obj({"valid": BOOLEAN}))},
        rate_limited=True,
    ),
    Operation(
        "POST",
        "/api/auth/signup",
        "Sign up; a verification mail follows",
        "auth",
        "public",
        {
            202: Reply("Accepted (also when the email is taken: its owner is mailed).", CHECK_EMAIL),
            403: "`registration_closed` or `invite_invalid`.",
            409: "`username_taken`.",
        },
        body=schemas.SignupBody,
        rate_limited=True,
    ),
    Operation(
        "POST",
        "/api/auth/login",
        "Sign in with email or username and password",
        "auth",
        "public",
        {
            200: SIGNED_IN_REPLY,
            401: "`invalid_credentials`.",
            403: "`account_disabled` (after the right password).",
        },
        body=schemas.LoginBody,
        rate_limited=True,
    ),
    Operation(
        "POST",
        "/api/auth/refresh",
        "Exchange the refresh cookie for a new access token",
        "auth",
        "public",
        {
            200: SIGNED_IN_REPLY,
            204: "No refresh cookie: nobody is signed in on this browser.",
            401: "`refresh_invalid`: expired, revoked or reused; the cookie is cleared.",
        },
        body=schemas.Empty,
        cookies=COOKIES,
        body_required=False,
    ),
    Operation(
        "POST",
        "/api/auth/logout",
        "Sign out this session (cookie and/or Bearer)",
        "auth",
        "optional",
        {204: Reply("Signed out; the cookie is cleared.", headers={"Set-Cookie": REFRESH_COOKIE})},
        body=schemas.Empty,
        cookies=COOKIES,
        body_required=False,
    ),
    Operation(
        "POST",
        "/api/auth/verify-email",
        "Confirm an email address with the mailed token",
        "auth",
        "public",
        {204: NO_CONTENT},
        body=schemas.TokenBody,
    ),
    Operation(
        "POST",
        "/api/auth/verify-email/resend",
        "Mail a new verification link (Bearer, or an email in the body)",
        "auth",
        "optional",
        {202: Reply("Accepted.", CHECK_EMAIL), 401: "`unauthorized`: an Authorization header with an invalid token."},
        body=schemas.ResendBody,
        body_required=False,
        rate_limited=True,
    ),
    Operation(
        "POST",
        "/api/auth/password/forgot",
        "Mail a password reset link",
        "auth",
        "public",
        {202: Reply("Accepted whether or not the account exists.", CHECK_EMAIL)},
        body=schemas.EmailBody,
        rate_limited=True,
    ),
    Operation(
        "POST",
        "/api/auth/password/reset",
        "Choose a new password with a reset token",
        "auth",
        "public",
        {204: "Password changed; every session is signed out."},
        body=schemas.ResetBody,
    ),
    Operation(
        "POST",
        "/api/auth/password/change",
        "Change the password",
        "auth",
        "user",
        {204: "Password changed; other sessions are signed out.", 403: "`invalid_password`."},
        body=schemas.ChangePasswordBody,
        rate_limited=True,
    ),
    Operation(
        "GET",
        "/api/auth/sessions",
        "The caller's signed-in sessions",
        "auth",
        "user",
        {200: Reply("Sessions.", obj({"sessions": array(SESSION)}))},
    ),
    Operation(
        "POST",
        "/api/auth/sessions/revoke-others",
        "Sign out every other session",
        "auth",
        "user",
        {200: Reply("How many were signed out.", obj({"revoked": INTEGER}))},
        body=schemas.Empty,
        body_required=False,
    ),
    Operation(
        "DELETE",
        "/api/auth/sessions/{session_id}",
        "Sign out one of the caller's sessions",
        "auth",
        "user",
        {204: NO_CONTENT},
    ),
    Operation(
        "POST",
        "/api/auth/ws-ticket",
        "A single-use ticket for opening a WebSocket from a browser",
        "auth",
        "user",
        {200: Reply("The ticket.", obj({"ticket": STRING, "expires_in": INTEGER}))},
        body=schemas.Empty,
        body_required=False,
        rate_limited=True,
    ),
    Operation("GET", "/api/me", "The caller's account", "auth", "user", {200: Reply("The user.", USER)}),
    Operation(
        "PATCH",
        "/api/me",
        "Change display name, bio or avatar colour",
        "auth",
        "user",
        {200: Reply("The user.", USER)},
        body=schemas.ProfileUpdate,
    ),
    Operation(
        "GET",
        "/api/admin/users",
        "List and search accounts",
        "admin",
        "admin",
        {200: Reply("A page of users.", obj({"users": array(ADMIN_USER), "next_offset": nullable(INTEGER)}))},
        query=[
            ("q", text(max_length=100), False),
            ("limit", integer(1, 200), False),
            ("offset", integer(0, 1_000_000), False),
        ],
    ),
    Operation(
        "PATCH",
        "/api/admin/users/{user_id}",
        "Change an account's role, disable it or mark it verified",
        "admin",
        "admin",
        {200: Reply("The user.", ADMIN_USER), 409: "`last_admin` or `cannot_disable_self`."},
        body=schemas.AdminUserUpdate,
    ),
    Operation(
        "POST",
        "/api/admin/users/{user_id}/reset-link",
        "A single-use password reset link for an account, shown only here",
        "admin",
        "admin",
        {200: Reply("The link.", obj({"url": STRING, "expires_in": INTEGER}))},
        body=schemas.Empty,
        body_required=False,
    ),
    Operation(
        "GET",
        "/api/admin/invites",
        "Invite links (never the link itself)",
        "admin",
        "admin",
        {200: Reply("Invites.", obj({"invites": array(INVITE)}))},
    ),
    Operation(
        "POST",
        "/api/admin/invites",
        "Create an invite link, shown only here",
        "admin",
        "admin",
        {201: Reply("The invite with its token and URL.", NEW_INVITE), 403: "`email_unverified`."},
        body=schemas.InviteCreate,
        body_required=False,
    ),
    Operation(
        "DELETE",
        "/api/admin/invites/{invite_id}",
        "Revoke an invite",
        "admin",
        "admin",
        {204: NO_CONTENT},
    ),
]
