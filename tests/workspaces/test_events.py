"""Workspace events: local listeners, the bus to other processes, and the event shapes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from collabcode.pubsub import MemoryBus, MemoryHub
from collabcode.workspaces.events import MAX_CHANGES_PER_EVENT, WorkspaceEvents, channel, tree_changed
from tests.workspaces.conftest import Env


async def test_tree_changes_reach_listeners_with_the_documented_shape(env: Env) -> None:
    alice = await env.user("alice")
    workspace_id = await env.workspace(alice)
    events: list[dict[str, Any]] = []
    unsubscribe = env.service.events.subscribe_tree(workspace_id, events.append)

    file = await env.create(alice, workspace_id, "src/a.txt", content="a")
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/files/{file['id']}", json={"path": "lib/a.txt"}, expect=200
    )
    folder = next(e for e in (await env.tree(alice, workspace_id))["entries"] if e["path"] == "lib")
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/files/{folder['id']}", expect=204)

    src_id = next(c["id"] for c in events[0]["changes"] if c["path"] == "src")
    assert events[0] == {
        "type": "tree.changed",
        "workspace_id": workspace_id,
        "version": 1,
        "changes": [
            {"op": "created", "id": src_id, "path": "src", "kind": "folder"},
            {"op": "created", "id": file["id"], "path": "src/a.txt", "kind": "file"},
        ],
    }
    assert events[1]["version"] == 2
    assert [(c["op"], c["path"], c.get("old_path")) for c in events[1]["changes"]] == [
        ("created", "lib", None),
        ("moved", "lib/a.txt", "src/a.txt"),
    ]
    assert events[2]["version"] == 3
    assert [(c["op"], c["id"], c["path"]) for c in events[2]["changes"]] == [
        ("deleted", folder["id"], "lib"),
        ("deleted", file["id"], "lib/a.txt"),
    ]

    unsubscribe()
    await env.create(alice, workspace_id, "after.txt")
    assert len(events) == 3


async def test_member_and_workspace_events(env: Env) -> None:
    alice, bob = await env.user("alice"), await env.user("bob")
    workspace_id = await env.workspace(alice)
    events: list[dict[str, Any]] = []
    env.service.events.subscribe_tree(workspace_id, events.append)
    await env.add(alice, workspace_id, bob, "viewer")
    await env.call(
        alice, "PATCH", f"/api/workspaces/{workspace_id}/members/{bob.id}", json={"role": "editor"}, expect=200
    )
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/members/{bob.id}", expect=204)
    await env.call(alice, "PATCH", f"/api/workspaces/{workspace_id}", json={"name": "New"}, expect=200)
    await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}", expect=204)
    assert events == [
        {"type": "members.changed", "workspace_id": workspace_id, "user_id": bob.id, "role": "viewer"},
        {"type": "members.changed", "workspace_id": workspace_id, "user_id": bob.id, "role": "editor"},
        {"type": "members.changed", "workspace_id": workspace_id, "user_id": bob.id, "role": None},
        {"type": "workspace.updated", "workspace_id": workspace_id, "name": "New"},
        {"type": "workspace.deleted", "workspace_id": workspace_id},
    ]


async def test_events_cross_processes_once() -> None:
    hub = MemoryHub()
    one, two = MemoryBus(hub=hub), MemoryBus(hub=hub)
    await one.start()
    await two.start()
    first, second = WorkspaceEvents(one), WorkspaceEvents(two)
    await first.start()
    await second.start()
    try:
        local: list[dict[str, Any]] = []
        remote: list[dict[str, Any]] = []
        hooked: list[dict[str, Any]] = []
        arrived = asyncio.Event()

        async def hook(event: dict[str, Any]) -> None:
            hooked.append(event)
            arrived.set()

        first.subscribe_tree("w1", local.append)
        second.subscribe_tree("w1", remote.append)
        second.subscribe_tree("w2", lambda e: remote.append({"wrong": e}))
        second.on_remote(hook)
        event = tree_changed("w1", 7, [{"op": "created", "id": "f", "path": "a", "kind": "file"}])
        await first.publish(event)
        async with asyncio.timeout(5):
            await arrived.wait()
        assert local == [event]  # delivered here at once, and not echoed back by the bus
        assert remote == [event] and hooked == [event]
    finally:
        await first.close()
        await second.close()
        await one.close()
        await two.close()


async def test_malformed_bus_messages_are_ignored() -> None:
    events = WorkspaceEvents()
    received: list[dict[str, Any]] = []
    events.subscribe_tree("w1", received.append)
    await events._on_message(channel("w1"), b"not json")
    await events._on_message(channel("w1"), json.dumps({"workspace_id": "other"}).encode())
    await events._on_message(channel("w1"), json.dumps([1, 2]).encode())
    assert received == []
    await events._on_message(channel("w1"), json.dumps({"type": "x", "workspace_id": "w1"}).encode())
    assert received == [{"type": "x", "workspace_id": "w1"}]


async def test_a_failing_listener_does_not_stop_the_others() -> None:
    events = WorkspaceEvents()
    received: list[dict[str, Any]] = []

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    events.subscribe_tree("w1", broken)
    events.subscribe_tree("w1", received.append)
    await events.publish({"type": "x", "workspace_id": "w1"})
    assert received == [{"type": "x", "workspace_id": "w1"}]
    assert events.listener_count("w1") == 2


def test_huge_change_lists_become_a_resync() -> None:
    changes = [
        {"op": "deleted", "id": str(i), "path": f"p{i}", "kind": "file"} for i in range(MAX_CHANGES_PER_EVENT + 1)
    ]
    event = tree_changed("w", 3, changes)
    assert event == {"type": "tree.changed", "workspace_id": "w", "version": 3, "changes": [], "resync": True}
