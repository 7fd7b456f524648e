"""The collaboration endpoint on a live server: handshake, permissions, limits, lifecycle."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from collabcode.collab.connection import SocketLimits
from collabcode.collab.sql_store import SqlDocumentStore
from collabcode.db import open_database
from tests.collab import text_of
from tests.collab.flaky import FlakyDatabase
from tests.collab.live import LiveApp, YClient, handshake_status, joined, token_for
from tests.fixtures_bus import eventually


async def connected(live: LiveApp, user: str, name: str | None = None, **params: str) -> YClient:
    return await joined(name or user, live.url(user, **params))


async def stored_text(live: LiveApp, expected: str, doc_id: str = "ws1/file1") -> str:
    """Wait until the server's copy reads ``expected``, flush, and return what is stored."""

    def applied() -> bool:
        room = live.collab.manager.loaded(doc_id)
        return room is not None and room.text == expected

    await eventually(applied, 5, f"the server's copy reads {expected!r}")
    await live.collab.manager.flush(doc_id)
    return text_of(await live.collab.store.load(doc_id))


def security_events(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


# --------------------------------------------------------------------------- handshake


async def test_refused_handshakes_are_http_403_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with LiveApp(tmp_path / "data") as live:
        live.rule.roles["mallory"] = "none"
        base = f"ws://127.0.0.1:{live.port}/ws/collab"
        assert await handshake_status(f"{base}/ws1/file1") == 403  # no credentials
        assert await handshake_status(f"{base}/ws1/file1?ticket=forged") == 403
        assert await handshake_status(live.url("alice", file="x" * 65)) == 403
        assert await handshake_status(live.url("alice", file="f%C3%A9")) == 403  # non-ASCII id
        assert await handshake_status(live.url("mallory")) == 403  # not allowed on this document
        # A Bearer header works as well as a ticket.
        client = await YClient("bearer").connect(
            f"{base}/ws1/file1", headers={"Authorization": f"Bearer {token_for('alice')}"}
        )
        await client.close()
    reasons = [getattr(r, "reason", None) for r in security_events(caplog, "ws.handshake_rejected")]
    assert reasons == ["invalid_ticket", "invalid_ticket", "invalid_document", "invalid_document", "forbidden"]
    assert security_events(caplog, "authz.denied")


async def test_without_an_authorization_rule_every_document_is_refused(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        delattr(live.app.state, "collab_authorizer")
        assert await handshake_status(live.url("alice")) == 403


async def test_too_many_connections_per_user_are_refused(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data", limits=SocketLimits(max_per_user=2)) as live:
        first = await connected(live, "alice", "first")
        second = await connected(live, "alice", "second", file="file2")
        assert await handshake_status(live.url("alice", file="file3")) == 403
        other = await connected(live, "bob")  # the cap is per user
        await first.close()
        await eventually(lambda: live.services.connections.count("collab") == 2, 10, "first socket gone")
        third = await connected(live, "alice", "third", file="file3")
        for client in (second, other, third):
            await client.close()


# --------------------------------------------------------------------------- editing and permissions


async def test_writers_converge_and_the_document_is_stored(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        alice = await connected(live, "alice")
        bob = await connected(live, "bob")
        alice.type("hello ")
        await bob.wait_text("hello ")
        bob.type("world")
        await alice.wait_text("hello world")
        assert await stored_text(live, "hello world") == "hello world"
        # Presence is stamped by the server with the authenticated identity.
        await bob.wait_for(lambda: bool(bob.remote_users()), "alice's presence")
        assert bob.remote_users() == [{"id": "alice", "name": "Alice Tester", "color": "#336699"}]
        await alice.close()
        await bob.close()


async def test_a_viewers_write_is_dropped_and_closed_with_1008(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with LiveApp(tmp_path / "data") as live:
        live.rule.roles["victor"] = "read"
        alice = await connected(live, "alice")
        alice.type("original")
        assert await stored_text(live, "original") == "original"
        viewer = await connected(live, "victor")
        assert str(viewer.text) == "original"  # viewers read
        viewer.type(" defaced")
        assert await viewer.wait_closed() == (1008, "read_only")
        assert await stored_text(live, "original") == "original"
        assert str(alice.text) == "original"
        assert security_events(caplog, "ws.closed")
        alice.type("!")  # the writer is unaffected
        assert await stored_text(live, "original!") == "original!"
        await alice.close()


async def test_a_downgrade_stops_writes_within_the_recheck(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data", limits=SocketLimits(recheck_seconds=0.3)) as live:
        alice = await connected(live, "alice")
        alice.type("draft")
        assert await stored_text(live, "draft") == "draft"
        calls = live.rule.calls
        live.rule.roles["alice"] = "read"
        took = await eventually(lambda: live.rule.calls > calls, 5, "a permission re-check")
        assert took < 5
        alice.type(" after downgrade")
        assert await alice.wait_closed() == (1008, "read_only")
        assert await stored_text(live, "draft") == "draft"


async def test_losing_access_closes_with_1008(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data", limits=SocketLimits(recheck_seconds=0.3)) as live:
        alice = await connected(live, "alice")
        live.rule.roles["alice"] = "none"
        assert await alice.wait_closed(timeout=5) == (1008, "access_revoked")


async def test_a_revoked_session_is_closed_with_4401_within_5_seconds(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:  # default limits: the production re-check period
        alice = await connected(live, "alice")
        revoked_at = time.monotonic()
        live.auth.revoked.add("session-alice")
        assert await alice.wait_closed(timeout=6) == (4401, "session_revoked")
        assert time.monotonic() - revoked_at < 5


async def test_revocation_through_the_connection_registry_is_immediate(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        alice = await connected(live, "alice")
        bob = await connected(live, "bob")
        registry = live.services.connections
        assert registry.count("collab") == 2
        closed = await registry.close_where(lambda s: s.session_id == "session-alice", 4401, "session_revoked")
        assert closed == 1
        assert await alice.wait_closed(timeout=2) == (4401, "session_revoked")
        bob.type("still here")
        assert await stored_text(live, "still here") == "still here"
        await bob.close()


# --------------------------------------------------------------------------- limits


async def test_an_oversized_frame_is_closed_with_1009(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        alice = await connected(live, "alice")
        await alice.send_raw(b"\x00\x02" + b"\x00" * (SocketLimits().max_message_bytes))
        assert await alice.wait_closed() == (1009, "message_too_large")


async def test_a_flood_is_closed_with_4429_and_a_retry_time(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        alice = await connected(live, "alice")
        empty_awareness = b"\x01\x01\x00"
        for _ in range(SocketLimits().message_burst + 50):
            try:
                await alice.send_raw(empty_awareness)
            except Exception:
                break
        code, reason = await alice.wait_closed()
        assert code == 4429
        assert reason.startswith("rate_limited:") and int(reason.split(":")[1]) >= 1


async def test_text_frames_are_refused_with_1003(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        alice = await connected(live, "alice")
        await alice.send_raw("hello")
        assert await alice.wait_closed() == (1003, "binary_only")


async def test_saved_receipts_only_for_clients_that_ask(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        ours = await connected(live, "alice", saved="1")
        stock = await connected(live, "bob")
        ours.type("ab")
        await ours.wait_for(lambda: bool(ours.saved) and ours.saved[-1] >= ours.sent_updates, "saved receipt")
        await stock.wait_text("ab")
        stock.type("c")
        await ours.wait_text("abc")
        assert await stored_text(live, "abc") == "abc"
        assert stock.saved == []
        await ours.close()
        await stock.close()


# --------------------------------------------------------------------------- lifecycle


async def test_metrics_count_sockets_rooms_and_updates(tmp_path: Path) -> None:
    async with LiveApp(tmp_path / "data") as live:
        alice = await connected(live, "alice")
        for char in "xyz":
            alice.type(char)
        await stored_text(live, "xyz")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}") as http:
            body = (await http.get("/metrics")).text
        assert 'collabcode_websockets_open{endpoint="collab"} 1.0' in body
        assert "collabcode_collab_rooms_loaded 1.0" in body
        applied = next(line for line in body.splitlines() if line.startswith("collabcode_collab_updates_applied_total"))
        assert float(applied.split()[-1]) >= 3
        assert "collabcode_collab_store_commits_total" in body
        await alice.close()


async def test_shutdown_closes_with_1001_and_flushes(tmp_path: Path) -> None:
    live = LiveApp(tmp_path / "data")
    async with live:
        live.collab.store.window_seconds = 60.0  # nothing would reach the database on its own
        alice = await connected(live, "alice")
        bob = await connected(live, "bob")
        alice.type("unsaved at shutdown")
        await bob.wait_text("unsaved at shutdown")  # the server has applied it
        assert live.collab.store.stats()["commits_total"] == 0
        await live.stop()
        assert await alice.wait_closed() == (1001, "going_away")
        assert await bob.wait_closed() == (1001, "going_away")
    db = open_database(live.settings.resolved_database_url)
    await db.connect()
    try:
        assert text_of(await SqlDocumentStore(db).load("ws1/file1")) == "unsaved at shutdown"
    finally:
        await db.close()


async def test_a_database_outage_keeps_editing_live_and_saves_afterwards(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    real = open_database(f"sqlite:///{data_dir / 'collabcode.db'}")
    await real.connect()
    flaky = FlakyDatabase(real)
    try:
        async with LiveApp(data_dir, db=flaky) as live:  # type: ignore[arg-type]
            alice = await connected(live, "alice")
            bob = await connected(live, "bob")
            flaky.down = True
            alice.type("typed while the database is down")
            await bob.wait_text("typed while the database is down")
            await eventually(lambda: live.collab.store.stats()["commit_failures_total"] >= 1, 10, "a failed commit")
            # Joining needs the database: refused with 1013 (try again later), nothing crashes.
            late = await YClient("late").connect(live.url("carol", file="other"))
            assert await late.wait_closed() == (1013, "unavailable")
            flaky.down = False
            await eventually(lambda: live.collab.store.stats()["appends_total"] >= 1, 5, "the sweep retried the save")
            assert await stored_text(live, "typed while the database is down") == "typed while the database is down"
            await alice.close()
            await bob.close()
    finally:
        await real.close()


def test_the_server_pings_sockets_so_dead_peers_are_dropped(tmp_path: Path) -> None:
    config = LiveApp(tmp_path / "data").server.config  # the server `collabcode serve` builds
    assert config.ws_ping_interval is not None and 0 < config.ws_ping_interval <= 30
    assert config.ws_ping_timeout is not None and 0 < config.ws_ping_timeout <= 30
    # Frames up to our own limit reach the app, which closes larger ones with its own reason.
    assert config.ws_max_size > SocketLimits().max_message_bytes
