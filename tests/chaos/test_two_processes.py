"""Two ``collabcode serve`` processes on PostgreSQL and a private Redis, with people typing and
chatting on both, through the failures an operator meets: one process killed with SIGKILL, a
rolling restart of both, and Redis stopped for 10 s. Clients behave like the browser app: when
their socket closes they reconnect (to the other process, as a load balancer would send them) and
resend what they hold; a failed send is retried with the same ``client_id``. Afterwards every
character typed is in both editors and in the database, and every message is stored exactly once
and reached the other person.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import websockets

from collabcode.collab.sql_store import SqlDocumentStore
from collabcode.db import open_database
from tests.chat.harness import EventsClient
from tests.collab import text_of
from tests.collab.live import YClient
from tests.conftest import LiveServer, start_server
from tests.fixtures_bus import RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "correct horse battery staple"


@dataclass
class Cluster:
    data_dir: Path
    database_url: str
    redis: RedisServer
    servers: list[LiveServer] = field(default_factory=list)

    def start(self) -> LiveServer:
        server = start_server(
            self.data_dir, "--database-url", self.database_url, "--redis-url", self.redis.url
        )
        self.servers.append(server)
        return server

    def alive(self) -> list[LiveServer]:
        return [s for s in self.servers if s.process.poll() is None]


@pytest.fixture
def cluster(tmp_path: Path, fresh_postgres_url: str, redis_server: RedisServer) -> Iterator[Cluster]:
    running = Cluster(tmp_path / "data", fresh_postgres_url, redis_server)
    running.start()
    running.start()
    try:
        for name in ("alice", "bob"):
            created = subprocess.run(
                [sys.executable, "-m", "collabcode", "admin", "users", "create", f"{name}@example.com",
                 "--username", name, "--verified", "--password-stdin", "--data-dir", str(running.data_dir),
                 "--database-url", fresh_postgres_url],
                input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
            )
            assert created.returncode == 0, created.stderr
        yield running
    finally:
        for server in running.alive():
            server.stop()


class Person:
    """One person's browser tab: a document socket that reconnects, and retried sends."""

    def __init__(self, name: str, cluster: Cluster, home: int) -> None:
        self.name, self.cluster, self.home = name, cluster, home
        self.headers: dict[str, str] = {}
        self.editor = YClient(name)
        self.reconnects = 0
        self.sent: dict[str, str] = {}
        self.pending: dict[str, str] = {}
        self.events: EventsClient | None = None

    def server(self) -> LiveServer:
        alive = self.cluster.alive()
        return alive[self.home % len(alive)]

    async def sign_in(self) -> None:
        async with httpx.AsyncClient(base_url=self.server().url, timeout=10) as http:
            response = await http.post("/api/auth/login", json={"login": self.name, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.headers = {"authorization": f"Bearer {response.json()['access_token']}"}

    async def open(self, wid: str, fid: str) -> None:
        url = self.server().url.replace("http://", "ws://") + f"/ws/collab/{wid}/{fid}"
        await self.editor.connect(url, headers=self.headers)
        await self.editor.wait_synced()

    async def keep_open(self, wid: str, fid: str) -> None:
        """Reconnect (to whichever process is up) whenever the socket closes."""
        if self.editor.closed.is_set():
            self.reconnects += 1
            for attempt in itertools.count():
                try:
                    await self.open(wid, fid)
                    return
                except (OSError, websockets.InvalidStatus, websockets.InvalidHandshake):
                    await asyncio.sleep(min(0.1 * 2**attempt, 1.0))

    async def send(self, cid: str, body: str, client_id: str | None = None) -> bool:
        client_id = client_id or uuid.uuid4().hex
        try:
            async with httpx.AsyncClient(base_url=self.server().url, timeout=5) as http:
                response = await http.post(
                    f"/api/conversations/{cid}/messages",
                    json={"body": body, "client_id": client_id},
                    headers=self.headers,
                )
        except httpx.TransportError:
            self.pending[client_id] = body
            return False
        if response.status_code in (200, 201):
            self.sent[client_id] = body
            self.pending.pop(client_id, None)
            return True
        self.pending[client_id] = body
        return False

    async def close(self) -> None:
        await self.editor.close()
        if self.events is not None:
            await self.events.close()

    async def listen(self) -> None:
        url = self.server().url.replace("http://", "ws://") + "/ws/events"
        ws = await websockets.connect(url, additional_headers=self.headers, open_timeout=10)
        self.events = EventsClient(ws, self.name)
        await self.events.wait_for(lambda f: f.get("type") in ("synced", "resync"), "synced")


async def setup(cluster: Cluster) -> tuple[Person, Person, str, str, str]:
    alice, bob = Person("alice", cluster, 0), Person("bob", cluster, 1)
    await alice.sign_in()
    await bob.sign_in()
    async with httpx.AsyncClient(base_url=cluster.servers[0].url, timeout=10) as http:
        wid = (await http.post("/api/workspaces", json={"name": "chaos"}, headers=alice.headers)).json()["id"]
        added = await http.post(
            f"/api/workspaces/{wid}/members", json={"username": "bob", "role": "editor"}, headers=alice.headers
        )
        assert added.status_code == 201, added.text
        created = await http.post(
            f"/api/workspaces/{wid}/files", json={"path": "a.txt", "kind": "file"}, headers=alice.headers
        )
        fid = created.json()["id"]
        cid = (await http.post("/api/conversations", json={"username": "bob"}, headers=alice.headers)).json()["id"]
    await alice.open(wid, fid)
    await bob.open(wid, fid)
    return alice, bob, wid, fid, cid


async def work(people: tuple[Person, Person], wid: str, fid: str, cid: str, stop: asyncio.Event) -> None:
    """Both type (distinct text each) and Alice chats, until ``stop``; reconnecting as needed."""
    alice = people[0]
    step = 0
    while not stop.is_set():
        for person in people:
            await person.keep_open(wid, fid)
            person.editor.type(f"{person.name[0]}{step};")
        if step % 3 == 0:
            await alice.send(cid, f"message {step}")
        step += 1
        await asyncio.sleep(0.05)


async def settle(people: tuple[Person, Person], wid: str, fid: str, cid: str, database_url: str) -> None:
    """Retry failed sends, then check editors, database and messages agree and lost nothing."""
    alice, bob = people
    for person in people:
        await person.keep_open(wid, fid)
    for client_id, body in list(alice.pending.items()):
        for _ in range(50):
            if await alice.send(cid, body, client_id):
                break
            await asyncio.sleep(0.2)
    assert not alice.pending, "a send still failed with both processes up"
    final = str(alice.editor.text)
    await bob.editor.wait_text(final, timeout=15)
    for person in people:  # each person's own text is all there
        typed = [part for part in final.split(";") if part.startswith(person.name[0])]
        assert typed == sorted(typed, key=lambda part: int(part[1:])), "edits reordered"
        assert len(typed) == len(set(typed))
    db = open_database(database_url, pool_size=1)
    await db.connect()
    try:
        store = SqlDocumentStore(db)
        for _ in range(150):
            if text_of(await store.load(f"{wid}/{fid}")) == final:
                break
            await asyncio.sleep(0.1)
        assert text_of(await store.load(f"{wid}/{fid}")) == final, "the database lacks edits"
        rows = await db.fetch_all(
            "SELECT body FROM messages WHERE conversation_id = ? ORDER BY seq", (cid,)
        )
    finally:
        await db.close()
    bodies = [str(row["body"]) for row in rows]
    assert sorted(bodies) == sorted(alice.sent.values()), "messages lost or duplicated"


async def kill_one(cluster: Cluster) -> None:
    alice, bob, wid, fid, cid = await setup(cluster)
    try:
        await _kill_one(cluster, alice, bob, wid, fid, cid)
    finally:
        await alice.close()
        await bob.close()


async def _kill_one(cluster: Cluster, alice: Person, bob: Person, wid: str, fid: str, cid: str) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(work((alice, bob), wid, fid, cid, stop))
    await asyncio.sleep(1.5)
    victim = cluster.servers[0]
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    await asyncio.sleep(2.5)
    stop.set()
    await worker
    assert alice.reconnects >= 1, "alice's socket did not notice the kill"
    await settle((alice, bob), wid, fid, cid, cluster.database_url)


async def rolling_restart(cluster: Cluster) -> None:
    alice, bob, wid, fid, cid = await setup(cluster)
    try:
        await _rolling_restart(cluster, alice, bob, wid, fid, cid)
    finally:
        await alice.close()
        await bob.close()


async def _rolling_restart(cluster: Cluster, alice: Person, bob: Person, wid: str, fid: str, cid: str) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(work((alice, bob), wid, fid, cid, stop))
    await asyncio.sleep(1)
    for old in list(cluster.servers):
        cluster.start()  # the replacement first, so one process is always up
        assert old.stop() == 0, "a drained process must exit 0"
        await asyncio.sleep(1)
    stop.set()
    await worker
    # Each person's socket was on one of the two old processes, then on a replacement.
    assert 1 <= alice.reconnects <= 2 and 1 <= bob.reconnects <= 2, (alice.reconnects, bob.reconnects)
    await settle((alice, bob), wid, fid, cid, cluster.database_url)


async def redis_outage(cluster: Cluster) -> None:
    alice, bob, wid, fid, cid = await setup(cluster)
    try:
        await _redis_outage(cluster, alice, bob, wid, fid, cid)
    finally:
        await alice.close()
        await bob.close()


async def _redis_outage(cluster: Cluster, alice: Person, bob: Person, wid: str, fid: str, cid: str) -> None:
    await bob.listen()
    stop = asyncio.Event()
    worker = asyncio.create_task(work((alice, bob), wid, fid, cid, stop))
    await asyncio.sleep(1)
    cluster.redis.stop()
    await asyncio.sleep(10)
    cluster.redis.start()
    await asyncio.sleep(2)
    stop.set()
    await worker
    assert alice.reconnects == 0 and bob.reconnects == 0, "sockets were dropped because Redis went away"
    await settle((alice, bob), wid, fid, cid, cluster.database_url)
    assert bob.events is not None
    expected = set(alice.sent.values())
    await bob.events.wait_for(
        lambda _f: {f["message"]["body"] for f in bob.events.of_type("message")} >= expected,  # type: ignore[union-attr]
        "every message reached bob's socket on the other process",
        timeout=20,
    )


def test_kill_9_of_one_process_loses_nothing(cluster: Cluster) -> None:
    asyncio.run(kill_one(cluster))


def test_a_rolling_restart_loses_nothing(cluster: Cluster) -> None:
    asyncio.run(rolling_restart(cluster))


def test_a_redis_outage_degrades_and_recovers_without_loss(cluster: Cluster) -> None:
    asyncio.run(redis_outage(cluster))
