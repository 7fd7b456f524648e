"""Anchors over text with non-ASCII characters typed a character at a time, as editors send it.

pycrdt counts the offset inside a block of text in UTF-16 units when it makes or reads a sticky
index, but everything else in bytes; these tests fail when anchors name the wrong character.
"""

from __future__ import annotations

import random

import pycrdt
import pytest

from collabcode.collab.room import TEXT_NAME, Room
from collabcode.history import anchors

LINES = [
    "# café ☕ résumé\n",
    "def greet(name):\n",
    "    return f'héllo {name} 😀'\n",
    "# 中文注释\nprint(greet('wörld'))\n",
]
#: Characters typed later; none of them is in LINES, so a span minus these is the code it held.
TYPED = "Ж🎉üQ"


def typed_room() -> Room:
    """A room whose text two clients typed character by character (many blocks, like editors)."""
    room = Room("ws/doc")
    other: pycrdt.Doc = pycrdt.Doc()
    for index, line in enumerate(LINES):
        doc = room.doc if index % 2 == 0 else other
        if doc is other:
            other.apply_update(room.doc.get_update())
        text = doc.get(TEXT_NAME, type=pycrdt.Text)
        for char in line:
            text.insert(len(str(text).encode()), char)
        if doc is other:
            room.doc.apply_update(other.get_update())
    return room


def type_at(room: Room, index: int, value: str) -> None:
    room.doc.get(TEXT_NAME, type=pycrdt.Text).insert(anchors.to_bytes(room.text, index), value)


def delete_range(room: Room, start: int, end: int) -> None:
    text = room.doc.get(TEXT_NAME, type=pycrdt.Text)
    del text[anchors.to_bytes(room.text, start) : anchors.to_bytes(room.text, end)]


def test_every_range_resolves_to_itself() -> None:
    room = typed_room()
    text = room.text
    for start in range(len(text) + 1):
        for end in sorted({start, min(start + 1, len(text)), min(start + 9, len(text))}):
            made = anchors.anchor(room, start, end)
            span = anchors.locate(room, made.start, made.end, made.snippet)
            assert span is not None and (span.start, span.end, span.text) == (start, end, text[start:end])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ranges_after_non_ascii_text_follow_their_code_through_edits(seed: int) -> None:
    room = typed_room()
    text = room.text
    words = ["greet", "héllo", "😀", "中文注释", "wörld", "résumé"]
    made = {word: anchors.anchor(room, text.index(word), text.index(word) + len(word)) for word in words}
    rng = random.Random(seed)
    for _ in range(200):
        type_at(room, rng.randint(0, len(room.text)), rng.choice(TYPED) * rng.randint(1, 3))
    for word, anchor in made.items():
        span = anchors.locate(room, anchor.start, anchor.end, anchor.snippet)
        assert span is not None, word
        assert span.text == room.text[span.start : span.end]
        assert "".join(c for c in span.text if c not in TYPED) == word
        assert span.text[0] == word[0] and span.text[-1] == word[-1], "typing at the edges stays outside"


def test_deleted_code_reads_as_deleted_and_new_text_in_its_place_is_not_it() -> None:
    room = typed_room()
    start = room.text.index("wörld")
    made = anchors.anchor(room, start, start + len("wörld"))
    type_at(room, 0, "🎉🎉")
    start = room.text.index("wörld")
    delete_range(room, start, start + len("wörld"))
    assert anchors.locate(room, made.start, made.end, made.snippet) is None
    type_at(room, start, "wörld")
    assert anchors.locate(room, made.start, made.end, made.snippet) is None


def test_a_range_whose_last_character_was_deleted_ends_where_it_was() -> None:
    room = typed_room()
    start = room.text.index("résumé")
    made = anchors.anchor(room, start, start + len("résumé"))
    delete_range(room, start + 5, start + 6)  # the final "é"
    span = anchors.locate(room, made.start, made.end, made.snippet)
    assert span is not None and span.text == "résum"
