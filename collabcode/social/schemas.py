"""Request bodies of profiles, recent files and instance settings: strict, closed, length-limited."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from collabcode.auth.schemas import Bio, DisplayName, Strict

Id = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class ProfileUpdate(Strict):
    display_name: DisplayName | None = None
    bio: Bio | None = None


class RecentFile(Strict):
    workspace_id: Id
    file_id: Id


class SettingsUpdate(Strict):
    """Every instance setting an admin may try to change; read-only ones are refused with 409."""

    registration: Literal["open", "invite", "closed"] | None = None
    ai_provider: Literal["auto", "off", "openai", "ollama", "llamacpp"] | None = None
    turn: bool | None = None
