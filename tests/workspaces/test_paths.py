"""The path rules: every way a hostile or careless path is refused, and what a good one becomes."""

from __future__ import annotations

import unicodedata

import pytest

from collabcode.workspaces.paths import (
    MAX_DEPTH,
    MAX_SEGMENT_BYTES,
    PathRejected,
    ancestors,
    depth,
    is_within,
    name_of,
    normalize_path,
    parent_of,
    path_key,
    rebase,
    safe_filename,
    sort_key,
)


def rule_of(raw: object) -> str:
    with pytest.raises(PathRejected) as info:
        normalize_path(raw)
    assert info.value.message  # always a human sentence
    return info.value.rule


@pytest.mark.parametrize(
    "good",
    [
        "a",
        "README.md",
        "src/app/main.py",
        ".gitignore",
        "..hidden",
        "a..b",
        "...",
        "dir.with.dots/file",
        "name with spaces.txt",
        "emoji-\U0001f600.txt",
        "family-\U0001f468\u200d\U0001f469\u200d\U0001f467.txt",  # ZWJ sequences are ordinary names
        "日本語/ファイル.txt",
        "x" * MAX_SEGMENT_BYTES,
        "/".join(["d"] * MAX_DEPTH),
    ],
)
def test_valid_paths_are_kept(good: str) -> None:
    assert normalize_path(good) == good


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("/", "absolute"),
        ("../secret", "dot_segment"),
        ("a/../b", "dot_segment"),
        ("a/..", "dot_segment"),
        ("..", "dot_segment"),
        ("./a", "dot_segment"),
        ("a/./b", "dot_segment"),
        (".", "dot_segment"),
        ("a//b", "empty_segment"),
        ("a/", "empty_segment"),
        ("a/b/", "empty_segment"),
        ("a\\b", "backslash"),
        ("..\\..\\windows", "backslash"),
        ("a\x00b", "control_character"),
        ("evil.txt\x00.png", "control_character"),
        ("line\nbreak", "control_character"),
        ("tab\there", "control_character"),
        ("cr\r", "control_character"),
        ("esc\x1b[31m", "control_character"),
        ("del\x7f", "control_character"),
        ("c1\x85", "control_character"),
        ("c1\x9b", "control_character"),
        ("bidi\u202egnp.exe", "bidi_or_invisible_character"),
        ("bidi\u202a", "bidi_or_invisible_character"),
        ("bidi\u202b", "bidi_or_invisible_character"),
        ("bidi\u202c", "bidi_or_invisible_character"),
        ("bidi\u202d", "bidi_or_invisible_character"),
        ("isolate\u2066x\u2069", "bidi_or_invisible_character"),
        ("isolate\u2067", "bidi_or_invisible_character"),
        ("isolate\u2068", "bidi_or_invisible_character"),
        ("mark\u200e", "bidi_or_invisible_character"),
        ("mark\u200f", "bidi_or_invisible_character"),
        ("arabic\u061c", "bidi_or_invisible_character"),
        ("zero\u200bwidth", "bidi_or_invisible_character"),
        ("\ufeffbom", "bidi_or_invisible_character"),
        ("line\u2028sep", "bidi_or_invisible_character"),
        ("lone\ud800surrogate", "invalid_unicode"),
        ("x" * (MAX_SEGMENT_BYTES + 1), "name_too_long"),
        ("é" * 128, "name_too_long"),  # 256 bytes of UTF-8 in 128 characters
        ("/".join(["d"] * (MAX_DEPTH + 1)), "too_deep"),
        ("/".join(["a"] * 10_000), "path_too_long"),  # far too long is refused before any work
        ("x" * (2 * 1024 * 1024), "path_too_long"),
        ("/".join(["x" * 200] * 6), "path_too_long"),  # 1,205 bytes in 6 levels
    ],
)
def test_bad_paths_are_rejected_with_their_rule(raw: str, rule: str) -> None:
    assert rule_of(raw) == rule


@pytest.mark.parametrize("raw", [None, 42, b"bytes", ["a"], {"a": 1}])
def test_non_strings_are_rejected(raw: object) -> None:
    assert rule_of(raw) == "not_a_string"


def test_nfc_normalisation() -> None:
    decomposed = "cafe\u0301/ne\u0301e.txt"
    normalized = normalize_path(decomposed)
    assert normalized == unicodedata.normalize("NFC", decomposed) == "café/née.txt"
    assert path_key(decomposed) == path_key(normalized)


def test_byte_limits_count_utf8_bytes_of_the_normalised_form() -> None:
    # 255 bytes exactly in three-byte characters is fine; one more byte is not.
    assert normalize_path("語" * 85) == "語" * 85
    assert rule_of("語" * 85 + "a") == "name_too_long"
    base = "/".join(["x" * 254] * 4)  # 1,019 bytes
    assert normalize_path(base + "/abcd") == base + "/abcd"  # 1,024
    assert rule_of(base + "/abcde") == "path_too_long"


def test_every_c0_c1_and_bidi_character_is_refused() -> None:
    forbidden = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    for code in [*forbidden, 0x200E, 0x200F]:
        with pytest.raises(PathRejected):
            normalize_path(f"a{chr(code)}b")


def test_case_insensitive_keys() -> None:
    assert path_key("Src/Main.PY") == path_key("src/main.py") == "src/main.py"
    assert path_key("STRASSE") == path_key("straße")  # full case folding
    assert path_key("Ǆ") == path_key("ǆ")
    assert path_key("a/B") != path_key("a/C")


def test_helpers() -> None:
    assert depth("a") == 1 and depth("a/b/c") == 3
    assert parent_of("a") is None and parent_of("a/b/c") == "a/b"
    assert name_of("a/b/c.txt") == "c.txt" and name_of("top") == "top"
    assert ancestors("a/b/c") == ["a", "a/b"] and ancestors("a") == []
    assert is_within("a/b", "a") and is_within("a", "a") and not is_within("ab", "a")
    assert rebase("a/b/c", "a/b", "x/y") == "x/y/c"
    assert sorted(["a-b", "a/b", "a"], key=sort_key) == ["a", "a/b", "a-b"]


def test_safe_filename() -> None:
    assert safe_filename("dir/report.txt") == "report.txt"
    assert safe_filename('we"ird;name\\.txt') == "we_ird_name_.txt"
    assert safe_filename("日本.txt") == "__.txt"
    assert safe_filename("...") == "download"
