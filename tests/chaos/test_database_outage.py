"""PostgreSQL stopped for 10 s while people type and chat: nothing acknowledged is lost.

One ``collabcode serve`` process on a private PostgreSQL server. Alice types into a shared file
(Bob watches it) and sends a message every 100 ms. The database is stopped at once (connections
cut) for 10 s, then started again. The process is never restarted. While the database is away,
``/readyz`` answers 503, edits keep flowing to Bob, and sends answer 503; afterwards the stored
document holds every character typed, and after Alice's client retries the failed sends with
their ``client_id``, every message is stored exactly once.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collabcode.collab.sql_store import SqlDocumentStore
from collabcode.db import open_database
from tests.chaos.private_postgres import PrivatePostgres
from tests.collab import text_of
from tests.collab.live import YClient
from tests.conftest import LiveServer, start_server

PASSWORD = "correct horse battery staple"
OUTAGE_SECONDS = 10.0


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def server(tmp_path: Path, postgres: PrivatePostgres) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "data", "--database-url", postgres.url)
    try:
        for name in ("alice", "bob"):
            created = subprocess.run(
                [sys.executable, "-m", "collabcode", "admin", "users", "create", f"{name}@example.com",
                 "--username", name, "--verified", "--password-stdin", "--data-dir", str(tmp_path / "data"),
                 "--database-url", postgres.url],
                input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
            )
            assert created.returncode == 0, created.stderr
        yield live
    finally:
        live.stop()


async def _until(check: object, what: str, timeout: float) -> float:
    started = time.monotonic()
    while True:
        result = check() if callable(check) else check
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)


async def _stored_text(url: str, doc_id: str) -> str:
    db = open_database(url, pool_size=1)
    await db.connect()
    try:
        return text_of(await SqlDocumentStore(db).load(doc_id))
    finally:
        await db.close()


async def scenario(server: LiveServer, postgres: PrivatePostgres) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        tokens = {}
        for name in ("alice", "bob"):
            response = await http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
            assert response.status_code == 200, response.text
            tokens[name] = {"authorization": f"Bearer {response.json()['access_token']}"}
        alice, bob = tokens["alice"], tokens["bob"]
        wid = (await http.post("/api/workspaces", json={"name": "outage"}, headers=alice)).json()["id"]
        await http.post(f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=alice)
        created = await http.post(f"/api/workspaces/{wid}/files", json={"path": "a.txt", "kind": "file"}, headers=alice)
        fid = created.json()["id"]
        cid = (await http.post("/api/conversations", json={"username": "bob"}, headers=alice)).json()["id"]

        socket = server.url.replace("http://", "ws://") + f"/ws/collab/{wid}/{fid}"
        writer = await YClient("alice").connect(socket + "?saved=1", headers=alice)
        watcher = await YClient("bob").connect(socket, headers=bob)
        await writer.wait_synced()
        await watcher.wait_synced()

        stop = asyncio.Event()
        sent: dict[str, str] = {}  # client_id -> body, acknowledged
        failed: dict[str, str] = {}  # client_id -> body, to retry
        statuses: set[int] = set()

        async def type_forever() -> None:
            step = 0
            while not stop.is_set():
                writer.type(f"{step};")
                step += 1
                await asyncio.sleep(0.05)

        async def chat_forever() -> None:
            step = 0
            while not stop.is_set():
                client_id, body = uuid.uuid4().hex, f"message {step}"
                step += 1
                try:
                    response = await http.post(
                        f"/api/conversations/{cid}/messages", json={"body": body, "client_id": client_id}, headers=alice
                    )
                    statuses.add(response.status_code)
                    (sent if response.status_code in (200, 201) else failed)[client_id] = body
                except httpx.TransportError:
                    failed[client_id] = body
                await asyncio.sleep(0.1)

        tasks = [asyncio.create_task(type_forever()), asyncio.create_task(chat_forever())]
        await asyncio.sleep(2)
        postgres.stop()
        await _until(lambda: _status(server.url + "/readyz") == 503, "/readyz 503 while the database is down", 10)
        text_when_down = str(writer.text)
        await asyncio.sleep(OUTAGE_SECONDS / 2)
        # Collaboration keeps relaying without the database.
        assert len(str(writer.text)) > len(text_when_down)
        await watcher.wait_text(str(writer.text), timeout=5)
        await asyncio.sleep(OUTAGE_SECONDS / 2)
        postgres.start()
        await _until(lambda: _status(server.url + "/readyz") == 200, "/readyz 200 after the database returned", 20)
        await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*tasks)

        assert 503 in statuses, "no send was refused while the database was down"
        assert failed, "no send failed during the outage: the outage did not happen"
        for client_id, body in failed.items():  # the client's retry, with the same client_id
            response = await http.post(
                f"/api/conversations/{cid}/messages", json={"body": body, "client_id": client_id}, headers=alice
            )
            assert response.status_code in (200, 201), response.text
        expected = {**sent, **failed}

        final = str(writer.text)
        await watcher.wait_text(final, timeout=10)
        doc_id = f"{wid}/{fid}"
        await _until(lambda: _stored_matches(postgres.url, doc_id, final), "every edit stored after the outage", 20)

        bodies: list[str] = []
        before: int | None = None
        while True:
            params = {"limit": 100, **({"before": before} if before else {})}
            page = (await http.get(f"/api/conversations/{cid}/messages", params=params, headers=bob)).json()
            bodies += [m["body"] for m in page["messages"]]
            if len(page["messages"]) < 100:
                break
            before = min(m["seq"] for m in page["messages"])
        assert sorted(bodies) == sorted(expected.values()), "messages lost or duplicated"
        await writer.close()
        await watcher.close()


async def _stored_matches(url: str, doc_id: str, expected: str) -> bool:
    return await _stored_text(url, doc_id) == expected


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return None


def test_a_database_outage_loses_no_acknowledged_edit_or_message(
    server: LiveServer, postgres: PrivatePostgres
) -> None:
    pid = server.process.pid
    asyncio.run(scenario(server, postgres))
    assert server.process.poll() is None and server.process.pid == pid, "the process had to restart"
