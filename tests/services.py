"""Where the tests find PostgreSQL, Redis and Chromium, and what happens when one is missing.

Outside CI a missing service skips the tests that need it, with the reason; under ``CI=true``
it fails them, so a broken CI machine can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get("COLLABCODE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COLLABCODE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("COLLABCODE_TEST_CHROMIUM", "/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 1.0):
            return True
    except OSError:
        return False


def require(available: bool, what: str) -> None:
    """Skip (or fail under CI=true) when a service the test needs is missing."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required under CI=true but is not available", pytrace=False)
    pytest.skip(f"{what} is not available")


def require_postgres() -> str:
    require(_reachable(POSTGRES_URL, 5432), f"PostgreSQL at {POSTGRES_URL}")
    return POSTGRES_URL


def require_redis() -> str:
    require(_reachable(REDIS_URL, 6379), f"Redis at {REDIS_URL}")
    return REDIS_URL


def require_chromium() -> str:
    require(os.path.exists(CHROMIUM) or shutil.which("chromium") is not None, f"Chromium at {CHROMIUM}")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
