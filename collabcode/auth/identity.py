"""Who is calling: the server-side identity every feature trusts, never a client's claim."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "member"]


@dataclass(frozen=True)
class Identity:
    """An authenticated user on a live session (resolved from a token or a WebSocket ticket)."""

    user_id: str
    session_id: str
    username: str
    display_name: str
    role: Role
    email_verified: bool
    avatar_color: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
