"""Chat requests (HTTP bodies and events-socket frames): strict, closed, length-limited.

Unknown fields are refused (``extra="forbid"``), so a client cannot even try to say who sent a
message; on the events socket such a field closes the socket (see ``realtime.frames``). Message
text is NFC-normalised and may not contain control characters other than newlines, direction
overrides or invisible characters (SECURITY.md 10).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from collabcode.auth.validation import InputRejected, clean_text, normalize_username
from collabcode.realtime.frames import ClientFrame

#: Longest message, in characters after normalisation.
MAX_BODY_CHARS = 4000
#: Longest range of code one message may reference, in characters.
MAX_CODE_REF_CHARS = 20_000
MAX_DISCOVERY_NUMBERS = 100


def _body(value: str) -> str:
    try:
        text = clean_text(value, "body", allow_newlines=True)
    except InputRejected as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None
    if not text.strip():
        raise PydanticCustomError("empty", "A message may not be empty.")
    if len(text) > MAX_BODY_CHARS:
        raise PydanticCustomError("too_long", f"A message has at most {MAX_BODY_CHARS} characters.")
    return text


def _username(value: str) -> str:
    try:
        return normalize_username(value)
    except InputRejected as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None


Id = Annotated[str, Field(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Body = Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARS * 2), AfterValidator(_body)]
Username = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_username)]
Region = Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]
PhoneText = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OpenConversation(_Strict):
    username: Username


class CodeRefIn(_Strict):
    """A range of a workspace file, in characters of its current text: ``[start, end)``."""

    workspace_id: Id
    file_id: Id
    start: int = Field(ge=0, le=2**31)
    end: int = Field(ge=0, le=2**31)


class SendMessage(_Strict):
    body: Body
    client_id: ClientId
    code_ref: CodeRefIn | None = None


class EditMessage(_Strict):
    body: Body


class MarkRead(_Strict):
    message_id: Id


class PrivacyUpdate(_Strict):
    """``phone_number`` null removes the number; ``phone_region`` parses numbers without ``+``."""

    phone_number: PhoneText | None = None
    phone_region: Region | None = None
    discoverable: bool | None = None
    read_receipts: bool | None = None
    invisible: bool | None = None


class Discover(_Strict):
    phone_numbers: list[PhoneText] = Field(min_length=1, max_length=MAX_DISCOVERY_NUMBERS)
    region: Region | None = None


# -- events-socket frames ------------------------------------------------------------------------


class SendFrame(ClientFrame):
    type: Literal["message.send"]
    conversation_id: Id
    client_id: ClientId
    body: Body
    code_ref: CodeRefIn | None = None


class EditFrame(ClientFrame):
    type: Literal["message.edit"]
    conversation_id: Id
    message_id: Id
    body: Body


class DeleteFrame(ClientFrame):
    type: Literal["message.delete"]
    conversation_id: Id
    message_id: Id


class ReadFrame(ClientFrame):
    type: Literal["message.read"]
    conversation_id: Id
    message_id: Id


class TypingFrame(ClientFrame):
    type: Literal["typing"]
    conversation_id: Id
    active: bool = True
