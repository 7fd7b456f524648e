"""What the accounts store returns: plain dataclasses built from rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collabcode.auth.identity import Identity, Role


@dataclass(frozen=True)
class User:
    id: str
    email: str
    username: str
    display_name: str
    bio: str
    avatar_color: str
    role: Role
    email_verified: bool
    disabled: bool
    created_at: int
    updated_at: int
    password_hash: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        role: Role = "admin" if row["role"] == "admin" else "member"
        return cls(
            id=str(row["id"]),
            email=str(row["email"]),
            username=str(row["username"]),
            display_name=str(row["display_name"]),
            bio=str(row["bio"]),
            avatar_color=str(row["avatar_color"]),
            role=role,
            email_verified=int(row["email_verified"]) == 1,
            disabled=int(row["disabled"]) == 1,
            created_at=int(row["created_at"]),
            updated_at=int(row["updated_at"]),
            password_hash=row.get("password_hash"),
        )

    def identity(self, session_id: str) -> Identity:
        return Identity(
            user_id=self.id,
            session_id=session_id,
            username=self.username,
            display_name=self.display_name,
            role=self.role,
            email_verified=self.email_verified,
            avatar_color=self.avatar_color,
        )


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    created_at: int
    last_seen_at: int
    expires_at: int
    ip: str
    user_agent: str
    revoked_at: int | None
    revoked_reason: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Session:
        return cls(
            id=str(row["id"]),
            user_id=str(row["user_id"]),
            created_at=int(row["created_at"]),
            last_seen_at=int(row["last_seen_at"]),
            expires_at=int(row["expires_at"]),
            ip=str(row["ip"]),
            user_agent=str(row["user_agent"]),
            revoked_at=None if row["revoked_at"] is None else int(row["revoked_at"]),
            revoked_reason=row["revoked_reason"],
        )

    def alive(self, now_ms: int, idle_ms: int) -> bool:
        return self.revoked_at is None and now_ms < self.expires_at and now_ms < self.last_seen_at + idle_ms


@dataclass(frozen=True)
class Invite:
    id: str
    created_by: str | None
    created_at: int
    expires_at: int
    max_uses: int
    uses: int
    revoked_at: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Invite:
        return cls(
            id=str(row["id"]),
            created_by=row["created_by"],
            created_at=int(row["created_at"]),
            expires_at=int(row["expires_at"]),
            max_uses=int(row["max_uses"]),
            uses=int(row["uses"]),
            revoked_at=None if row["revoked_at"] is None else int(row["revoked_at"]),
        )

    def status(self, now_ms: int) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.uses >= self.max_uses:
            return "used"
        if now_ms >= self.expires_at:
            return "expired"
        return "active"
