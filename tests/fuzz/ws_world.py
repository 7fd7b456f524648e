"""The world the WebSocket fuzzers attack: one live app, real accounts and their data.

``mallory`` sends the hostile frames. ``alice`` and ``bob`` are bystanders: a conversation
between them, a call alice placed to bob (ringing), a file bob is editing in his workspace
(``mallory`` is a viewer there), and their events sockets and bob's collaboration socket stay
open the whole time, so "the server keeps serving" and "nobody else's data changed" can be
checked after every example. ``olivia``, another viewer, is the newcomer who checks what bob's
file looks like. Everyone is a real account signed in with a Bearer token; the ids are real.
The app runs on a fake clock, so the call cannot ring out while the fuzzers run.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pycrdt
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from collabcode.auth.service import auth_service
from collabcode.clock import FakeClock
from collabcode.collab.service import collab_service
from collabcode.realtime.hub import events_hub
from tests.chat.harness import PASSWORD, EventsClient, Person
from tests.collab.live import YClient, joined
from tests.fuzz.server import ThreadedApp

#: Bob's awareness client id, fixed so generated awareness entries can try to take it over.
BOB_CLIENT = 4242
BOB_TEXT = "def bystander():\n    return 'unchanged'\n"
#: Which file of the world a collaboration socket opens.
SHARED = "shared"  # bob's file; mallory and olivia are viewers
OWN = "own"  # mallory's file in her own workspace


@dataclass
class World:
    app: ThreadedApp
    people: dict[str, Person] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None
    pair_conversation: str = ""  # alice and bob
    mallory_conversation: str = ""  # alice and mallory
    alice_messages: list[str] = field(default_factory=list)  # alice's, in both conversations
    call_id: str = ""
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # SHARED/OWN -> (workspace, file)
    alice_socket: EventsClient | None = None
    bob_socket: EventsClient | None = None
    bob_doc: YClient | None = None
    bob_awareness: Any = None
    pings: int = 0

    # ------------------------------------------------------------------ urls

    def collab_url(self, which: str) -> str:
        workspace_id, file_id = self.files[which]
        return f"ws://127.0.0.1:{self.app.port}/ws/collab/{workspace_id}/{file_id}"

    def headers(self, who: str) -> dict[str, str]:
        return self.people[who].headers

    @property
    def events_url(self) -> str:
        return f"ws://127.0.0.1:{self.app.port}/ws/events"

    # ------------------------------------------------------------------ http

    async def call(self, who: str, method: str, url: str, *, expect: int, **kwargs: Any) -> Any:
        assert self.http is not None
        response = await self.http.request(method, url, headers=self.people[who].headers, **kwargs)
        assert response.status_code == expect, f"{method} {url}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None

    async def person(self, name: str) -> Person:
        account = await auth_service(self.app.services).create_user(
            email=f"{name}@example.com", username=name, display_name=name.title(), password=PASSWORD, verified=True
        )
        assert self.http is not None
        response = await self.http.post("/api/auth/login", json={"login": name, "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.people[name] = Person(account.id, name, response.json()["access_token"])
        return self.people[name]

    async def message(self, who: str, conversation_id: str, body: str) -> str:
        sent = await self.call(
            who,
            "POST",
            f"/api/conversations/{conversation_id}/messages",
            json={"body": body, "client_id": uuid.uuid4().hex},
            expect=201,
        )
        return str(sent["id"])

    # ------------------------------------------------------------------ sockets

    async def events_socket(self, who: str) -> EventsClient:
        ws = await connect(self.events_url, additional_headers=self.people[who].headers, open_timeout=10, max_size=None)
        client = EventsClient(ws, who)
        await client.wait_for(lambda f: f.get("type") in ("synced", "resync"), "synced")
        return client

    async def events_open(self, who: str) -> int:
        return sum(1 for s in self.app.services.connections.for_user(self.people[who].id) if s.endpoint == "events")

    async def collab_open(self, who: str) -> int:
        return sum(1 for s in self.app.services.connections.for_user(self.people[who].id) if s.endpoint == "collab")

    async def wait_gone(self, count: Any, what: str, timeout: float = 10.0) -> None:
        """Wait until the server has finished with an attacker's socket (every frame handled)."""
        try:
            async with asyncio.timeout(timeout):
                while await count():
                    await asyncio.sleep(0.005)
        except TimeoutError:
            pytest.fail(f"{what} still open on the server after {timeout} s")

    # ------------------------------------------------------------------ bystander state

    async def bystander_chat(self) -> dict[str, Any]:
        """What mallory must never change: every message of the pair, alice's messages, the call."""
        keys = ("id", "seq", "sender_id", "body", "edited", "edited_at", "deleted")
        state: dict[str, Any] = {}
        for cid in (self.pair_conversation, self.mallory_conversation):
            listed = await self.call("alice", "GET", f"/api/conversations/{cid}/messages", expect=200)
            state[cid] = [
                {k: m.get(k) for k in keys}
                for m in listed["messages"]
                if cid == self.pair_conversation or m["sender_id"] == self.people["alice"].id
            ]
        state["call"] = await self.call("alice", "GET", f"/api/calls/{self.call_id}", expect=200)
        return state

    async def bystanders_alive(self) -> None:
        """alice's and bob's events sockets, open since the start, still answer a ping."""
        # The fake clock only moves by hand: let their frame budgets refill by one frame (20 per
        # second), and no more, so the call keeps ringing (45 s) through hundreds of examples.
        self.app.services.clock.advance(0.05)  # type: ignore[attr-defined]
        for client in (self.alice_socket, self.bob_socket):
            assert client is not None
            assert not client.closed.is_set(), (
                f"{client.name}'s socket closed: {client.close_code} {client.close_reason}"
            )
            self.pings += 1
            ref = f"alive:{self.pings}"
            await client.send({"type": "ping", "ref": ref})
            await client.wait_type("pong", ref=ref)

    async def shared_document_intact(self) -> None:
        """The shared document and bob's cursor are as bob left them, for a newcomer too."""
        bob = self.bob_doc
        assert bob is not None and not bob.closed.is_set(), f"bob's socket closed: {bob and bob.close_code}"
        assert await collab_service(self.app.services).text(*self.files[SHARED]) == BOB_TEXT
        observer = await joined("observer", self.collab_url(SHARED), headers=self.headers("olivia"))
        try:
            assert str(observer.text) == BOB_TEXT
            await observer.wait_for(lambda: BOB_CLIENT in observer.awareness.states, "bob's awareness")
            assert observer.awareness.states[BOB_CLIENT] == self.bob_awareness
        finally:
            await observer.close()
        assert str(bob.text) == BOB_TEXT

    # ------------------------------------------------------------------ lifecycle

    async def seed(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.app.url, timeout=30)
        for name in ("alice", "bob", "mallory", "olivia"):
            await self.person(name)
        await self.workspaces()
        opened = await self.call("alice", "POST", "/api/conversations", json={"username": "bob"}, expect=201)
        self.pair_conversation = str(opened["id"])
        opened = await self.call("alice", "POST", "/api/conversations", json={"username": "mallory"}, expect=201)
        self.mallory_conversation = str(opened["id"])
        for body in ("hello bob", "the plan is in main.py"):
            self.alice_messages.append(await self.message("alice", self.pair_conversation, body))
        await self.message("bob", self.pair_conversation, "ok")
        self.alice_messages.append(await self.message("alice", self.mallory_conversation, "hi mallory"))
        await self.message("mallory", self.mallory_conversation, "hi alice")
        self.alice_socket = await self.events_socket("alice")
        self.bob_socket = await self.events_socket("bob")
        started = await self.call("alice", "POST", "/api/calls", json={"callee": "bob", "media": "audio"}, expect=201)
        self.call_id = str(started["id"])
        bob = client_with_id("bob", BOB_CLIENT)
        await (await bob.connect(self.collab_url(SHARED), headers=self.headers("bob"))).wait_synced()
        bob.type(BOB_TEXT)
        self.bob_doc = bob
        service = collab_service(self.app.services)
        async with asyncio.timeout(10):
            while await service.text(*self.files[SHARED]) != BOB_TEXT:
                await asyncio.sleep(0.01)
        observer = await joined("observer", self.collab_url(SHARED), headers=self.headers("olivia"))
        await observer.wait_for(lambda: BOB_CLIENT in observer.awareness.states, "bob's awareness")
        self.bob_awareness = observer.awareness.states[BOB_CLIENT]
        await observer.close()

    async def workspaces(self) -> None:
        """bob's workspace (mallory and olivia view it) and mallory's own, one file each."""
        for which, owner, viewers in ((SHARED, "bob", ("mallory", "olivia")), (OWN, "mallory", ())):
            created = await self.call(owner, "POST", "/api/workspaces", json={"name": f"{owner}'s"}, expect=201)
            workspace_id = str(created["id"])
            for viewer in viewers:
                member = {"username": viewer, "role": "viewer"}
                await self.call(owner, "POST", f"/api/workspaces/{workspace_id}/members", json=member, expect=201)
            entry = await self.call(
                owner,
                "POST",
                f"/api/workspaces/{workspace_id}/files",
                json={"path": "main.py", "kind": "file"},
                expect=201,
            )
            self.files[which] = (workspace_id, str(entry["id"]))

    async def close(self) -> None:
        for client in (self.alice_socket, self.bob_socket, self.bob_doc):
            if client is not None:
                await client.close()
        if self.http is not None:
            await self.http.aclose()


def client_with_id(name: str, client_id: int) -> YClient:
    """A :class:`YClient` whose document has a fixed client id (its awareness id too)."""
    client = YClient(name)
    client.doc = pycrdt.Doc(client_id=client_id)
    client.text = client.doc.get("content", type=pycrdt.Text)
    client.awareness = pycrdt.Awareness(client.doc)
    client._subscription = client.doc.observe(client._on_update)
    return client


def start_world(data_dir: Path) -> World:
    app = ThreadedApp(data_dir, clock=FakeClock())
    app.start()
    world = World(app)
    try:
        app.run(world.seed())
    except BaseException:
        app.stop()
        raise
    return world


def stop_world(world: World) -> None:
    try:
        world.app.run(world.close())
    finally:
        world.app.stop()


def frame_model(world: World, frame_type: str) -> Any:
    """The pydantic model the hub validates ``frame_type`` with, or None when it is not served."""
    entry = events_hub(world.app.services).handlers.get(frame_type)
    return None if entry is None else entry[0]


async def drain(client: EventsClient, ref: str, timeout: float = 10.0) -> bool:
    """Wait for the pong to ``ref`` or the close; True when the pong came (the socket lives)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                if any(f.get("type") == "pong" and f.get("ref") == ref for f in client.frames):
                    return True
                if client.closed.is_set():
                    return False
                client._arrived.clear()
                await client._arrived.wait()
    except TimeoutError:
        pytest.fail(f"no pong and no close within {timeout} s; frames: {client.frames[-5:]!r}")


async def send_all(ws: Any, frames: list[bytes | str]) -> None:
    """Send frames until the server closes (later ones are then dropped, as a real client's)."""
    try:
        for frame in frames:
            await ws.send(frame)
    except ConnectionClosed:
        pass


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
