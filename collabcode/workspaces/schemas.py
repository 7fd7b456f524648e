"""Request bodies (strict: unknown fields are refused) and the allowlisted shapes of responses."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["owner", "editor", "viewer"]
Kind = Literal["file", "folder"]

#: Longest path string accepted by the schema; the path rules (paths.py) then apply byte limits.
PATH_FIELD_MAX = 4096
NAME_MAX = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateWorkspace(_Strict):
    name: str = Field(max_length=NAME_MAX * 4)


class UpdateWorkspace(_Strict):
    name: str = Field(max_length=NAME_MAX * 4)


class AddMember(_Strict):
    username: str = Field(max_length=64)
    role: Role


class UpdateMember(_Strict):
    role: Role


class CreateEntry(_Strict):
    path: str = Field(max_length=PATH_FIELD_MAX)
    kind: Kind
    content: str | None = None


class MoveEntry(_Strict):
    path: str = Field(max_length=PATH_FIELD_MAX)


# -- responses: only these keys ever leave the server ------------------------------------------


def workspace_view(row: dict[str, Any]) -> dict[str, Any]:
    view = {
        "id": str(row["id"]),
        "name": str(row["name"]),
        "role": str(row["role"]),
        "created_at": int(row["created_at"]),
        "updated_at": int(row["updated_at"]),
    }
    if "member_count" in row:
        view["member_count"] = int(row["member_count"])
    return view


def member_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": str(row["user_id"]),
        "username": str(row["username"]),
        "display_name": str(row["display_name"]),
        "avatar_color": str(row["avatar_color"]),
        "role": str(row["role"]),
        "added_at": int(row["added_at"]),
    }


def entry_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "path": str(row["path"]),
        "kind": str(row["kind"]),
        "size": int(row["size"]),
        "updated_at": int(row["updated_at"]),
    }
