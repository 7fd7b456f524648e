"""Request bodies of the history API (strict: unknown fields are refused, sizes are bounded)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Longest checkpoint name and comment body (characters).
CHECKPOINT_NAME_MAX = 100
COMMENT_BODY_MAX = 10_000
#: Offsets beyond this cannot be in a document (4 MiB is the document limit).
OFFSET_MAX = 8 * 1024 * 1024
VERSION_MAX = 2**62


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateCheckpoint(_Strict):
    name: str = Field(min_length=1, max_length=CHECKPOINT_NAME_MAX)


class Restore(_Strict):
    version: int = Field(ge=1, le=VERSION_MAX)


class Anchor(_Strict):
    """A range of the current text in characters (Unicode code points), ``start <= end``."""

    start: int = Field(ge=0, le=OFFSET_MAX)
    end: int = Field(ge=0, le=OFFSET_MAX)


class CreateComment(_Strict):
    anchor: Anchor
    body: str = Field(min_length=1, max_length=COMMENT_BODY_MAX)


class UpdateComment(_Strict):
    resolved: bool
