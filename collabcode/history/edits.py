"""The smallest set of text edits that turns one text into another (for restoring a version).

A restore is applied as ordinary edits of the live document, so only the spans that differ
change: text of collaborators that is also in the old version (or typed concurrently elsewhere)
is not deleted and re-inserted, and their cursors stay where they are.
"""

from __future__ import annotations

from difflib import SequenceMatcher

#: Changed blocks up to this many characters (each side) are refined character by character.
_REFINE_LIMIT = 20_000

Edit = tuple[int, int, str]


def _line_offsets(lines: list[str]) -> list[int]:
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return offsets


def minimal_edits(current: str, target: str) -> list[Edit]:
    """``(start, end, insert)`` edits (character offsets into ``current``), in ascending order.

    Lines are matched first (fast on large files); each changed block of lines is then matched
    character by character, so a one-word change in a line edits only that word.
    """
    if current == target:
        return []
    old_lines = current.splitlines(keepends=True)
    new_lines = target.splitlines(keepends=True)
    old_at, new_at = _line_offsets(old_lines), _line_offsets(new_lines)
    edits: list[Edit] = []
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = old_at[i1], old_at[i2]
        replacement = target[new_at[j1] : new_at[j2]]
        original = current[start:end]
        if tag == "replace" and len(original) <= _REFINE_LIMIT and len(replacement) <= _REFINE_LIMIT:
            inner = SequenceMatcher(None, original, replacement, autojunk=False)
            for op, a1, a2, b1, b2 in inner.get_opcodes():
                if op != "equal":
                    edits.append((start + a1, start + a2, replacement[b1:b2]))
        else:
            edits.append((start, end, replacement))
    return edits


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with ``edits`` applied (what the document will read afterwards)."""
    for start, end, insert in reversed(edits):
        text = text[:start] + insert + text[end:]
    return text
