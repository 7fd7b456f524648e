"""The activity feed: stored workspace events, only from workspaces the viewer is a member of."""

from __future__ import annotations

from typing import Any

from collabcode.social.activity import items_for
from tests.chat.harness import ChatEnv, Person
from tests.social.conftest import create_file, workspace


async def feed(env: ChatEnv, viewer: Person, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await env.call(viewer, "GET", "/api/activity", params=params, expect=200)).json()
    return body


def kinds(body: dict[str, Any]) -> list[str]:
    return [item["type"] for item in body["items"]]


async def test_events_become_feed_items_with_their_actor(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    team = await workspace(env, alice, "Team")
    env.clock.advance(1)
    await env.call(
        alice, "POST", f"/api/workspaces/{team}/members", json={"username": "bob", "role": "viewer"}, expect=201
    )
    env.clock.advance(1)
    await env.call(alice, "PATCH", f"/api/workspaces/{team}/members/{bob.id}", json={"role": "editor"}, expect=200)
    env.clock.advance(1)
    file_id = await create_file(env, bob, team, "src/deep/app.py")
    env.clock.advance(1)
    await env.call(bob, "PATCH", f"/api/workspaces/{team}/files/{file_id}", json={"path": "lib/app.py"}, expect=200)
    env.clock.advance(1)
    await env.call(bob, "DELETE", f"/api/workspaces/{team}/files/{file_id}", expect=204)
    env.clock.advance(1)
    await env.call(alice, "PATCH", f"/api/workspaces/{team}", json={"name": "Renamed"}, expect=200)
    env.clock.advance(1)
    await env.call(bob, "DELETE", f"/api/workspaces/{team}/members/{bob.id}", expect=204)

    body = await feed(env, alice)
    assert kinds(body) == [
        "member.left",
        "workspace.renamed",
        "file.deleted",
        "file.renamed",
        "file.created",
        "member.role_changed",
        "member.added",
    ]
    items = {item["type"]: item for item in body["items"]}
    assert items["member.added"]["actor"] == {"username": "alice", "display_name": "Alice"}
    assert items["member.added"]["data"] == {
        "user": {"id": bob.id, "username": "bob", "display_name": "Bob"},
        "role": "viewer",
    }
    created = items["file.created"]
    assert created["actor"]["username"] == "bob" and created["workspace_name"] == "Renamed"
    assert created["data"] == {"entries": [{"id": file_id, "path": "src/deep/app.py", "kind": "file"}], "count": 1}
    renamed = items["file.renamed"]["data"]["entries"][0]
    assert (renamed["path"], renamed["old_path"]) == ("lib/app.py", "src/deep/app.py")
    assert items["workspace.renamed"]["data"] == {"name": "Renamed"}
    assert items["member.left"]["actor"]["username"] == "bob"
    assert set(body["items"][0]) == {"id", "type", "workspace_id", "workspace_name", "actor", "data", "created_at"}

    # Bob left: the feed no longer shows him anything of Team, past or future.
    assert (await feed(env, bob))["items"] == []
    await create_file(env, alice, team, "after.txt")
    assert (await feed(env, bob))["items"] == []


async def test_feed_only_from_my_workspaces_and_pages(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    mine = await workspace(env, alice, "Mine")
    theirs = await workspace(env, bob, "Theirs")
    for i in range(5):
        env.clock.advance(1)
        await create_file(env, alice, mine, f"f{i}.txt")
        await create_file(env, bob, theirs, f"secret{i}.txt")
    body = await feed(env, alice, limit=2)
    assert [i["data"]["entries"][0]["path"] for i in body["items"]] == ["f4.txt", "f3.txt"]
    assert {i["workspace_id"] for i in body["items"]} == {mine}
    seen: list[str] = [i["data"]["entries"][0]["path"] for i in body["items"]]
    while body["next_cursor"]:
        body = await feed(env, alice, limit=2, before=body["next_cursor"])
        seen += [i["data"]["entries"][0]["path"] for i in body["items"]]
    assert seen == ["f4.txt", "f3.txt", "f2.txt", "f1.txt", "f0.txt"]
    assert "secret" not in str(await feed(env, alice, limit=100))
    for params in ({"before": "1.abc"}, {"before": "x" * 65}, {"limit": "0"}, {"limit": "1000"}):
        await env.call(alice, "GET", "/api/activity", params=params, expect=422)
    await env.call(None, "GET", "/api/activity", expect=401)
    # A deleted workspace takes its feed with it.
    await env.call(alice, "DELETE", f"/api/workspaces/{mine}", expect=204)
    assert (await feed(env, alice))["items"] == []


def test_tree_changes_are_summarised() -> None:
    event = {
        "type": "tree.changed",
        "workspace_id": "w",
        "version": 3,
        "changes": [
            {"op": "created", "id": "1", "path": "a", "kind": "folder"},
            {"op": "created", "id": "2", "path": "a/b", "kind": "folder"},
            {"op": "created", "id": "3", "path": "a/b/c.py", "kind": "file"},
            {"op": "created", "id": "4", "path": "a/d.py", "kind": "file"},
            {"op": "deleted", "id": "5", "path": "old", "kind": "folder"},
            {"op": "deleted", "id": "6", "path": "old/x.py", "kind": "file"},
            {"op": "updated", "id": "7", "path": "u.py", "kind": "file"},
        ],
    }
    items = dict(items_for(event, "actor"))
    assert [e["path"] for e in items["file.created"]["entries"]] == ["a/b/c.py", "a/d.py"]
    assert [e["path"] for e in items["file.deleted"]["entries"]] == ["old"]
    assert set(items) == {"file.created", "file.deleted"}
    many = {"type": "tree.changed", "workspace_id": "w", "version": 4, "changes": [
        {"op": "created", "id": str(i), "path": f"f{i}", "kind": "file"} for i in range(50)
    ]}  # fmt: skip
    created = dict(items_for(many, None))["file.created"]
    assert created["count"] == 50 and len(created["entries"]) == 20
    assert items_for({"type": "workspace.deleted", "workspace_id": "w"}, None) == []
