"""The accounts SQL on both databases: uniqueness, single use under concurrency, indexes, cleanup."""

from __future__ import annotations

import asyncio

import pytest

from collabcode.auth import store
from collabcode.db import Database, IntegrityViolation

NOW = 1_800_000_000_000


async def _user(db: Database, user_id: str, email: str, username: str) -> None:
    await store.insert_user(
        db,
        user_id=user_id,
        email=email,
        username=username,
        display_name=username,
        avatar_color="#475569",
        password_hash=None,
        role="member",
        email_verified=False,
        now=NOW,
    )


async def _session(db: Database, session_id: str, user_id: str) -> None:
    await store.insert_session(
        db, session_id=session_id, user_id=user_id, now=NOW, expires_at=NOW + 1000, ip="192.0.2.1", user_agent=""
    )


async def test_emails_and_usernames_are_unique(db: Database) -> None:
    await _user(db, "u1", "a@example.com", "alice")
    with pytest.raises(IntegrityViolation) as caught:
        await _user(db, "u2", "a@example.com", "other")
    assert caught.value.kind == "unique"
    with pytest.raises(IntegrityViolation):
        await _user(db, "u3", "b@example.com", "alice")
    assert (await store.user_by_login(db, "alice"))["id"] == "u1"  # type: ignore[index]
    assert (await store.user_by_login(db, "a@example.com"))["id"] == "u1"  # type: ignore[index]
    assert await store.count_users(db) == 1


async def test_a_refresh_token_is_claimed_once(db: Database) -> None:
    await _user(db, "u1", "a@example.com", "alice")
    await _session(db, "s1", "u1")
    await store.insert_refresh_token(db, token_id="t1", session_id="s1", token_hash="h1", parent_id=None, now=NOW)
    results = await asyncio.gather(
        *(store.claim_refresh_token(db, "t1", now=NOW, replaced_by=f"t{n}", grace_box="00") for n in range(2, 7))
    )
    assert sorted(results) == [0, 0, 0, 0, 1]


async def test_invites_cannot_be_used_beyond_their_count(db: Database) -> None:
    await store.insert_invite(
        db, invite_id="i1", token_hash="ih", created_by=None, now=NOW, expires_at=NOW + 10, max_uses=3
    )
    results = await asyncio.gather(*(store.use_invite(db, "ih", now=NOW) for _ in range(6)))
    assert sum(r is not None for r in results) == 3
    assert (await store.invite_by_id(db, "i1"))["uses"] == 3  # type: ignore[index]
    await store.insert_invite(
        db, invite_id="i2", token_hash="ih2", created_by=None, now=NOW, expires_at=NOW + 10, max_uses=3
    )
    assert await store.use_invite(db, "ih2", now=NOW + 10) is None  # expired


async def test_email_tokens_are_single_use_and_expire(db: Database) -> None:
    await _user(db, "u1", "a@example.com", "alice")
    for token_id, token_hash in (("e1", "eh1"), ("e2", "eh2")):
        await store.insert_email_token(
            db,
            token_id=token_id,
            user_id="u1",
            purpose="verify",
            email="a@example.com",
            token_hash=token_hash,
            now=NOW,
            expires_at=NOW + 100,
        )
    results = await asyncio.gather(*(store.consume_email_token(db, "eh1", purpose="verify", now=NOW) for _ in range(4)))
    assert sum(r is not None for r in results) == 1
    assert await store.consume_email_token(db, "eh2", purpose="reset", now=NOW) is None  # wrong purpose
    assert await store.consume_email_token(db, "eh2", purpose="verify", now=NOW + 100) is None  # expired


async def test_tickets_are_deleted_as_they_are_used(db: Database) -> None:
    await _user(db, "u1", "a@example.com", "alice")
    await _session(db, "s1", "u1")
    await store.insert_ticket(db, ticket_hash="th", session_id="s1", user_id="u1", now=NOW, expires_at=NOW + 30_000)
    assert (await store.consume_ticket(db, "th", now=NOW))["session_id"] == "s1"  # type: ignore[index]
    assert await store.consume_ticket(db, "th", now=NOW) is None


async def test_purge_removes_what_is_dead_and_cascades(db: Database) -> None:
    await _user(db, "u1", "a@example.com", "alice")
    await _session(db, "old", "u1")
    await _session(db, "live", "u1")
    await store.insert_refresh_token(db, token_id="t1", session_id="old", token_hash="h1", parent_id=None, now=NOW)
    await store.insert_ticket(db, ticket_hash="expired", session_id="live", user_id="u1", now=NOW, expires_at=NOW + 1)
    await store.revoke_session(db, "old", now=NOW, reason="logout")
    await store.purge(db, now=NOW + 10, grace_before=NOW, dead_before=NOW + 1)
    assert await store.session_by_id(db, "old") is None
    assert await store.refresh_token_by_hash(db, "h1") is None
    assert await store.session_by_id(db, "live") is not None
    assert await store.consume_ticket(db, "expired", now=NOW) is None


LOOKUPS = [
    ("users", "email"),
    ("users", "username"),
    ("sessions", "user_id"),
    ("refresh_tokens", "token_hash"),
    ("refresh_tokens", "session_id"),
    ("refresh_tokens", "replaced_by"),
    ("email_tokens", "token_hash"),
    ("email_tokens", "user_id"),
    ("invites", "token_hash"),
    ("setup_tokens", "token_hash"),
    ("ws_tickets", "ticket_hash"),
    ("ws_tickets", "session_id"),
]


async def test_every_lookup_column_leads_an_index(db: Database) -> None:
    if db.dialect == "sqlite":
        rows = await db.fetch_all(
            "SELECT m.tbl_name AS tbl, i.name AS col FROM sqlite_master m, pragma_index_info(m.name) i "
            "WHERE m.type = 'index' AND i.seqno = 0"
        )
    else:
        rows = await db.fetch_all(
            "SELECT t.relname AS tbl, a.attname AS col FROM pg_index x "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] "
            "WHERE n.nspname = current_schema()"
        )
    leading = {(row["tbl"], row["col"]) for row in rows}
    assert [pair for pair in LOOKUPS if pair not in leading] == []
