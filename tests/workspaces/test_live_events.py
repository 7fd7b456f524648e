"""Workspace events on the events socket, and deleted documents on every process.

Members' ``/ws/events`` sockets receive a workspace's events (``workspace.event`` frames) on any
process; people outside the workspace never do; someone removed hears of it, then nothing more.
A process that still had a deleted file's document open forgets it and removes what it saved.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pycrdt

from collabcode.collab.service import collab_service, document_id
from collabcode.db import Database
from collabcode.pubsub import Bus
from tests.chat.harness import ChatEnv, Person, chat_env, eventually, eventually_async


async def _workspace(env: ChatEnv, owner: Person) -> str:
    response = await env.call(owner, "POST", "/api/workspaces", json={"name": "live"}, expect=201)
    return str(response.json()["id"])


async def _add(env: ChatEnv, owner: Person, workspace_id: str, member: Person, role: str) -> None:
    await env.call(
        owner, "POST", f"/api/workspaces/{workspace_id}/members", json={"username": member.username, "role": role},
        expect=201,
    )


def _workspace_events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame["event"] for frame in frames if frame.get("type") == "workspace.event"]


async def test_members_get_tree_and_member_events_live_and_outsiders_never(db: Database, tmp_path: Path) -> None:
    async with chat_env(db, tmp_path / "data", live=True) as env:
        alice, bob, eve = await env.person("alice"), await env.person("bob"), await env.person("eve")
        workspace_id = await _workspace(env, alice)
        await _add(env, alice, workspace_id, bob, "viewer")
        bob_socket, eve_socket = await env.socket(bob), await env.socket(eve)

        await env.call(
            alice, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "src/app.py", "kind": "file"},
            expect=201,
        )
        frame = await bob_socket.wait_type("workspace.event")
        assert frame["workspace_id"] == workspace_id
        assert frame["event"]["type"] == "tree.changed"
        assert [c["path"] for c in frame["event"]["changes"]] == ["src", "src/app.py"]

        await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/members/{bob.id}", expect=204)
        removed = await bob_socket.wait_for(
            lambda f: f.get("type") == "workspace.event" and f["event"]["type"] == "members.changed", "removal"
        )
        assert removed["event"] == {
            "type": "members.changed", "workspace_id": workspace_id, "user_id": bob.id, "role": None,
        }
        seen = len(bob_socket.frames)
        await env.call(
            alice, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "secret.txt", "kind": "file"},
            expect=201,
        )
        alice_socket = await env.socket(alice)
        await env.call(
            alice, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "later.txt", "kind": "file"},
            expect=201,
        )
        await alice_socket.wait_type("workspace.event")
        await asyncio.sleep(0.2)
        assert not _workspace_events(bob_socket.frames[seen:]), "a removed member still gets the workspace's events"
        assert not _workspace_events(eve_socket.frames), "an outsider got a workspace event"


async def test_workspace_deletion_reaches_every_former_member(db: Database, tmp_path: Path) -> None:
    async with chat_env(db, tmp_path / "data", live=True) as env:
        alice, bob = await env.person("alice"), await env.person("bob")
        workspace_id = await _workspace(env, alice)
        await _add(env, alice, workspace_id, bob, "editor")
        bob_socket = await env.socket(bob)
        await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}", expect=204)
        frame = await bob_socket.wait_for(
            lambda f: f.get("type") == "workspace.event" and f["event"]["type"] == "workspace.deleted", "deletion"
        )
        assert frame["event"] == {"type": "workspace.deleted", "workspace_id": workspace_id}


async def test_events_reach_members_on_another_process(
    db: Database, bus_pair: tuple[Bus, Bus], tmp_path: Path
) -> None:
    async with (
        chat_env(db, tmp_path / "data", live=True, bus=bus_pair[0]) as first,
        chat_env(db, tmp_path / "data", live=True, bus=bus_pair[1], people=first.people) as second,
    ):
        alice, bob = await first.person("alice"), await first.person("bob")
        workspace_id = await _workspace(first, alice)
        await _add(first, alice, workspace_id, bob, "editor")
        bob_elsewhere = await second.socket(bob)
        await first.call(
            alice, "POST", f"/api/workspaces/{workspace_id}/files", json={"path": "x.md", "kind": "file"}, expect=201
        )
        frame = await bob_elsewhere.wait_type("workspace.event")
        assert frame["event"]["changes"][0]["path"] == "x.md"
        await asyncio.sleep(0.2)
        assert len(_workspace_events(bob_elsewhere.frames)) == 1, "an event was forwarded by both processes"


async def test_a_deleted_document_open_on_another_process_leaves_no_rows(
    db: Database, bus_pair: tuple[Bus, Bus], tmp_path: Path
) -> None:
    async with (
        chat_env(db, tmp_path / "data", bus=bus_pair[0]) as first,
        chat_env(db, tmp_path / "data", bus=bus_pair[1], people=first.people) as second,
    ):
        alice = await first.person("alice")
        workspace_id = await _workspace(first, alice)
        created = await first.call(
            alice, "POST", f"/api/workspaces/{workspace_id}/files",
            json={"path": "gone.txt", "kind": "file", "content": "hello"}, expect=201,
        )
        file_id = str(created.json()["id"])
        doc_id = document_id(workspace_id, file_id)
        elsewhere = collab_service(second.services)
        room = await elsewhere.open(workspace_id, file_id)
        assert room.text == "hello"

        await first.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/files/{file_id}", expect=204)
        await eventually(lambda: elsewhere.manager.loaded(doc_id) is None, "the other process forgot the document")

        # The closed room no longer stores anything a late peer might still send it.
        text = room.doc.get("content", type=pycrdt.Text)
        text += " again"
        await asyncio.sleep(0.1)

        async def no_rows() -> bool:
            row = await db.fetch_one("SELECT COUNT(*) AS n FROM documents WHERE id = ?", (doc_id,))
            return row is not None and int(row["n"]) == 0

        await eventually_async(no_rows, "no rows left for the deleted document")
