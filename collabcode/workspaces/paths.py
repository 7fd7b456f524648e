"""The rules every file and folder path in a workspace obeys, in one place.

A path is what people see ("src/app/main.py"); it is never a storage key: files are stored and
addressed by server-generated ids, and the path is a validated attribute of the entry. The rules
(see docs/workspaces.md):

* NFC-normalised Unicode, ``/``-separated, relative (no leading ``/``), no empty, ``.`` or ``..``
  segments (so no trailing ``/`` either);
* no C0/C1 control characters or DEL, no bidirectional controls (U+061C, U+200E/F, U+202A-U+202E,
  U+2066-U+2069), no invisible separators (U+200B, U+2028, U+2029, U+FEFF), no unpaired
  surrogates, and no ``\\`` (a separator on Windows, which would let an exported archive write
  outside its folder there);
* a segment is at most 255 bytes of UTF-8, a path at most 1024 bytes, and at most 32 segments.

Two paths that differ only by case name the same entry: :func:`path_key` (NFC of the case fold)
is what the database keeps unique per workspace.
"""

from __future__ import annotations

import unicodedata
from typing import Final

MAX_SEGMENT_BYTES: Final = 255
MAX_PATH_BYTES: Final = 1024
MAX_DEPTH: Final = 32

# NFC can grow a string (a few characters decompose into two), so anything longer than this
# many characters is refused before any normalisation work is spent on it.
_MAX_RAW_CHARS: Final = MAX_PATH_BYTES * 4

_BIDI_CONTROLS: Final = frozenset(
    chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
_INVISIBLE: Final = frozenset({"\u200b", "\u2028", "\u2029", "\ufeff"})


class PathRejected(ValueError):
    """A path breaks a rule; ``rule`` is a stable machine code, ``message`` says what to fix."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _check_characters(text: str) -> None:
    for char in text:
        if _is_control(char):
            raise PathRejected("control_character", "Paths may not contain control characters.")
        if char in _BIDI_CONTROLS or char in _INVISIBLE:
            raise PathRejected(
                "bidi_or_invisible_character", "Paths may not contain direction-control or invisible characters."
            )
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise PathRejected("invalid_unicode", "The path is not valid Unicode.")
        if char == "\\":
            raise PathRejected("backslash", "Use '/' to separate folders; '\\' is not allowed in names.")


def normalize_path(raw: object) -> str:
    """The canonical form of ``raw`` or :class:`PathRejected` naming the broken rule."""
    if not isinstance(raw, str):
        raise PathRejected("not_a_string", "The path must be a string.")
    if not raw:
        raise PathRejected("empty", "The path may not be empty.")
    if len(raw) > _MAX_RAW_CHARS:
        raise PathRejected("path_too_long", f"A path has at most {MAX_PATH_BYTES} bytes.")
    # Characters first: normalising a string with lone surrogates would fail in a less clear way.
    _check_characters(raw)
    path = unicodedata.normalize("NFC", raw)
    _check_characters(path)  # NFC never introduces these, but the rule is about the result
    if path.startswith("/"):
        raise PathRejected("absolute", "Paths are relative to the workspace: remove the leading '/'.")
    if len(path.encode("utf-8")) > MAX_PATH_BYTES:
        raise PathRejected("path_too_long", f"A path has at most {MAX_PATH_BYTES} bytes.")
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        raise PathRejected("too_deep", f"A path has at most {MAX_DEPTH} levels of folders and names.")
    for segment in segments:
        if not segment:
            raise PathRejected("empty_segment", "Paths may not contain empty names ('//' or a trailing '/').")
        if segment in {".", ".."}:
            raise PathRejected("dot_segment", "Paths may not contain '.' or '..' as a name.")
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise PathRejected("name_too_long", f"A file or folder name has at most {MAX_SEGMENT_BYTES} bytes.")
    return path


def path_key(path: str) -> str:
    """The case-insensitive identity of a normalised path (unique per workspace)."""
    return unicodedata.normalize("NFC", path.casefold())


def depth(path: str) -> int:
    """How many segments ``path`` has ("a/b" is 2)."""
    return path.count("/") + 1


def parent_of(path: str) -> str | None:
    """The folder holding ``path``, or None at the top level."""
    head, sep, _ = path.rpartition("/")
    return head if sep else None


def name_of(path: str) -> str:
    return path.rpartition("/")[2]


def ancestors(path: str) -> list[str]:
    """Every folder above ``path``, outermost first: "a/b/c" gives ["a", "a/b"]."""
    segments = path.split("/")
    return ["/".join(segments[:i]) for i in range(1, len(segments))]


def is_within(key: str, folder_key: str) -> bool:
    """Whether ``key`` is ``folder_key`` itself or lies somewhere below it (keys, not paths)."""
    return key == folder_key or key.startswith(folder_key + "/")


def rebase(path: str, old_prefix: str, new_prefix: str) -> str:
    """``path`` (``old_prefix`` or below it) moved under ``new_prefix``."""
    return new_prefix + path[len(old_prefix) :]


def sort_key(path: str) -> tuple[str, ...]:
    """Tree order: a folder's entries follow it directly, names compared by code point."""
    return tuple(path.split("/"))


def safe_filename(path: str) -> str:
    """An ASCII stand-in for the file's name, for ``Content-Disposition``'s plain ``filename``."""
    name = name_of(path)
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-+ ") else "_" for c in name).strip(" .")
    return ascii_name or "download"
