"""The restore's edit computation: exact result, and only the spans that differ are touched."""

from __future__ import annotations

import random

from collabcode.history.edits import apply_edits, minimal_edits


def test_random_texts_turn_into_each_other() -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", "é", "\n", "def f():\n", "    return 1\n", "🙂"]
    for _ in range(500):
        old = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        new = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        edits = minimal_edits(old, new)
        assert apply_edits(old, edits) == new
        starts = [start for start, _, _ in edits]
        assert starts == sorted(starts)
        assert all(0 <= start <= end <= len(old) for start, end, _ in edits)


def test_only_the_changed_word_is_edited() -> None:
    old = "def f():\n    return 1\n\ndef g():\n    pass\n"
    new = "def f():\n    return 42\n\ndef g():\n    pass\n"
    assert minimal_edits(old, new) == [(20, 21, "42")]
    assert minimal_edits(old, old) == []
    # A removed function is one deletion; the rest of the file is left alone.
    assert minimal_edits(old, "def f():\n    return 1\n") == [(22, len(old), "")]
