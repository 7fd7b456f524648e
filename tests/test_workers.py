"""``collabcode serve --workers N``: several processes on one port, PostgreSQL and a private Redis.

Which worker holds a connection is read from the process tree: the server side of each client
socket is found in ``/proc/net/tcp`` and its inode among the workers' open file descriptors.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.collab.live import YClient
from tests.conftest import LiveServer, start_server
from tests.fixtures_bus import RedisServer

PASSWORD = "correct horse battery staple"
SHUTDOWN_TIMEOUT = 5.0
FAST_BCRYPT = {"COLLABCODE_BCRYPT_ROUNDS": "4"}

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def run_cli(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collabcode", *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **FAST_BCRYPT},
    )


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry))
    return found


def worker_holding(workers: set[int], server_port: int, client_port: int) -> int | None:
    """The worker pid whose socket is the server end of the client's connection from ``client_port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
                if int(local, 16) == server_port and int(remote, 16) == client_port:
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if links & inodes:
            return pid
    return None


def test_workers_need_postgres_and_redis(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    on_sqlite = run_cli("serve", "--workers", "2", "--data-dir", data, "--redis-url", "redis://127.0.0.1:1/0")
    assert on_sqlite.returncode == 2
    assert "--workers above 1 needs PostgreSQL" in on_sqlite.stderr
    no_redis = run_cli("serve", "--workers", "2", "--data-dir", data, "--database-url", "postgresql://x@127.0.0.1:1/x")
    assert no_redis.returncode == 2
    assert "--workers above 1 needs Redis" in no_redis.stderr
    assert "Traceback" not in on_sqlite.stderr + no_redis.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_workers_share_the_port_relay_edits_and_drain(
    tmp_path: Path, fresh_postgres_url: str, redis_server: RedisServer
) -> None:
    data = tmp_path / "data"
    storage = ("--data-dir", str(data), "--database-url", fresh_postgres_url)
    server = start_server(
        data,
        "--workers", "2",
        "--database-url", fresh_postgres_url,
        "--redis-url", redis_server.url,
        "--shutdown-timeout", str(SHUTDOWN_TIMEOUT),
        env=FAST_BCRYPT,
        timeout=30,
    )
    clients: list[YClient] = []
    try:
        workers = children_of(server.process.pid)
        assert len(workers) == 2, workers
        # A worker that dies is replaced; the other keeps serving meanwhile.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        workers = await replaced(server, workers - {victim})
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        for name in ("alice", "bob"):
            created = run_cli(
                "admin", "users", "create", f"{name}@example.com", "--username", name, "--verified",
                "--password-stdin", *storage, input_text=PASSWORD + "\n",
            )
            assert created.returncode == 0, created.stderr
        headers = {name: await sign_in(server, name) for name in ("alice", "bob")}
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            wid = (await http.post("/api/workspaces", json={"name": "w"}, headers=headers["alice"])).json()["id"]
            added = await http.post(
                f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=headers["alice"]
            )
            assert added.status_code == 201, added.text
            made = await http.post(
                f"/api/workspaces/{wid}/files", json={"path": "a.txt", "kind": "file"}, headers=headers["alice"]
            )
            fid = made.json()["id"]
        url = server.url.replace("http://", "ws://") + f"/ws/collab/{wid}/{fid}"

        # Open sockets until each worker holds at least one; the kernel picks the worker.
        # (The replacement worker may still be starting: give it time to accept.)
        placed: dict[int, YClient] = {}
        deadline = time.monotonic() + 30
        attempt = 0
        while len(placed) < 2 and time.monotonic() < deadline:
            name = ("alice", "bob")[attempt % 2]
            attempt += 1
            client = await YClient(f"{name}-{attempt}").connect(url, headers=headers[name])
            await client.wait_synced()
            assert client._ws is not None
            pid = None
            for _ in range(20):  # /proc can lag an accept on a busy machine
                workers = children_of(server.process.pid)
                pid = worker_holding(workers, server.port, client._ws.local_address[1])
                if pid is not None:
                    break
                await asyncio.sleep(0.1)
            if pid is None or pid in placed:
                await client.close()
                await asyncio.sleep(0.05)
                continue
            placed[pid] = client
            clients.append(client)
        assert len(placed) == 2, f"all {attempt} sockets landed on the same worker"
        first, second = (placed[pid] for pid in sorted(placed))
        first.type("typed on one worker;")
        await second.wait_text("typed on one worker;")
        second.type("answered on the other;")
        await first.wait_text("typed on one worker;answered on the other;")
        for client in clients:
            await client.wait_text("typed on one worker;answered on the other;")

        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        for client in clients:
            code, _ = await client.wait_closed(timeout=SHUTDOWN_TIMEOUT + 5)
            assert code == 1001
        code = await asyncio.to_thread(server.process.wait, SHUTDOWN_TIMEOUT + 10)
        assert code == 0, server.log_text()[-3000:]
        assert time.monotonic() - started < SHUTDOWN_TIMEOUT + 5
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived the parent"
    finally:
        for client in clients:
            await client.close()
        server.stop()
    log = server.log_text()
    assert "Traceback" not in log, log[-3000:]


async def sign_in(server: LiveServer, name: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        response = await http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"authorization": f"Bearer {response.json()['access_token']}"}


async def replaced(server: LiveServer, survivors: set[int], timeout: float = 20.0) -> set[int]:
    """Wait until the parent runs two workers again: the survivors and a new one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = children_of(server.process.pid)
        if len(now) == 2 and survivors < now and "restarting in" in server.log_text():
            return now
        await asyncio.sleep(0.1)
    pytest.fail(f"no replacement worker within {timeout} s:\n{server.log_text()[-3000:]}")
