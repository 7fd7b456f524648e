"""Request bodies of the assistant API: strict (unknown fields are 422) and size-capped.

Client-sent code is capped here; the server then cuts it to the configured context windows.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[0-9a-f]{32}$"
#: Largest prefix/suffix a client may send; the prompt uses at most ``ai_context_chars`` of it.
MAX_CODE_CHARS = 100_000
MAX_MESSAGE_CHARS = 32_000
MAX_MESSAGES = 50
MAX_SELECTION_CHARS = 50_000
MAX_OPEN_FILES = 20

Id = Annotated[str, Field(pattern=ID_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Cursor(_Strict):
    line: int = Field(ge=0, le=10_000_000)
    column: int = Field(ge=0, le=10_000_000)


class CompleteRequest(_Strict):
    workspace_id: str = Field(pattern=ID_PATTERN)
    file_id: str = Field(pattern=ID_PATTERN)
    language: str = Field(default="plaintext", max_length=64, pattern=r"^[A-Za-z0-9_+#.\- ]*$")
    prefix: str = Field(max_length=MAX_CODE_CHARS)
    suffix: str = Field(default="", max_length=MAX_CODE_CHARS)
    cursor: Cursor | int | None = None


class Message(_Strict):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class SelectionIn(_Strict):
    text: str = Field(max_length=MAX_SELECTION_CHARS)
    start_line: int = Field(ge=1, le=10_000_000)
    end_line: int = Field(ge=1, le=10_000_000)


class ChatContext(_Strict):
    file_id: str | None = Field(default=None, pattern=ID_PATTERN)
    selection: SelectionIn | None = None
    open_files: list[Id] = Field(default_factory=list, max_length=MAX_OPEN_FILES)


class ChatRequest(_Strict):
    workspace_id: str | None = Field(default=None, pattern=ID_PATTERN)
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    context: ChatContext = Field(default_factory=ChatContext)


class WorkspaceSwitch(_Strict):
    enabled: bool
