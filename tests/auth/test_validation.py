"""Account fields: normalisation and the characters that are refused; device labels."""

from __future__ import annotations

import pytest

from collabcode.auth.devices import clean_user_agent, describe
from collabcode.auth.validation import (
    InputRejected,
    normalize_bio,
    normalize_color,
    normalize_display_name,
    normalize_email,
    normalize_username,
)


def test_emails_are_nfc_and_lower_case() -> None:
    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"
    assert normalize_email("Jose\u0301@example.com") == "jos\u00e9@example.com"


@pytest.mark.parametrize(
    "email",
    ["no-at-sign", "a@b@c", "a b@example.com", "<a@b.c>", "a@b.c\r\nBcc: x@y.z", "a@", "@b.c", "a@b..c", "a@b.c."],
)
def test_bad_emails(email: str) -> None:
    with pytest.raises(InputRejected):
        normalize_email(email)


def test_email_length_is_counted_in_bytes() -> None:
    normalize_email("a" * 64 + "@" + "b" * 185 + ".com")
    with pytest.raises(InputRejected) as caught:
        normalize_email("a" * 64 + "@" + "b" * 186 + ".com")
    assert caught.value.rule == "too_long"


def test_usernames() -> None:
    assert normalize_username("Alice_01") == "alice_01"
    for bad in ("ab", "a" * 33, "al ice", "alïce", "al.ice", "al/ice"):
        with pytest.raises(InputRejected):
            normalize_username(bad)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "too_short"),
        ("   ", "too_short"),
        ("x" * 65, "too_long"),
        ("evil\u202egnp.exe", "bidi_or_invisible_character"),
        ("zero\u200bwidth", "bidi_or_invisible_character"),
        ("bell\x07", "control_character"),
        ("new\nline", "control_character"),
        ("nul\x00", "control_character"),
        ("\ud800", "invalid_unicode"),
    ],
)
def test_display_names_refuse_tricks(name: str, rule: str) -> None:
    with pytest.raises(InputRejected) as caught:
        normalize_display_name(name)
    assert caught.value.rule == rule


def test_display_names_keep_real_names() -> None:
    assert normalize_display_name("  Zoë 👩‍💻 ") == "Zoë 👩‍💻"
    assert normalize_display_name("x" * 64) == "x" * 64


def test_bio_allows_newlines_up_to_500() -> None:
    assert normalize_bio("line one\r\nline two") == "line one\nline two"
    with pytest.raises(InputRejected):
        normalize_bio("x" * 501)
    with pytest.raises(InputRejected):
        normalize_bio("tab\tcharacter")


def test_colors() -> None:
    assert normalize_color("#AABBCC") == "#aabbcc"
    for bad in ("red", "#abc", "#gggggg", "javascript:alert(1)"):
        with pytest.raises(InputRejected):
            normalize_color(bad)


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "Chrome on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "curl"),
        ("python-httpx/0.28.1", "Python"),
        ("", "Unknown device"),
        ("<script>alert(1)</script>", "Unknown device"),
    ],
)
def test_device_labels(agent: str, label: str) -> None:
    assert describe(agent) == label


def test_user_agents_are_cleaned() -> None:
    assert clean_user_agent("a\x00b\nc\u202ed") == "abcd"
    assert len(clean_user_agent("x" * 5000)) == 512
    assert clean_user_agent(None) == ""
