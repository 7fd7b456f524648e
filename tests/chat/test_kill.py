"""A real ``collabcode serve`` killed with SIGKILL under a steady chat load: every message a
sender was told is ``sent`` is there after the restart, and client retries duplicate nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer, start_server
from tests.test_cli import run_cli

PASSWORD = "correct horse battery staple"
FAST_BCRYPT = {"COLLABCODE_BCRYPT_ROUNDS": "4"}
#: Messages each sender tries; the server is killed once this many were acknowledged in all.
PER_SENDER = 400
KILL_AFTER_ACKS = 80
IN_FLIGHT = 8


class Sender:
    """Sends numbered messages over one socket, at most ``IN_FLIGHT`` unanswered at a time."""

    def __init__(self, name: str, ws: ClientConnection, cid: str) -> None:
        self.name = name
        self.ws = ws
        self.cid = cid
        self.attempted: dict[str, str] = {}
        self.acked: dict[str, dict[str, Any]] = {}
        self._room = asyncio.Semaphore(IN_FLIGHT)

    def body(self, client_id: str) -> str:
        return f"{self.name} says {client_id}"

    async def read(self, on_ack: asyncio.Event) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "message.sent":
                    self.acked[frame["client_id"]] = frame["message"]
                    self._room.release()
                    on_ack.set()
        except ConnectionClosed:
            pass

    async def write(self) -> None:
        try:
            for i in range(PER_SENDER):
                await self._room.acquire()
                client_id = f"{self.name}-{i:04d}"
                self.attempted[client_id] = self.body(client_id)
                await self.ws.send(
                    json.dumps(
                        {
                            "type": "message.send",
                            "conversation_id": self.cid,
                            "client_id": client_id,
                            "body": self.body(client_id),
                        }
                    )
                )
        except ConnectionClosed:
            pass


def _create_user(data_dir: Path, storage: list[str], name: str) -> None:
    result = run_cli(
        "admin", "users", "create", f"{name}@example.com", "--username", name, "--verified", "--password-stdin",
        "--data-dir", str(data_dir), *storage, env=FAST_BCRYPT, input_text=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


async def _login(http: httpx.AsyncClient, name: str) -> str:
    response = await http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "sqlite":
        return []
    url: str = request.getfixturevalue("fresh_postgres_url")
    return ["--database-url", url]


async def test_sent_messages_survive_sigkill_and_retries_do_not_duplicate(tmp_path: Path, storage: list[str]) -> None:
    data_dir = tmp_path / "data"
    for name in ("alice", "bob"):
        _create_user(data_dir, storage, name)
    server: LiveServer = start_server(data_dir, *storage, env=FAST_BCRYPT)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            tokens = {name: await _login(http, name) for name in ("alice", "bob")}
            opened = await http.post(
                "/api/conversations", json={"username": "bob"}, headers={"authorization": f"Bearer {tokens['alice']}"}
            )
            cid = opened.json()["id"]
        ws_url = server.url.replace("http://", "ws://") + "/ws/events"
        sockets = [
            await connect(ws_url, additional_headers={"authorization": f"Bearer {tokens[name]}"}, open_timeout=10)
            for name in ("alice", "bob")
        ]
        senders = [Sender(name, ws, cid) for name, ws in zip(("alice", "bob"), sockets, strict=True)]
        acked = asyncio.Event()
        readers = [asyncio.create_task(s.read(acked)) for s in senders]
        writers = [asyncio.create_task(s.write()) for s in senders]
        async with asyncio.timeout(30):
            while sum(len(s.acked) for s in senders) < KILL_AFTER_ACKS:
                acked.clear()
                await acked.wait()
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        async with asyncio.timeout(15):
            await asyncio.gather(*readers)  # the sockets break
        for writer in writers:
            writer.cancel()  # a writer may wait for room that will never come
        await asyncio.wait(writers)
        for ws in sockets:
            await ws.close()
    finally:
        server.stop()
    attempted = sum(len(s.attempted) for s in senders)
    assert KILL_AFTER_ACKS <= sum(len(s.acked) for s in senders) <= attempted < 2 * PER_SENDER  # killed mid-load

    restarted = start_server(data_dir, *storage, env=FAST_BCRYPT)
    try:
        async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as http:
            # Every message a sender saw as sent is there, exactly as acknowledged.
            stored: list[dict[str, Any]] = []
            after = 0
            while True:
                page = await http.get(
                    f"/api/conversations/{cid}/messages",
                    params={"after": after, "limit": 100},
                    headers={"authorization": f"Bearer {tokens['alice']}"},
                )
                assert page.status_code == 200, page.text
                stored += page.json()["messages"]
                if not page.json()["has_more"]:
                    break
                after = stored[-1]["seq"]
            by_id = {m["id"]: m for m in stored}
            for sender in senders:
                for message in sender.acked.values():
                    assert by_id[message["id"]]["seq"] == message["seq"]
                    assert by_id[message["id"]]["body"] == message["body"]
            # The clients retry everything they sent (acknowledged or not): nothing doubles.
            for sender in senders:
                headers = {"authorization": f"Bearer {tokens[sender.name]}"}
                for client_id, body in sender.attempted.items():
                    retry = await http.post(
                        f"/api/conversations/{cid}/messages",
                        json={"body": body, "client_id": client_id},
                        headers=headers,
                    )
                    assert retry.status_code in (200, 201), retry.text
                    if client_id in sender.acked:
                        assert retry.status_code == 200 and retry.json()["id"] == sender.acked[client_id]["id"]
            final = await http.get(f"/api/conversations/{cid}", headers={"authorization": f"Bearer {tokens['bob']}"})
            assert final.json()["last_seq"] == attempted
            seqs: list[int] = []
            after = 0
            while True:
                page = await http.get(
                    f"/api/conversations/{cid}/messages",
                    params={"after": after, "limit": 100},
                    headers={"authorization": f"Bearer {tokens['bob']}"},
                )
                seqs += [m["seq"] for m in page.json()["messages"]]
                if not page.json()["has_more"]:
                    break
                after = seqs[-1]
            assert seqs == list(range(1, attempted + 1))
    finally:
        restarted.stop()
