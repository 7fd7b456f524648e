"""``collabcode admin export-user``: a user's own data, and nobody else's private data."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from collabcode.auth import store as auth_store
from collabcode.chat import store as chat_store
from collabcode.db import Database
from collabcode.export import UnknownUser, export_user, section, section_names
from collabcode.workspaces import store as ws_store

NOW = 1_790_000_000_000
ALICE, BOB, CAROL = "a" * 32, "b" * 32, "c" * 32

#: Strings that belong to Bob (or are secrets) and must never appear in Alice's export.
NOT_ALICES = [
    "bob@example.com",
    "203.0.113.9",  # Bob's session IP
    "bob-session",
    "bob private reply text",  # Bob's message to Alice: she gets its id, not its text
    "bob secret to carol",
    "bob private snippet",  # code Bob attached to his message
    "bob-carol-message",  # not even the id of a message in a conversation she is not in
    "bobhint",
    "bob private ws",
    "secret/plan.txt",
    "bob-file",
    "Bob's bio",
    "$2b$12$alicepasswordhash",  # password hashes
    "alice-refresh-token-hash",  # token hashes
    "alice-phone-keyed-hash",  # the phone number's keyed hash
    "bob-call-with-carol",
    "2026-01-02",  # Bob's assistant usage day
]


async def seed(db: Database) -> None:
    for user_id, name, bio in ((ALICE, "alice", "Alice's bio"), (BOB, "bob", "Bob's bio"), (CAROL, "carol", "")):
        await auth_store.insert_user(
            db,
            user_id=user_id,
            email=f"{name}@example.com",
            username=name,
            display_name=name.title(),
            avatar_color="#336699",
            password_hash=f"$2b$12${name}passwordhash",
            role="member",
            email_verified=True,
            now=NOW,
        )
        await db.execute("UPDATE users SET bio = ? WHERE id = ?", (bio, user_id))
    for session_id, user_id, ip in (("alice-session", ALICE, "198.51.100.1"), ("bob-session", BOB, "203.0.113.9")):
        await auth_store.insert_session(
            db, session_id=session_id, user_id=user_id, now=NOW, expires_at=NOW + 10**9, ip=ip, user_agent="Firefox"
        )
    await auth_store.insert_refresh_token(
        db, token_id="rt1", session_id="alice-session", token_hash="alice-refresh-token-hash", parent_id=None, now=NOW
    )
    await auth_store.insert_invite(
        db, invite_id="alice-invite", token_hash="invite-hash", created_by=ALICE, now=NOW, expires_at=NOW + 1,
        max_uses=3,
    )
    # chat: Alice and Bob talk; Bob and Carol talk; Alice blocks Carol; Bob blocks Alice.
    async with db.transaction("seed") as tx:
        await chat_store.insert_conversation(
            tx, conversation_id="conv-ab", user_a=ALICE, user_b=BOB, created_by=ALICE, now=NOW
        )
        await chat_store.insert_conversation(
            tx, conversation_id="conv-bc", user_a=BOB, user_b=CAROL, created_by=BOB, now=NOW
        )
        sent = [
            ("alice-message", "conv-ab", 1, ALICE, "hello bob from alice", NOW),
            ("bob-reply", "conv-ab", 2, BOB, "bob private reply text", NOW + 1),
            ("bob-carol-message", "conv-bc", 1, BOB, "bob secret to carol", NOW),
        ]
        await chat_store.insert_messages(
            tx,
            [chat_store.Message(m, c, seq, by, m, m, body, at, None, None) for m, c, seq, by, body, at in sent],
        )
    await db.execute_many(
        "INSERT INTO message_code_refs (message_id, workspace_id, file_id, anchor_start, anchor_end, snippet, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            ("alice-message", "ws-alice", "alice-file", b"\x01", b"\x02", "def alice_code(): pass", 7),
            ("bob-reply", "ws-alice", "bob-file", b"\x01", b"\x02", "bob private snippet", 3),
        ],
    )
    await chat_store.block(db, ALICE, CAROL, NOW)
    await chat_store.block(db, BOB, ALICE, NOW)
    await chat_store.save_settings(
        db, ALICE, chat_store.Settings(True, True, "alice-phone-keyed-hash", "•• 42"), NOW
    )
    await chat_store.save_settings(db, BOB, chat_store.Settings(True, True, "bob-phone-keyed-hash", "bobhint"), NOW)
    # workspaces: Alice's, with Bob as editor; Bob's own private one.
    await ws_store.insert_workspace(db, workspace_id="ws-alice", name="alice ws", created_by=ALICE, now=NOW)
    await ws_store.insert_member(db, "ws-alice", ALICE, "owner", NOW)
    await ws_store.insert_member(db, "ws-alice", BOB, "editor", NOW)
    await ws_store.insert_workspace(db, workspace_id="ws-bob", name="bob private ws", created_by=BOB, now=NOW)
    await ws_store.insert_member(db, "ws-bob", BOB, "owner", NOW)
    await ws_store.insert_entries(
        db,
        [
            ("alice-file", "ws-alice", "src/a.py", "src/a.py", "file", 10, ALICE, NOW),
            ("bob-file", "ws-alice", "src/b.py", "src/b.py", "file", 10, BOB, NOW),
            ("bob-secret", "ws-bob", "secret/plan.txt", "secret/plan.txt", "file", 10, BOB, NOW),
        ],
    )
    await db.execute(
        "INSERT INTO documents (id, head_seq, created_at, updated_at) VALUES ('ws-alice/alice-file', 3, ?, ?)",
        (NOW, NOW),
    )
    await db.execute_many(
        "INSERT INTO doc_history (doc_id, seq, part, author_id, via, authors, created_at, data) "
        "VALUES ('ws-alice/alice-file', ?, 0, ?, NULL, NULL, ?, ?)",
        [(1, ALICE, NOW, b"\x00"), (2, ALICE, NOW + 5, b"\x00"), (3, BOB, NOW + 9, b"\x00")],
    )
    await db.execute(
        "INSERT INTO doc_comments (id, workspace_id, file_id, author_id, body, anchor_start, anchor_end, snippet, seq, "
        "created_at, updated_at) VALUES ('alice-comment', 'ws-alice', 'alice-file', ?, 'alice comment', ?, ?, 'x = 1', "
        "1, ?, ?)",
        (ALICE, b"\x01", b"\x02", NOW, NOW),
    )
    # social, calls, assistant
    await db.execute_many(
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)",
        [(ALICE, BOB, NOW), (CAROL, ALICE, NOW), (BOB, CAROL, NOW)],
    )
    await db.execute(
        "INSERT INTO user_avatars (user_id, id, content_type, width, height, data, created_at) "
        "VALUES (?, 'av1', 'image/webp', 2, 2, ?, ?)",
        (ALICE, b"RIFFavatar", NOW),
    )
    for call_id, caller, callee in (("alice-call", ALICE, BOB), ("bob-call-with-carol", BOB, CAROL)):
        await db.execute(
            "INSERT INTO calls (id, kind, media, caller_id, conversation_id, workspace_id, live_key, state, version, "
            "created_at, ring_until, answered_at, ended_at, end_reason) "
            "VALUES (?, 'direct', 'audio', ?, NULL, NULL, NULL, 'ended', 3, ?, ?, ?, ?, 'hangup')",
            (call_id, caller, NOW, NOW + 30_000, NOW + 2000, NOW + 60_000),
        )
        await db.execute_many(
            "INSERT INTO call_participants (call_id, user_id, role, state, invited_at, joined_at, left_at) "
            "VALUES (?, ?, ?, 'left', ?, ?, ?)",
            [(call_id, caller, "caller", NOW, NOW, NOW + 60_000), (call_id, callee, "callee", NOW, NOW, NOW + 60_000)],
        )
    await db.execute_many(
        "INSERT INTO ai_usage (day, user_id, requests, tokens, updated_at) VALUES (?, ?, ?, ?, ?)",
        [("2026-11-25", ALICE, 3, 1000, NOW), ("2026-01-02", BOB, 9, 9999, NOW)],
    )


async def test_export_holds_alices_data_and_none_of_bobs_private_data(db: Database) -> None:
    await seed(db)
    data = await export_user(db, ALICE, now_ms=NOW)
    text = json.dumps(data)

    assert data["format"] == "collabcode-user-export" and data["user_id"] == ALICE
    assert set(section_names()) <= set(data)
    account = data["account"]
    assert account["profile"]["email"] == "alice@example.com"
    assert account["profile"]["bio"] == "Alice's bio"
    assert account["profile"]["has_password"] is True
    assert account["profile"]["created_at"] == "2026-09-21T14:13:20.000Z"
    assert [s["id"] for s in account["sessions"]] == ["alice-session"]
    assert account["sessions"][0]["ip"] == "198.51.100.1"
    assert [i["id"] for i in account["invites_created"]] == ["alice-invite"]

    chat = data["chat"]
    assert [(c["id"], c["peer_username"]) for c in chat["conversations"]] == [("conv-ab", "bob")]
    assert [(m["id"], m["body"]) for m in chat["messages_sent"]] == [("alice-message", "hello bob from alice")]
    assert chat["messages_sent"][0]["code_ref"] == {
        "workspace_id": "ws-alice",
        "file_id": "alice-file",
        "version": 7,
        "snippet": "def alice_code(): pass",
    }
    received = {"id": "bob-reply", "conversation_id": "conv-ab", "seq": 2, "sender_id": BOB}
    assert chat["messages_received"] == [{**received, "created_at": "2026-09-21T14:13:20.001Z"}]
    assert [b["username"] for b in chat["blocked"]] == ["carol"]  # not that Bob blocked her
    assert chat["settings"]["phone_hint"] == "•• 42" and chat["settings"]["phone_on_file"] is True

    workspaces = data["workspaces"]
    assert [(w["id"], w["role"], w["created_by_me"]) for w in workspaces["memberships"]] == [
        ("ws-alice", "owner", True)
    ]
    assert [e["path"] for e in workspaces["entries_created"]] == ["src/a.py"]
    assert workspaces["comments"][0]["body"] == "alice comment"
    assert workspaces["document_edits"] == [
        {
            "doc_id": "ws-alice/alice-file",
            "changes": 2,
            "first_at": "2026-09-21T14:13:20.000Z",
            "last_at": "2026-09-21T14:13:20.005Z",
        }
    ]

    social = data["social"]
    assert [f["username"] for f in social["following"]] == ["bob"]
    assert [f["username"] for f in social["followers"]] == ["carol"]
    assert social["avatar"]["data_base64"] == "UklGRmF2YXRhcg=="
    assert [(c["id"], c["other_participants"]) for c in data["calls"]["calls"]] == [("alice-call", [BOB])]
    assert data["assistant"]["usage_per_day"] == [{"day": "2026-11-25", "requests": 3, "tokens": 1000}]

    leaked = [value for value in NOT_ALICES if value in text]
    assert not leaked, f"Alice's export holds others' private data or secrets: {leaked}"
    assert "password_hash" not in text and "token_hash" not in text and "phone_hash" not in text


async def test_bobs_export_sees_his_side_only(db: Database) -> None:
    await seed(db)
    text = json.dumps(await export_user(db, BOB, now_ms=NOW))
    assert "bob private reply text" in text and "bob secret to carol" in text
    assert "hello bob from alice" not in text  # Alice wrote it
    assert "alice-session" not in text and "198.51.100.1" not in text and "•• 42" not in text
    assert "alice ws" in text  # he is a member of it


async def test_unknown_user_is_refused(db: Database) -> None:
    with pytest.raises(UnknownUser):
        await export_user(db, "nobody", now_ms=NOW)


def test_a_section_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        section("chat")(lambda db, user_id: None)  # type: ignore[arg-type, return-value]


def run_cli(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collabcode", *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLLABCODE_BCRYPT_ROUNDS": "4"},
    )


def test_cli_writes_a_private_file_and_never_overwrites(tmp_path: Path) -> None:
    data = ("--data-dir", str(tmp_path / "data"))
    created = run_cli(
        "admin", "users", "create", "alice@example.com", "--username", "alice", "--password-stdin", *data,
        input_text="correct horse battery staple\n",
    )
    assert created.returncode == 0, created.stderr
    target = tmp_path / "alice.json"
    exported = run_cli("admin", "export-user", "alice@example.com", "--output", str(target), *data)
    assert exported.returncode == 0, exported.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    body = json.loads(target.read_text("utf-8"))
    assert body["account"]["profile"]["username"] == "alice"
    assert "$2b$" not in target.read_text("utf-8")
    again = run_cli("admin", "export-user", "alice", "--output", str(target), *data)
    assert again.returncode == 2 and "already exists" in again.stderr
    to_stdout = run_cli("admin", "export-user", "alice", *data)
    assert to_stdout.returncode == 0 and json.loads(to_stdout.stdout)["user_id"] == body["user_id"]
    missing = run_cli("admin", "export-user", "nobody", *data)
    assert missing.returncode == 1 and "No user" in missing.stderr and "Traceback" not in missing.stderr
