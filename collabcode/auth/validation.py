"""Normalising and checking what people type into account fields.

Shared by the request schemas (which turn :class:`InputRejected` into 422) and the admin CLI.
Text is NFC-normalised; control characters, bidirectional overrides and unpaired surrogates are
refused everywhere (SECURITY.md 10), so a name can neither break a log line nor display as
something it is not.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

EMAIL_MAX_BYTES = 254
USERNAME_PATTERN = re.compile(r"^[a-z0-9_-]{3,32}$")
#: Names that are path segments of the API (``GET /api/users/search``), so no account may take them.
RESERVED_USERNAMES = frozenset({"search"})
DISPLAY_NAME_MAX = 64
BIO_MAX = 500
COLOR_PATTERN = re.compile(r"^#[0-9a-f]{6}$")

#: Default avatar colours, picked from the user id so they stay stable.
AVATAR_PALETTE = (
    "#4338ca",
    "#7c3aed",
    "#a21caf",
    "#be185d",
    "#b91c1c",
    "#c2410c",
    "#a16207",
    "#15803d",
    "#0f766e",
    "#0369a1",
    "#475569",
)

_BIDI_CONTROLS = frozenset(chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_INVISIBLE = frozenset({"\u200b", "\ufeff", "\u2028", "\u2029"})
_EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"\\]{1,64}@[^\s@<>()\[\],;:\"\\]{1,253}$")


class InputRejected(ValueError):
    """A field value is not acceptable; ``rule`` is a stable machine code."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message


def clean_text(value: str, field: str, *, allow_newlines: bool = False) -> str:
    """NFC text without control, bidi-override or invisible characters."""
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InputRejected(field, "invalid_unicode", "The text is not valid Unicode.")
    text = unicodedata.normalize("NFC", value)
    if allow_newlines:
        text = text.replace("\r\n", "\n")
    for char in text:
        if char == "\n" and allow_newlines:
            continue
        if unicodedata.category(char) == "Cc":
            raise InputRejected(field, "control_character", "Control characters are not allowed.")
        if char in _BIDI_CONTROLS or char in _INVISIBLE:
            raise InputRejected(
                field, "bidi_or_invisible_character", "Direction or invisible characters are not allowed."
            )
    return text


def normalize_email(value: str, field: str = "email") -> str:
    text = clean_text(value, field).strip().lower()
    if len(text.encode("utf-8")) > EMAIL_MAX_BYTES:
        raise InputRejected(field, "too_long", f"An email address has at most {EMAIL_MAX_BYTES} bytes.")
    if not _EMAIL.fullmatch(text) or text.endswith(".") or ".." in text.split("@", 1)[1]:
        raise InputRejected(field, "invalid_email", "This is not an email address.")
    return text


def normalize_username(value: str, field: str = "username") -> str:
    text = value.strip().lower()
    if not USERNAME_PATTERN.fullmatch(text):
        raise InputRejected(
            field, "invalid_username", "Use 3 to 32 characters: lower-case letters, digits, '_' and '-'."
        )
    if text in RESERVED_USERNAMES:
        raise InputRejected(field, "reserved_username", "This username is reserved; choose another.")
    return text


def normalize_display_name(value: str, field: str = "display_name") -> str:
    text = clean_text(value, field).strip()
    if not text:
        raise InputRejected(field, "too_short", "The display name may not be empty.")
    if len(text) > DISPLAY_NAME_MAX:
        raise InputRejected(field, "too_long", f"Use at most {DISPLAY_NAME_MAX} characters.")
    return text


def normalize_bio(value: str, field: str = "bio") -> str:
    text = clean_text(value, field, allow_newlines=True).strip()
    if len(text) > BIO_MAX:
        raise InputRejected(field, "too_long", f"Use at most {BIO_MAX} characters.")
    return text


def normalize_color(value: str, field: str = "avatar_color") -> str:
    text = value.strip().lower()
    if not COLOR_PATTERN.fullmatch(text):
        raise InputRejected(field, "invalid_color", "Use a colour like #2563eb.")
    return text


def default_color(user_id: str) -> str:
    index = int(hashlib.sha256(user_id.encode()).hexdigest(), 16) % len(AVATAR_PALETTE)
    return AVATAR_PALETTE[index]


def login_key(value: str) -> str:
    """The normalised form of what was typed in a login field (email or username)."""
    return unicodedata.normalize("NFC", value).strip().lower()
