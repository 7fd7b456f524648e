"""Messages that point at code, on a real server with real accounts (SQLite and PostgreSQL).

A reference keeps pointing at the same function while someone else edits the file over the
collaboration socket; deleted code says so and the version it was sent on is in the history;
only people who can read the workspace ever see the snippet, in answers, live frames and
replayed frames; sends with a reference stay idempotent.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from collabcode.collab.service import collab_service
from collabcode.db import Database
from tests.chat.harness import ChatEnv, Person, chat_env, eventually_async
from tests.collab.live import YClient

FUNCTION = "def target(x):\n    return x\n"
SOURCE = f"import os\n\n{FUNCTION}\ndef other():\n    pass\n"


async def _workspace(env: ChatEnv, owner: Person, *members: tuple[Person, str]) -> str:
    response = await env.call(owner, "POST", "/api/workspaces", json={"name": "refs"}, expect=201)
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


async def _file(env: ChatEnv, owner: Person, workspace_id: str, path: str, content: str) -> str:
    body = {"path": path, "kind": "file", "content": content}
    response = await env.call(owner, "POST", f"/api/workspaces/{workspace_id}/files", json=body, expect=201)
    return str(response.json()["id"])


def _ref(workspace_id: str, file_id: str, start: int, end: int) -> dict[str, Any]:
    return {"workspace_id": workspace_id, "file_id": file_id, "start": start, "end": end}


async def _send(
    env: ChatEnv,
    sender: Person,
    cid: str,
    code_ref: dict[str, Any],
    *,
    client_id: str | None = None,
    body: str = "Look at this",
    expect: int = 201,
) -> dict[str, Any]:
    response = await env.call(
        sender,
        "POST",
        f"/api/conversations/{cid}/messages",
        json={"body": body, "client_id": client_id or uuid.uuid4().hex, "code_ref": code_ref},
        expect=expect,
    )
    answer: dict[str, Any] = response.json()
    return answer


async def _ref_of(env: ChatEnv, reader: Person, cid: str, message_id: str) -> dict[str, Any]:
    found = [m for m in await env.messages(reader, cid) if m["id"] == message_id]
    assert len(found) == 1
    ref: dict[str, Any] = found[0]["code_ref"]
    return ref


def _insert(client: YClient, index: int, text: str) -> None:
    """Insert at a character index (pycrdt indexes by UTF-8 byte)."""
    client.text.insert(len(str(client.text)[:index].encode("utf-8")), text)


async def test_a_reference_follows_its_function_through_50_edits_and_says_when_it_is_deleted(
    db: Database, tmp_path: Path
) -> None:
    async with chat_env(db, tmp_path / "data", live=True) as env:
        alice, bob = await env.person("alice"), await env.person("bob")
        workspace_id = await _workspace(env, alice, (bob, "editor"))
        file_id = await _file(env, alice, workspace_id, "src/lib.py", SOURCE)
        cid = await env.open(alice, bob)
        start = SOURCE.index(FUNCTION)

        sent = await _send(env, alice, cid, _ref(workspace_id, file_id, start, start + len(FUNCTION)))
        version = sent["code_ref"]["version"]
        assert sent["code_ref"] == {
            "available": True,
            "workspace_id": workspace_id,
            "file_id": file_id,
            "path": "src/lib.py",
            "deleted": False,
            "file_deleted": False,
            "start": start,
            "end": start + len(FUNCTION),
            "start_line": 3,
            "end_line": 4,
            "snippet": FUNCTION,
            "original_snippet": FUNCTION,
            "version": version,
        }
        assert isinstance(version, int) and version >= 1

        # Bob makes 50 edits over the collaboration socket: lines above the function and in its body.
        editor = await YClient("bob").connect(
            f"ws://127.0.0.1:{env.port}/ws/collab/{workspace_id}/{file_id}", headers=bob.headers
        )
        await editor.wait_synced()
        for step in range(50):
            current = str(editor.text)
            if step % 2 == 0:
                _insert(editor, 0, f"# note {step} é\n")
            else:
                _insert(editor, current.index("    return x"), f"    y{step} = x\n")
        final = str(editor.text)
        collab = collab_service(env.services)

        async def arrived() -> bool:
            return await collab.text(workspace_id, file_id) == final

        await eventually_async(arrived, "the server has all 50 edits", timeout=30)
        begin = final.index("def target(x):")
        finish = final.index("    return x\n") + len("    return x\n")
        assert final[begin:finish].count("    y") == 25
        for reader in (alice, bob):
            ref = await _ref_of(env, reader, cid, sent["id"])
            assert (ref["start"], ref["end"], ref["deleted"]) == (begin, finish, False)
            assert (ref["start_line"], ref["end_line"]) == (28, 54)
            assert ref["snippet"] == final[begin:finish]
            assert ref["original_snippet"] == FUNCTION and ref["version"] == version

        # The function is deleted: the reference says so, and its version in history still has it.
        editor.text.__delitem__(slice(len(final[:begin].encode("utf-8")), len(final[:finish].encode("utf-8"))))
        gone = final[:begin] + final[finish:]

        async def deleted() -> bool:
            return await collab.text(workspace_id, file_id) == gone

        await eventually_async(deleted, "the deletion reached the server")
        ref = await _ref_of(env, bob, cid, sent["id"])
        assert ref["deleted"] is True and ref["snippet"] is None and ref["start"] is None
        assert ref["original_snippet"] == FUNCTION and ref["path"] == "src/lib.py" and ref["version"] == version
        base = f"/api/workspaces/{workspace_id}/files/{file_id}"
        old = (await env.call(bob, "GET", f"{base}/history/{version}", expect=200)).json()
        assert FUNCTION in old["text"]
        await editor.close()

        # The file itself deleted: members are told, still without a snippet of the live file.
        await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/files/{file_id}", expect=204)
        ref = await _ref_of(env, bob, cid, sent["id"])
        assert ref["deleted"] is True and ref["file_deleted"] is True and ref["path"] is None
        # The workspace deleted: nobody can read it any more, its author included.
        await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}", expect=204)
        for reader in (alice, bob):
            assert await _ref_of(env, reader, cid, sent["id"]) == {"available": False}


async def test_only_readers_of_the_workspace_see_the_code(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with chat_env(db, tmp_path / "data", live=True) as env:
        alice, bob, carol = await env.person("alice"), await env.person("bob"), await env.person("carol")
        workspace_id = await _workspace(env, alice, (bob, "viewer"))
        file_id = await _file(env, alice, workspace_id, "lib.py", SOURCE)
        other_workspace = await _workspace(env, carol)
        other_file = await _file(env, carol, other_workspace, "secret.py", "TOKEN = 'x'\n")
        with_bob, with_carol = await env.open(alice, bob), await env.open(alice, carol)
        bob_events, carol_events = await env.socket(bob), await env.socket(carol)
        start = SOURCE.index(FUNCTION)
        ref = _ref(workspace_id, file_id, start, start + len(FUNCTION))

        # Carol is not a member: she sees that there is a reference, and nothing of it.
        sent = await _send(env, alice, with_carol, ref)
        assert sent["code_ref"]["snippet"] == FUNCTION
        assert await _ref_of(env, carol, with_carol, sent["id"]) == {"available": False}
        frame = await carol_events.wait_type("message", conversation_id=with_carol)
        assert frame["message"]["code_ref"] == {"available": False}
        summaries = (await env.call(carol, "GET", "/api/conversations", expect=200)).json()["conversations"]
        assert [s["last_message"]["code_ref"] for s in summaries] == [{"available": False}]
        assert FUNCTION not in str(carol_events.frames) and "lib.py" not in str(summaries)
        # Replayed frames (a socket reconnecting from cursor 0) are resolved for her too.
        replay = await env.socket(carol, cursor=0)
        replayed = await replay.wait_type("message", conversation_id=with_carol)
        assert replayed["message"]["code_ref"] == {"available": False}

        # Bob is a viewer: any role reads the code, live and in the listing.
        sent_bob = await _send(env, alice, with_bob, ref)
        frame = await bob_events.wait_type("message", conversation_id=with_bob)
        assert frame["message"]["code_ref"]["snippet"] == FUNCTION and frame["message"]["id"] == sent_bob["id"]
        assert (await _ref_of(env, bob, with_bob, sent_bob["id"]))["path"] == "lib.py"
        # Removed from the workspace, he no longer sees it.
        await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/members/{bob.id}", expect=204)
        assert await _ref_of(env, bob, with_bob, sent_bob["id"]) == {"available": False}

        # Senders must be able to read the file; a file of another workspace is unknown too.
        for sender, cid, target in (
            (carol, with_carol, ref),
            (alice, with_carol, _ref(workspace_id, other_file, 0, 5)),
            (alice, with_carol, _ref(other_workspace, other_file, 0, 5)),
            (alice, with_carol, _ref(workspace_id, uuid.uuid4().hex, 0, 5)),
        ):
            refused = await _send(env, sender, cid, target, expect=404)
            assert refused["error"]["code"] == "not_found"
        denied = [r for r in caplog.records if getattr(r, "event", None) == "authz.denied"]
        assert [getattr(r, "action", None) for r in denied].count("code_ref") == 4
        # Ranges: inside the text, not empty, bounded; the body is strict.
        for target, rule in (
            (_ref(workspace_id, file_id, 0, len(SOURCE) + 1), "range"),
            (_ref(workspace_id, file_id, 4, 4), "empty"),
            (_ref(workspace_id, file_id, 0, 20_001), "too_long"),
        ):
            refused = await _send(env, alice, with_carol, target, expect=422)
            assert refused["error"]["details"]["rule"] == rule, refused
        await _send(env, alice, with_carol, {**ref, "path": "lib.py"}, expect=422)
        await _send(env, alice, with_carol, {**ref, "start": "1"}, expect=422)


async def test_sends_over_the_socket_and_retries_carry_the_reference(db: Database, tmp_path: Path) -> None:
    async with chat_env(db, tmp_path / "data", live=True) as env:
        alice, bob = await env.person("alice"), await env.person("bob")
        workspace_id = await _workspace(env, alice, (bob, "viewer"))
        file_id = await _file(env, alice, workspace_id, "lib.py", SOURCE)
        cid = await env.open(alice, bob)
        alice_events, bob_events = await env.socket(alice), await env.socket(bob)
        start = SOURCE.index(FUNCTION)
        ref = _ref(workspace_id, file_id, start, start + len(FUNCTION))

        send = {"type": "message.send", "ref": "r1", "conversation_id": cid, "client_id": "c1", "body": "See"}
        await alice_events.send({**send, "code_ref": ref})
        ack = await alice_events.wait_type("message.sent", ref="r1")
        assert ack["created"] is True and ack["message"]["code_ref"]["snippet"] == FUNCTION
        frame = await bob_events.wait_type("message", conversation_id=cid)
        assert frame["message"]["code_ref"]["snippet"] == FUNCTION and frame["message"]["code_ref"]["path"] == "lib.py"

        # A retry (same client_id, same message and reference) answers the stored message, unchanged.
        again = await _send(env, alice, cid, ref, client_id="c1", body="See", expect=200)
        assert again["id"] == ack["message"]["id"] and again["code_ref"]["snippet"] == FUNCTION
        assert [m["id"] for m in await env.messages(bob, cid)] == [again["id"]]
        # The same client_id with another reference is a different request.
        moved = _ref(workspace_id, file_id, start, start + 3)
        reused = await _send(env, alice, cid, moved, client_id="c1", body="See", expect=409)
        assert reused["error"]["code"] == "client_id_reused"
        # A retry is answered from the store even after the sender lost access to the file (as
        # they now see it: unavailable).
        bob_sent = await _send(env, bob, cid, ref, client_id="b1", body="Mine")
        assert bob_sent["code_ref"]["snippet"] == FUNCTION
        await env.call(alice, "DELETE", f"/api/workspaces/{workspace_id}/members/{bob.id}", expect=204)
        bob_again = await _send(env, bob, cid, ref, client_id="b1", body="Mine", expect=200)
        assert bob_again["id"] == bob_sent["id"] and bob_again["code_ref"] == {"available": False}
        await _send(env, bob, cid, ref, client_id="b2", body="Mine", expect=404)
        # A message without a reference has none.
        plain = await env.send(alice, cid, "no code here")
        assert plain["code_ref"] is None

        # Deleting the message for everyone drops the reference and its snippet.
        url = f"/api/conversations/{cid}/messages/{again['id']}"
        stub = (await env.call(alice, "DELETE", url, expect=200)).json()
        assert stub["deleted"] is True and stub["code_ref"] is None
        updated = await bob_events.wait_type("message.updated", conversation_id=cid)
        assert updated["message"]["code_ref"] is None
        rows = await env.services.db.fetch_all("SELECT message_id FROM message_code_refs")
        assert [row["message_id"] for row in rows] == [bob_sent["id"]]
