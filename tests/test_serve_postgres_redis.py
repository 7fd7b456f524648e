"""`collabcode serve` on PostgreSQL and Redis, including Redis going away and coming back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import start_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def wait_for_status(url: str, status: int, timeout: float) -> float:
    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        try:
            last = httpx.get(url, timeout=3.0).status_code
        except httpx.TransportError:
            last = None
        if last == status:
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"{url} stayed {last}, expected {status} within {timeout} s")


def test_serve_on_postgres_and_redis_recovers_from_a_redis_restart(
    tmp_path: Path, fresh_postgres_url: str, redis_server: Any
) -> None:
    server = start_server(tmp_path / "data", "--database-url", fresh_postgres_url, "--redis-url", redis_server.url)
    try:
        ready = httpx.get(server.url + "/readyz").json()
        assert ready["status"] == "ready"
        assert ready["checks"]["database"]["kind"] == "postgresql"
        assert ready["checks"]["broker"]["kind"] == "redis"
        assert httpx.get(server.url + "/").status_code == 200
        redis_server.stop()
        wait_for_status(server.url + "/readyz", 503, timeout=10)
        assert httpx.get(server.url + "/healthz").status_code == 200  # alive, just not ready
        redis_server.start()
        recovered = wait_for_status(server.url + "/readyz", 200, timeout=10)
        assert recovered < 10
    finally:
        assert server.stop() == 0
    assert "dependency.down" in server.log_text() and "dependency.up" in server.log_text()
