"""Ranges of code that follow the code: two Yjs sticky indexes (relative positions) per range.

Comments (``history.service``) and chat messages (``chat.code_refs``) both point at code this
way. A range is made on the live document and stored as its two encoded sticky indexes plus the
text it covered; resolving them later against the live document gives the range where that code
is now, however much was typed around or inside it, or None once the code is gone.

A sticky index names a character by its Yjs id (client, clock), as Yjs clients do: the start is
the range's first character, the end its last one with "after it" association. The API counts
characters and pycrdt counts UTF-8 bytes, but pycrdt 0.14 counts the offset *inside* one block
of text in UTF-16 units (the unit of Yjs clocks) when it makes or reads a sticky index. So where
non-ASCII text precedes a position in the same block, its byte offset names the wrong
character. :class:`_Blocks` works on a copy of the document in which the position of interest
starts a block (a character inserted there and deleted again splits the block; the text and
every id stay the same), where the two counts agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _chars_in_utf16(text: str, units: int) -> int:
    """How many characters the first ``units`` UTF-16 code units of ``text`` hold."""
    return len(text.encode("utf-16-le")[: 2 * units].decode("utf-16-le", errors="ignore"))


def _is_panic(exc: BaseException) -> bool:
    """pycrdt reports its internal failures as pyo3's PanicException (a BaseException)."""
    return type(exc).__name__ == "PanicException"


def _text_type(doc: pycrdt.Doc[Any]) -> pycrdt.Text:
    text: pycrdt.Text = doc.get(TEXT_NAME, type=pycrdt.Text)
    return text


def _offset(encoded: bytes, text_type: pycrdt.Text) -> int | None:
    """What pycrdt reads an encoded sticky index as (see the module docstring), or None."""
    try:
        return int(pycrdt.StickyIndex.decode(encoded, text_type).get_index())
    except Exception:
        return None
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        return None


#: The last byte of an encoded sticky index: its association as a lib0 signed varint (0 or -1).
_AFTER, _BEFORE = 0x00, 0x41


def _with_assoc(encoded: bytes, assoc: int) -> bytes:
    """The same character id with the other association."""
    if not encoded or encoded[-1] not in (_AFTER, _BEFORE):
        raise Unanchorable()
    return encoded[:-1] + bytes([assoc])


class _Blocks:
    """Character positions <-> sticky indexes on one state of a room's text (no await inside)."""

    def __init__(self, room: Room) -> None:
        self.text = room.text
        self._ascii = self.text.isascii()  # bytes and UTF-16 units agree everywhere
        self._live = _text_type(room.doc)
        self._doc = room.doc
        self._copy: pycrdt.Text | None = None
        self._split: set[int] = set()

    def _starting_block(self, at: int) -> pycrdt.Text:
        """A text in which character ``at`` starts a block (the live one when all is ASCII)."""
        if self._ascii:
            return self._live
        if self._copy is None:
            copy: pycrdt.Doc[Any] = pycrdt.Doc()
            copy.apply_update(self._doc.get_update())
            self._copy = _text_type(copy)
        if 0 < at < len(self.text) and at not in self._split:
            offset = to_bytes(self.text, at)
            self._copy.insert(offset, "\x00")
            del self._copy[offset : offset + 1]
            self._split.add(at)
        return self._copy

    def sticky(self, at: int) -> bytes:
        """The encoded sticky index of character ``at``; at the text's length, after its last one."""
        if at == len(self.text) and at > 0:
            return _with_assoc(self.sticky(at - 1), _BEFORE)
        text_type = self._starting_block(at)
        try:
            return bytes(text_type.sticky_index(to_bytes(self.text, at), pycrdt.Assoc.AFTER).encode())
        except BaseException as exc:
            if isinstance(exc, Exception) or _is_panic(exc):
                raise Unanchorable() from None
            raise

    def resolve(self, encoded: bytes) -> int | None:
        """Where a sticky index points now: before the character it names, or after it."""
        if encoded[-1:] != bytes([_BEFORE]):
            return self.position(encoded)
        named = _with_assoc(encoded, _AFTER)
        at = self.position(named)
        if at is not None and self.names(named, at):
            at += 1  # after that character, which is still there
        return at

    def position(self, encoded: bytes) -> int | None:
        """The character an "after" sticky index names is at this position now (or, deleted, was)."""
        mixed = _offset(encoded, self._live)
        if mixed is None:
            return None
        if self._ascii:
            return mixed
        # pycrdt counted the blocks before in bytes and the offset inside its block in UTF-16
        # units: the position lies between these two readings of that number.
        lo = to_chars(self.text, mixed)
        lo += to_bytes(self.text, lo) < mixed
        hi = _chars_in_utf16(self.text, mixed)
        while lo < hi:
            mid = (lo + hi) // 2
            # With ``mid`` starting a block, pycrdt's reading is exact there, and above (below)
            # the byte offset of ``mid`` exactly when the character lies after (before) it.
            read = _offset(encoded, self._starting_block(mid))
            wanted = to_bytes(self.text, mid)
            if read is None:
                return None
            if read == wanted:
                return mid
            if read > wanted:
                lo = mid + 1
            else:
                hi = mid - 1
        return lo

    def names(self, encoded: bytes, at: int) -> bool:
        """Whether ``encoded`` (an "after" index) names the character at ``at``, still there."""
        return at < len(self.text) and self.sticky(at) == encoded


def anchor(room: Room, start: int, end: int) -> Anchors:
    """Anchor characters ``[start, end)`` of the room's current text.

    The start sticks to the first character of the range and the end to the last one, so text
    typed right before or right after the range stays out of it.
    """
    current = room.text
    if not 0 <= start <= end <= len(current):
        raise OutOfRange(len(current))
    blocks = _Blocks(room)
    first = blocks.sticky(start)
    last = _with_assoc(blocks.sticky(end - 1), _BEFORE) if end > start else first
    # Read both back: a range that would not resolve to itself is refused, not stored wrong.
    span = _locate(blocks, first, last, current[start:end])
    if span is None or (span.start, span.end) != (start, end):
        raise Unanchorable()
    return Anchors(first, last, current[start:end])


def locate(room: Room, start: bytes, end: bytes, original: str) -> Span | None:
    """Where the anchored range is now; None when its code was deleted.

    ``original`` is the text the range covered when anchored: a range that collapsed to nothing
    although it covered text is deleted code.
    """
    return _locate(_Blocks(room), start, end, original)


def _locate(blocks: _Blocks, start: bytes, end: bytes, original: str) -> Span | None:
    """:func:`locate` on a state already held, with its document copy if one was made."""
    try:
        first, last = blocks.resolve(start), blocks.resolve(end)
    except Unanchorable:
        return None
    if first is None or last is None:
        return None
    if last < first or (first == last and original != ""):
        return None
    current = blocks.text
    return Span(first, last, current[first:last])
