"""Request bodies of the accounts API: strict, closed (``extra="forbid"``), length-limited.

Unknown fields (``role``, ``id``, ``email_verified`` ...) are refused with 422 instead of being
ignored, so mass assignment cannot even be attempted silently. Values are normalised here
(NFC, lower-case emails and usernames) with the rules in :mod:`collabcode.auth.validation`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from collabcode.auth.passwords import PasswordRejected, check_policy
from collabcode.auth.validation import (
    InputRejected,
    normalize_bio,
    normalize_color,
    normalize_display_name,
    normalize_email,
    normalize_username,
)

TOKEN_MAX = 128


def _rule(check: Callable[[str], str]) -> Callable[[str], str]:
    def run(value: str) -> str:
        try:
            return check(value)
        except InputRejected as exc:
            raise PydanticCustomError(exc.rule, exc.message) from None

    return run


def _new_password(value: str) -> str:
    try:
        return check_policy(value)
    except PasswordRejected as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None


Email = Annotated[str, Field(min_length=1, max_length=320), AfterValidator(_rule(normalize_email))]
Username = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_rule(normalize_username))]
DisplayName = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_rule(normalize_display_name))]
Bio = Annotated[str, Field(max_length=2000), AfterValidator(_rule(normalize_bio))]
Color = Annotated[str, Field(max_length=16), AfterValidator(_rule(normalize_color))]
NewPassword = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_new_password)]
Token = Annotated[str, Field(min_length=1, max_length=TOKEN_MAX)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Empty(Strict):
    """Endpoints that take no input accept no body or ``{}``."""


class SignupBody(Strict):
    email: Email
    username: Username
    password: NewPassword
    display_name: DisplayName
    invite: Token | None = None


class SetupBody(Strict):
    token: Token
    email: Email
    username: Username
    password: NewPassword
    display_name: DisplayName


class LoginBody(Strict):
    login: str = Field(min_length=1, max_length=320)
    # Long enough that an over-long password gets the contract's 401, not a schema 422.
    password: str = Field(min_length=1, max_length=4096)


class TokenBody(Strict):
    token: Token


class EmailBody(Strict):
    email: Email


class ResendBody(Strict):
    email: Email | None = None


class ResetBody(Strict):
    token: Token
    password: NewPassword


class ChangePasswordBody(Strict):
    current_password: str = Field(min_length=1, max_length=4096)
    new_password: NewPassword


class ProfileUpdate(Strict):
    display_name: DisplayName | None = None
    bio: Bio | None = None
    avatar_color: Color | None = None


class AdminUserUpdate(Strict):
    role: Literal["admin", "member"] | None = None
    disabled: bool | None = None
    #: Only ``true``: an administrator can confirm an address, not take a confirmation back.
    verified: Literal[True] | None = None


class InviteCreate(Strict):
    expires_in_hours: int = Field(default=168, ge=1, le=720)
    max_uses: int = Field(default=1, ge=1, le=1000)
