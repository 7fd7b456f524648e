"""Fixtures shared by the whole suite: settings, an in-process client, a live server."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from collabcode.app import create_app
from collabcode.settings import Settings
from tests.services import free_port

pytest_plugins = [
    "tests.fixtures_db",
    "tests.fixtures_bus",
    "tests.fixtures_browser",
    "tests.fake_ai_provider",
    "tests.secret_watch",
]

TEST_ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=8000, log_format="json")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for the real app on SQLite and the in-process broker."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=TEST_ORIGIN) as http:
            yield http


@dataclass
class LiveServer:
    """A real ``collabcode serve`` process on a free port."""

    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)


def start_server(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True, timeout: float = 15.0
) -> LiveServer:
    """Start ``python -m collabcode serve`` and wait until /healthz answers."""
    port = free_port()
    log_path = data_dir.parent / f"server-{port}.log"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "COLLABCODE_LOG_FORMAT": "json", **(env or {})}
    cmd = [sys.executable, "-m", "collabcode", "serve", "--port", str(port), "--data-dir", str(data_dir), *args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(data_dir.parent))
    server = LiveServer(f"http://127.0.0.1:{port}", port, data_dir, process, log_path)
    if wait:
        wait_healthy(server, timeout)
    return server


def wait_healthy(server: LiveServer, timeout: float = 15.0) -> float:
    """Poll /healthz; returns seconds waited. Fails with the server log if it never answers."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n{server.log_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1.0).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.stop()
    pytest.fail(f"server did not become healthy in {timeout} s:\n{server.log_text()[-3000:]}")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data")
    yield server
    server.stop()


@contextlib.contextmanager
def new_postgres_database() -> Iterator[str]:
    """Create a brand-new PostgreSQL database and yield its URL; dropped afterwards."""
    import asyncio
    import secrets as _secrets
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    from tests.services import require_postgres

    base = require_postgres()
    name = "cc_" + _secrets.token_hex(6)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    parts = urlsplit(base)
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for a whole server process, dropped afterwards."""
    with new_postgres_database() as url:
        yield url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run browser tests last.

    pytest-playwright's session-scoped browser keeps an event loop running in the main thread
    for the rest of the session, which asyncio tests cannot run beside.
    """
    for item in items:
        if "page" in getattr(item, "fixturenames", ()) or "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
