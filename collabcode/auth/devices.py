"""A short device label ("Firefox on Linux") from a User-Agent, for the sessions list.

Deliberately small: the label helps people recognise their own sessions, nothing depends on it,
and a User-Agent is attacker-controlled text, so it is only ever matched, never echoed.
"""

from __future__ import annotations

import re

MAX_USER_AGENT = 512

_BROWSERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Edge", re.compile(r"\bEdg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"\b(?:OPR|Opera)/")),
    ("Samsung Internet", re.compile(r"\bSamsungBrowser/")),
    ("Firefox", re.compile(r"\b(?:Firefox|FxiOS)/")),
    ("Chrome", re.compile(r"\b(?:Chrome|CriOS|Chromium|HeadlessChrome)/")),
    ("Safari", re.compile(r"\bVersion/[\d.]+.*\bSafari/")),
)
_SYSTEMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Android", re.compile(r"\bAndroid\b")),
    ("iOS", re.compile(r"\b(?:iPhone|iPad|iPod)\b")),
    ("ChromeOS", re.compile(r"\bCrOS\b")),
    ("Windows", re.compile(r"\bWindows\b")),
    ("macOS", re.compile(r"\bMac OS X\b|\bMacintosh\b")),
    ("Linux", re.compile(r"\bLinux\b|\bX11\b")),
)
_CLIENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("collabcode CLI", re.compile(r"^collabcode/")),
    ("curl", re.compile(r"^curl/")),
    ("Python", re.compile(r"^(?:python-httpx|python-requests|aiohttp|Python-urllib)/")),
    ("Node.js", re.compile(r"^(?:node-fetch|undici|axios)\b")),
)


def clean_user_agent(value: str | None) -> str:
    """Printable ASCII only, at most 512 characters: safe to store and show."""
    if not value:
        return ""
    return "".join(c for c in value[:MAX_USER_AGENT] if " " <= c <= "~")


def describe(user_agent: str) -> str:
    for label, pattern in _CLIENTS:
        if pattern.search(user_agent):
            return label
    browser = next((label for label, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((label for label, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"Browser on {system}"
    return "Unknown device"
