"""Ranges of code that follow the code: two Yjs sticky indexes (relative positions) per range.

Comments (``history.service``) and chat messages (``chat.code_refs``) both point at code this
way. A range is made on the live document and stored as its two encoded sticky indexes plus the
text it covered; resolving them later against the live document gives the range where that code
is now, however much was typed around or inside it, or None once the code is gone.

The API counts characters, pycrdt counts UTF-8 bytes: conversions are here. pycrdt 0.14 panics
(pyo3's ``PanicException``, a ``BaseException``) creating or resolving sticky indexes after some
non-ASCII text typed in browsers (docs/history.md): such a range is :class:`Unanchorable`, and
an anchor that no longer resolves reads as deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pycrdt

from collabcode.collab.room import TEXT_NAME, Room


class OutOfRange(ValueError):
    """The range does not lie within the text (``length`` characters) with start <= end."""

    def __init__(self, length: int) -> None:
        super().__init__(f"range outside 0..{length}")
        self.length = length


class Unanchorable(ValueError):
    """pycrdt cannot make (or read back) sticky indexes for this range."""


@dataclass(frozen=True, slots=True)
class Anchors:
    """A new range: its encoded sticky indexes and the text it covers now."""

    start: bytes
    end: bytes
    snippet: str


@dataclass(frozen=True, slots=True)
class Span:
    """Where an anchored range is now, in characters, and its current text."""

    start: int
    end: int
    text: str


def to_bytes(text: str, index: int) -> int:
    """pycrdt indexes text by UTF-8 byte; the API by character."""
    return len(text[:index].encode("utf-8"))


def to_chars(text: str, offset: int) -> int:
    return len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore"))


def _is_panic(exc: BaseException) -> bool:
    """pycrdt reports its internal failures as pyo3's PanicException (a BaseException)."""
    return type(exc).__name__ == "PanicException"


def _text_type(room: Room) -> pycrdt.Text:
    text: pycrdt.Text = room.doc.get(TEXT_NAME, type=pycrdt.Text)
    return text


def _offset(encoded: bytes, text_type: pycrdt.Text) -> int | None:
    """Where an encoded sticky index points now (UTF-8 byte offset), or None if unresolvable."""
    try:
        return int(pycrdt.StickyIndex.decode(encoded, text_type).get_index())
    except Exception:
        return None
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        return None


def anchor(room: Room, start: int, end: int) -> Anchors:
    """Anchor characters ``[start, end)`` of the room's current text.

    The start sticks to the first character of the range and the end to the last one, so text
    typed right before or right after the range stays out of it.
    """
    current = room.text
    if not 0 <= start <= end <= len(current):
        raise OutOfRange(len(current))
    text_type = _text_type(room)
    last_assoc = pycrdt.Assoc.BEFORE if end > start else pycrdt.Assoc.AFTER
    try:
        first = text_type.sticky_index(to_bytes(current, start), pycrdt.Assoc.AFTER)
        last = text_type.sticky_index(to_bytes(current, end), last_assoc)
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        raise Unanchorable() from None
    encoded = first.encode(), last.encode()
    # Read both back: where pycrdt would silently resolve them a few characters off (positions
    # inside browser-typed multi-byte text), the range is refused rather than stored wrong.
    wanted = to_bytes(current, start), to_bytes(current, end)
    if tuple(_offset(value, text_type) for value in encoded) != wanted:
        raise Unanchorable()
    return Anchors(encoded[0], encoded[1], current[start:end])


def locate(room: Room, start: bytes, end: bytes, original: str) -> Span | None:
    """Where the anchored range is now; None when its code was deleted.

    ``original`` is the text the range covered when anchored: a range that collapsed to nothing
    although it covered text is deleted code.
    """
    text_type = _text_type(room)
    first, last = _offset(start, text_type), _offset(end, text_type)
    if first is None or last is None or last < first or (first == last and original != ""):
        return None
    current = room.text
    begin, finish = to_chars(current, first), to_chars(current, last)
    return Span(begin, finish, current[begin:finish])
