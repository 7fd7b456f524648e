"""History on a real server: real accounts type on real collaboration sockets.

Authorship comes from the server's identity of each socket (plus the assistant marker on a
user's awareness); a restore lands as one live change while someone else keeps typing; a comment
keeps pointing at its code while the code moves, and members hear of it on their events socket.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from collabcode.clock import FakeClock
from collabcode.collab.protocol import encode_awareness
from collabcode.db import Database
from tests.chat.harness import ChatEnv, Person, chat_env
from tests.collab.live import YClient


async def _workspace(env: ChatEnv, owner: Person, *members: tuple[Person, str]) -> str:
    response = await env.call(owner, "POST", "/api/workspaces", json={"name": "history"}, expect=201)
    workspace_id = str(response.json()["id"])
    for member, role in members:
        await env.call(
            owner,
            "POST",
            f"/api/workspaces/{workspace_id}/members",
            json={"username": member.username, "role": role},
            expect=201,
        )
    return workspace_id


async def _file(env: ChatEnv, owner: Person, workspace_id: str, path: str, content: str | None = None) -> str:
    body: dict[str, Any] = {"path": path, "kind": "file"}
    if content is not None:
        body["content"] = content
    response = await env.call(owner, "POST", f"/api/workspaces/{workspace_id}/files", json=body, expect=201)
    return str(response.json()["id"])


async def _connect(env: ChatEnv, person: Person, workspace_id: str, file_id: str) -> YClient:
    url = f"ws://127.0.0.1:{env.port}/ws/collab/{workspace_id}/{file_id}"
    client = await YClient(person.username).connect(url, headers=person.headers)
    return await client.wait_synced()


def _insert(client: YClient, index: int, text: str) -> None:
    """Insert at a character index (pycrdt indexes by UTF-8 byte)."""
    client.text.insert(len(str(client.text)[:index].encode("utf-8")), text)


async def _same_text(first: YClient, other: YClient) -> str:
    await other.wait_for(lambda: str(other.text) == str(first.text), "the clients agree")
    return str(first.text)


async def test_authorship_per_line_matches_who_typed_it_including_the_assistant(db: Database, tmp_path: Path) -> None:
    async with chat_env(db, tmp_path / "data", live=True, clock=FakeClock()) as env:
        alice, bob = await env.person("alice"), await env.person("bob")
        workspace_id = await _workspace(env, alice, (bob, "editor"))
        file_id = await _file(env, alice, workspace_id, "main.py")
        a, b = await _connect(env, alice, workspace_id, file_id), await _connect(env, bob, workspace_id, file_id)

        a.type("alice one\n")
        await b.wait_text("alice one\n")
        env.clock.advance(1)
        b.type("bob two\n")
        await a.wait_text("alice one\nbob two\n")
        env.clock.advance(1)
        _insert(a, 0, "alice zero\n")
        await b.wait_text("alice zero\nalice one\nbob two\n")
        env.clock.advance(1)
        # Bob edits the end of Alice's line: the line's last writer is Bob now.
        _insert(b, len("alice zero\nalice one"), " and bob")
        await a.wait_text("alice zero\nalice one and bob\nbob two\n")
        env.clock.advance(1)

        # The assistant edits for Bob: his editor marks the range on his awareness state first,
        # then applies the edit as one transaction (frontend/src/assistant/shared-edit.js).
        b.awareness.set_local_state({"cursor": 0, "assistant": {"anchor": {"a": 1}, "head": {"a": 2}}})
        await b.send_raw(encode_awareness(b.awareness.encode_awareness_update([b.awareness.client_id])))
        b.type("assistant three\n")
        await a.wait_text("alice zero\nalice one and bob\nbob two\nassistant three\n")
        env.clock.advance(1)
        # Bob types on while the marker is still shown: that is his own typing.
        b.type("bob four\n")
        text = "alice zero\nalice one and bob\nbob two\nassistant three\nbob four\n"
        await a.wait_text(text)

        for reader in (alice, bob):
            response = await env.call(
                reader, "GET", f"/api/workspaces/{workspace_id}/files/{file_id}/authorship", expect=200
            )
            lines = response.json()["lines"]
            who = [(line["line"], line["user"]["username"], line["via"]) for line in lines]
            assert who == [
                (1, "alice", None),
                (2, "bob", None),
                (3, "bob", None),
                (4, "bob", "assistant"),
                (5, "bob", None),
            ], who

        # Contributors of the workspace, and the commit trailers Alice would add.
        response = await env.call(alice, "GET", f"/api/workspaces/{workspace_id}/contributors", expect=200)
        people = {c["user"]["username"]: c for c in response.json()["contributors"]}
        assert set(people) == {"alice", "bob"}
        assert people["bob"]["assistant_changes"] == 1
        assert people["bob"]["changes"] > people["bob"]["assistant_changes"]
        response = await env.call(
            alice, "GET", f"/api/workspaces/{workspace_id}/contributors?format=trailers", expect=200
        )
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == "Co-authored-by: Bob <bob@users.noreply.127.0.0.1>\n"
        await a.close()
        await b.close()


async def test_restoring_while_someone_types_keeps_their_later_text(db: Database, tmp_path: Path) -> None:
    # The real clock: Bob types for a while, and the socket's rate limit refills with time.
    async with chat_env(db, tmp_path / "data", live=True) as env:
        alice, bob = await env.person("alice"), await env.person("bob")
        workspace_id = await _workspace(env, alice, (bob, "editor"))
        file_id = await _file(env, alice, workspace_id, "app.py")
        base = f"/api/workspaces/{workspace_id}/files/{file_id}"
        a, b = await _connect(env, alice, workspace_id, file_id), await _connect(env, bob, workspace_id, file_id)

        old = "def keep():\n    return 1\n\n"
        a.type(old)
        await b.wait_text(old)
        timeline = (await env.call(alice, "GET", base + "/history", expect=200)).json()
        version = timeline["head"]
        assert (await env.call(bob, "GET", f"{base}/history/{version}", expect=200)).json()["text"] == old

        # Alice changes her function and adds another one; Bob then starts typing at the end.
        _insert(a, old.index("1"), "4")
        a.type("def extra():\n    pass\n")
        await b.wait_text("def keep():\n    return 41\n\ndef extra():\n    pass\n")
        typed: list[str] = []
        stop = asyncio.Event()
        restored_at: list[int] = []

        async def bob_types() -> None:
            index = 0
            while not stop.is_set():
                token = f"<b{index}>"
                b.type(token)
                typed.append(token)
                index += 1
                await asyncio.sleep(0.02)

        typing = asyncio.create_task(bob_types())
        await asyncio.sleep(0.2)
        started = len(typed)
        response = await env.call(alice, "POST", base + "/restore", json={"version": version}, expect=200)
        restored_at.append(len(typed))
        assert started > 0
        assert response.json()["restored"] == version and response.json()["changed"] is True
        await asyncio.sleep(0.2)
        stop.set()
        await typing
        final = await _same_text(a, b)

        # Alice's later changes are undone; Bob's text from around the restore on is all there.
        assert final.startswith(old), final
        tail = final[len(old) :]
        assert tail, "nothing Bob typed survived"
        first = typed.index(tail[: tail.index(">") + 1])
        assert tail == "".join(typed[first:]), (tail, typed)
        assert first <= restored_at[0], "text Bob typed after the restore was lost"
        assert first > 0, "the restore did not take back what Bob typed before it"

        # The restore is a new version credited to Alice (via restore); the old ones stay.
        timeline = (await env.call(alice, "GET", base + "/history?limit=200", expect=200)).json()
        vias = {(who["user"]["username"], who["via"]) for v in timeline["versions"] for who in v["authors"]}
        assert ("alice", "restore") in vias and ("bob", None) in vias
        assert (await env.call(bob, "GET", f"{base}/history/{version}", expect=200)).json()["text"] == old
        await a.close()
        await b.close()


async def test_a_comment_keeps_pointing_at_its_function_and_members_hear_of_it(db: Database, tmp_path: Path) -> None:
    async with chat_env(db, tmp_path / "data", live=True, clock=FakeClock()) as env:
        alice, bob, eve = await env.person("alice"), await env.person("bob"), await env.person("eve")
        workspace_id = await _workspace(env, alice, (bob, "viewer"))
        function = "def target(x):\n    return x\n"
        source = f"import os\n\n{function}\ndef other():\n    pass\n"
        file_id = await _file(env, alice, workspace_id, "lib.py", source)
        base = f"/api/workspaces/{workspace_id}/files/{file_id}"
        bob_events, eve_events = await env.socket(bob), await env.socket(eve)

        start = source.index(function)
        response = await env.call(
            alice,
            "POST",
            base + "/comments",
            json={"anchor": {"start": start, "end": start + len(function)}, "body": "Does this handle None?"},
            expect=201,
        )
        comment = response.json()
        assert comment["anchor"] == {
            "deleted": False,
            "original_snippet": function,
            "version": comment["anchor"]["version"],
            "start": start,
            "end": start + len(function),
            "snippet": function,
        }
        frame = await bob_events.wait_for(
            lambda f: f.get("type") == "workspace.event" and f["event"]["type"] == "comment.added", "comment frame"
        )
        assert frame["event"]["comment"]["id"] == comment["id"]
        assert frame["event"]["file_id"] == file_id

        # 50 edits: lines added above the function and inside its body.
        a = await _connect(env, alice, workspace_id, file_id)
        for step in range(50):
            current = str(a.text)
            if step % 2 == 0:
                _insert(a, 0, f"# note {step}\n")
            else:
                _insert(a, current.index("    return x"), f"    y{step} = x\n")
        final = str(a.text)

        async def anchored() -> dict[str, Any]:
            response = await env.call(bob, "GET", base + "/comments", expect=200)
            comments = response.json()["comments"]
            assert len(comments) == 1
            anchor: dict[str, Any] = comments[0]["anchor"]
            return anchor

        for _ in range(200):
            anchor = await anchored()
            if anchor.get("snippet", "").count("y") >= 25:
                break
            await asyncio.sleep(0.05)
        function_now = final[final.index("def target(x):") : final.index("    return x\n") + len("    return x\n")]
        assert anchor["snippet"] == function_now
        assert anchor["start"] == final.index("def target(x):")
        assert function_now.count("    y") == 25 and not anchor["deleted"]

        # The function is deleted: the comment says so and keeps what it was made on.
        begin = final.index("def target(x):")
        a.text.__delitem__(
            slice(len(final[:begin].encode("utf-8")), len(final[: begin + len(function_now)].encode("utf-8")))
        )
        for _ in range(200):
            anchor = await anchored()
            if anchor["deleted"]:
                break
            await asyncio.sleep(0.05)
        assert anchor == {"deleted": True, "original_snippet": function, "version": comment["anchor"]["version"]}
        version = (await env.call(bob, "GET", f"{base}/history/{anchor['version']}", expect=200)).json()
        assert function in version["text"]

        # Viewers may not resolve someone else's comment; the author may, and members hear of it.
        url = f"{base}/comments/{comment['id']}"
        await env.call(bob, "PATCH", url, json={"resolved": True}, expect=403)
        resolved = (await env.call(alice, "PATCH", url, json={"resolved": True}, expect=200)).json()
        assert resolved["resolved"] is True and resolved["resolved_by"]["username"] == "alice"
        await bob_events.wait_for(
            lambda f: f.get("type") == "workspace.event" and f["event"]["type"] == "comment.updated", "resolved frame"
        )
        assert not [f for f in eve_events.frames if f.get("type") == "workspace.event"], "an outsider heard of it"
        await a.close()
