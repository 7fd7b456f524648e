"""The dashboard: my workspaces, recent files, people I follow and what they are doing, and nothing
about workspaces, files or presence I may not see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from collabcode.calls.service import calls_service
from collabcode.social import activity as live_activity
from tests.chat.harness import ChatEnv, Person
from tests.collab.live import YClient
from tests.social.conftest import create_file, dashboard, online, workspace


def followed(board: dict[str, Any], person: Person) -> dict[str, Any]:
    return next(f for f in board["following"] if f["id"] == person.id)


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15.0) -> float:
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not true within {timeout} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_workspaces_members_online_and_recent_files(env: ChatEnv) -> None:
    alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
    team = await workspace(env, alice, "Team", [(bob, "editor")])
    other = await workspace(env, carol, "Carol's", [(bob, "viewer")])
    app = await create_file(env, alice, team, "src/app.py")
    secret = await create_file(env, carol, other, "secret.txt")
    await online(env, bob)
    await online(env, carol)

    board = await dashboard(env, alice)
    assert [w["id"] for w in board["workspaces"]] == [team]
    assert board["workspaces"][0]["role"] == "owner"
    assert board["workspaces"][0]["members_online"] == [{"id": bob.id, "username": "bob", "display_name": "Bob"}]
    assert board["workspaces"][0]["last_activity_at"].endswith("Z")
    assert board["missed_calls"] == [] and board["pending_invitations"] == []
    assert [s["current"] for s in board["sessions"]].count(True) == 1
    # Carol is online but shares nothing with Alice: not on her dashboard.
    assert carol.id not in str(board)

    await env.call(alice, "POST", "/api/me/recent-files", json={"workspace_id": team, "file_id": app}, expect=200)
    # Not a member, a file of another workspace, a folder, nonsense: all 404 or 422, nothing recorded.
    await env.call(alice, "POST", "/api/me/recent-files", json={"workspace_id": other, "file_id": secret}, expect=404)
    await env.call(alice, "POST", "/api/me/recent-files", json={"workspace_id": team, "file_id": secret}, expect=404)
    folder = (await env.call(alice, "GET", f"/api/workspaces/{team}/tree", expect=200)).json()["entries"][0]["id"]
    await env.call(alice, "POST", "/api/me/recent-files", json={"workspace_id": team, "file_id": folder}, expect=404)
    await env.call(alice, "POST", "/api/me/recent-files", json={"workspace_id": "x", "file_id": app}, expect=422)
    board = await dashboard(env, alice)
    assert [(r["workspace_id"], r["workspace_name"], r["file_id"], r["path"]) for r in board["recent_files"]] == [
        (team, "Team", app, "src/app.py")
    ]

    # Bob's recent file disappears when he is removed from the workspace, and when it is deleted.
    await env.call(bob, "POST", "/api/me/recent-files", json={"workspace_id": team, "file_id": app}, expect=200)
    assert len((await dashboard(env, bob))["recent_files"]) == 1
    await env.call(alice, "DELETE", f"/api/workspaces/{team}/members/{bob.id}", expect=204)
    assert (await dashboard(env, bob))["recent_files"] == []
    await env.call(alice, "DELETE", f"/api/workspaces/{team}/files/{app}", expect=204)
    assert (await dashboard(env, alice))["recent_files"] == []


async def test_unread_conversations(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(bob, alice)
    await env.send(bob, cid, "hello")
    board = await dashboard(env, alice)
    assert [(c["id"], c["other"], c["unread_count"]) for c in board["unread_conversations"]] == [
        (cid, {"username": "bob", "display_name": "Bob"}, 1)
    ]
    assert board["unread_conversations"][0]["last_message"]["body"] == "hello"
    assert (await dashboard(env, bob))["unread_conversations"] == []


async def test_following_presence_and_invisible(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await env.call(alice, "POST", "/api/users/bob/follow", expect=200)
    board = await dashboard(env, alice)
    entry = followed(board, bob)
    assert entry["presence"]["status"] == "offline" and entry["activity"] is None
    assert set(entry) == {"id", "username", "display_name", "avatar_color", "avatar_url", "presence", "activity"}
    await online(env, bob)
    assert followed(await dashboard(env, alice), bob)["presence"]["status"] == "online"
    await env.call(bob, "PATCH", "/api/me/privacy", json={"invisible": True}, expect=200)
    assert followed(await dashboard(env, alice), bob)["presence"] == {"status": "offline", "last_seen_at": None}
    # Someone who blocked the viewer drops off the list.
    await env.call(bob, "POST", "/api/users/alice/block", expect=204)
    assert (await dashboard(env, alice))["following"] == []


async def test_what_followed_people_edit_only_where_the_viewer_is_a_member(
    live: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_activity, "SCAN_SECONDS", 0.2)
    alice, bob, carol = await live.person("alice"), await live.person("bob"), await live.person("carol")
    team = await workspace(live, alice, "Team", [(bob, "editor")])
    hidden = await workspace(live, bob, "Bob's private")
    app = await create_file(live, alice, team, "src/app.py")
    secret = await create_file(live, bob, hidden, "plans.md")
    for fan in (alice, carol):
        await live.call(fan, "POST", "/api/users/bob/follow", expect=200)

    events = await live.socket(bob)
    base = f"ws://127.0.0.1:{live.port}/ws/collab"
    editing = await YClient("bob").connect(f"{base}/{team}/{app}", headers=bob.headers)
    await editing.wait_synced()

    async def activity_of(viewer: Person) -> Any:
        return followed(await dashboard(live, viewer), bob)["activity"]

    expected = {"workspace_id": team, "workspace_name": "Team", "file_id": app, "path": "src/app.py"}
    await until(lambda: _equals(activity_of(alice), expected), "Alice sees what Bob edits")
    board = await dashboard(live, carol)
    assert followed(board, bob)["presence"]["status"] == "online"
    assert followed(board, bob)["activity"] is None  # Carol is not in Team

    # Bob opens a file of a workspace Alice is not in: Alice is not told what, nor where.
    private = await YClient("bob-2").connect(f"{base}/{hidden}/{secret}", headers=bob.headers)
    await private.wait_synced()
    await until(lambda: _equals(activity_of(alice), None), "Alice no longer sees Bob's newest file")
    assert hidden not in str(await dashboard(live, alice)) and "plans.md" not in str(await dashboard(live, alice))
    await private.close()
    await until(lambda: _equals(activity_of(alice), expected), "back to the shared file")

    # Bob's recently opened files were recorded from his sockets.
    recent = [(r["workspace_id"], r["path"]) for r in (await dashboard(live, bob))["recent_files"]]
    assert sorted(recent) == sorted([(team, "src/app.py"), (hidden, "plans.md")])

    # Bob closes the tab (both sockets): offline and no activity, well within 30 s.
    await editing.close()
    await events.close()

    async def gone() -> bool:
        entry = followed(await dashboard(live, alice), bob)
        return bool(entry["presence"]["status"] == "offline" and entry["activity"] is None)

    assert await until(gone, "Bob offline after closing the tab") < 30


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return bool(await value == expected)


async def test_missed_calls(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    cid = await env.open(bob, alice)
    await env.send(bob, cid, "call me")
    await online(env, alice)
    await online(env, bob)
    response = await env.call(bob, "POST", "/api/calls", json={"callee": "alice", "media": "audio"}, expect=201)
    call_id = response.json()["id"]
    calls = calls_service(env.services)
    env.clock.advance(calls.limits.ring_seconds + 1)
    await calls.tick()
    missed = (await dashboard(env, alice))["missed_calls"]
    assert [(m["id"], m["caller"]["username"], m["media"]) for m in missed] == [(call_id, "bob", "audio")]
    assert (await dashboard(env, bob))["missed_calls"] == []  # the caller did not miss it


async def test_blocked_co_member_is_not_shown_online(env: ChatEnv) -> None:
    alice, bob = await env.person("alice"), await env.person("bob")
    await workspace(env, alice, "Team", [(bob, "editor")])
    await online(env, bob)
    await online(env, alice)
    assert (await dashboard(env, alice))["workspaces"][0]["members_online"][0]["id"] == bob.id
    await env.call(bob, "POST", "/api/users/alice/block", expect=204)
    assert (await dashboard(env, alice))["workspaces"][0]["members_online"] == []
    assert (await dashboard(env, bob))["workspaces"][0]["members_online"] == []
