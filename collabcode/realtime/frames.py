"""JSON frames of the events socket: the base of every client frame, encoding, and dispatch types.

A client frame is a JSON object with a ``type``; each type has a strict pydantic model
(``extra="forbid"``), registered with :meth:`collabcode.realtime.hub.EventsHub.add_handler` by
the feature that serves it. Fields that would let a client claim to be someone else are not
merely refused: a frame carrying one closes the socket with 1008 (SECURITY.md: identity is
stamped by the server).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collabcode.auth.identity import Identity
    from collabcode.services import Services

#: Keys that claim an identity; the server decides who sent a frame.
IDENTITY_FIELDS: frozenset[str] = frozenset(
    {"sender", "sender_id", "user", "user_id", "from", "from_user", "author", "author_id"}
)
#: Deepest JSON nesting accepted in a client frame.
MAX_FRAME_DEPTH = 8

Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ClientFrame(BaseModel):
    """Every client frame: its ``type`` and an optional ``ref`` echoed in the reply."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    type: str
    ref: Ref | None = None


class Replier(Protocol):
    def send_frame(self, frame: dict[str, Any]) -> None: ...

    def defer(self, work: Awaitable[None], ref: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class FrameContext:
    """What a frame handler gets besides the frame: who sent it, on which socket, and the app."""

    identity: Identity
    socket_id: str
    services: Services
    reply: Replier

    def answer(self, frame: dict[str, Any]) -> None:
        """Send a frame back on the socket the request came from."""
        self.reply.send_frame(frame)

    def defer(self, work: Awaitable[None], ref: str | None) -> None:
        """Finish a request in the background, so the socket can read its next frame now.

        For work that waits long (a commit) once everything that fixes its order is done: the
        socket keeps at most a few such requests in flight, and an :class:`AppError` raised by
        ``work`` is answered with an ``error`` frame carrying ``ref``, as for a handler.
        """
        self.reply.defer(work, ref)


FrameHandler = Callable[[FrameContext, Any], Awaitable[None]]


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode(text: str) -> Any:
    """Parse one frame; ``ValueError`` for anything that is not plain JSON of sane depth."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("too deep") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_FRAME_DEPTH:
            raise ValueError("too deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value
