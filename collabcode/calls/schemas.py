"""Call requests (HTTP bodies and events-socket frames): strict, closed, length-limited.

Unknown fields are refused; on the events socket a ``from`` (or any other identity field) closes
the socket with 1008, because the server stamps who sent a signaling frame. SDP and candidates
are opaque to the server, but their size and characters are checked before they are relayed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from collabcode.auth.validation import InputRejected, normalize_username
from collabcode.realtime.frames import ClientFrame

#: Longest session description relayed, in characters (a browser's audio+video+data offer is a
#: few KiB; the events socket takes frames up to 64 KiB).
MAX_SDP_CHARS = 32_000
MAX_CANDIDATE_CHARS = 1024


def _username(value: str) -> str:
    try:
        return normalize_username(value)
    except InputRejected as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None


def _sdp(value: str) -> str:
    if not value.startswith("v=0"):
        raise PydanticCustomError("not_sdp", "An SDP starts with v=0.")
    if any((ord(c) < 32 and c not in "\r\n\t") or ord(c) == 127 for c in value):
        raise PydanticCustomError("control_character", "The SDP contains control characters.")
    return value


def _candidate_line(value: str) -> str:
    if value and not value.startswith(("candidate:", "a=candidate:")):
        raise PydanticCustomError("not_candidate", "A candidate starts with 'candidate:'.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise PydanticCustomError("control_character", "The candidate contains control characters.")
    return value


Id = Annotated[str, Field(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
Username = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_username)]
Media = Literal["audio", "video"]
Sdp = Annotated[str, Field(min_length=3, max_length=MAX_SDP_CHARS), AfterValidator(_sdp)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StartCall(_Strict):
    """``{callee, media, conversation_id?}`` for a direct call, ``{workspace_id, media}`` for a workspace call."""

    media: Media
    callee: Username | None = None
    conversation_id: Id | None = None
    workspace_id: Id | None = None

    @model_validator(mode="after")
    def _one_target(self) -> StartCall:
        if (self.callee is None) == (self.workspace_id is None):
            raise PydanticCustomError("one_of", "give either callee or workspace_id")
        if self.workspace_id is not None and self.conversation_id is not None:
            raise PydanticCustomError("exclusive", "conversation_id goes with callee, not workspace_id")
        return self


class Candidate(_Strict):
    """An ``RTCIceCandidateInit`` as browsers serialise it."""

    candidate: Annotated[str, Field(max_length=MAX_CANDIDATE_CHARS), AfterValidator(_candidate_line)]
    sdpMid: Annotated[str, Field(max_length=64)] | None = None
    sdpMLineIndex: Annotated[int, Field(ge=0, le=255)] | None = None
    usernameFragment: Annotated[str, Field(max_length=256)] | None = None


# -- events-socket frames ------------------------------------------------------------------------


class OfferFrame(ClientFrame):
    type: Literal["rtc.offer"]
    call_id: Id
    to: Id
    sdp: Sdp


class AnswerFrame(ClientFrame):
    type: Literal["rtc.answer"]
    call_id: Id
    to: Id
    sdp: Sdp


class CandidateFrame(ClientFrame):
    """``candidate`` null: this side has no more candidates (end of candidates)."""

    type: Literal["rtc.candidate"]
    call_id: Id
    to: Id
    candidate: Candidate | None


class CallActionFrame(ClientFrame):
    type: Literal["call.accept", "call.decline", "call.cancel", "call.end"]
    call_id: Id
