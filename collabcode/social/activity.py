"""What people are doing: the live "editing app.py" view, and the stored workspace event log.

**Live activity.** Every process knows which documents its own collaboration sockets have open
(:meth:`collabcode.collab.connection.SocketHub.open_documents`). :class:`LiveTracker` looks every
:data:`SCAN_SECONDS` and keeps one row per user and process in ``live_activity`` (the document the
user opened most recently on this process), removing it as soon as the socket is gone and
renewing it every :data:`RENEW_SECONDS`; a row a process stopped renewing (it died) expires after
:data:`LIVE_TTL_SECONDS`. Every process reads the same table, so the view is cluster-wide on
SQLite (one process) and on PostgreSQL. The first sight of a socket also records the file in
the user's recently opened files. Whether a viewer may see a row is decided when it is read.

**Activity log.** :class:`ActivityLog` turns workspace events into feed items, on the process
that made the change (``WorkspaceEvents.on_change`` runs once per change cluster-wide, with the
user who made it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from collabcode.clock import Clock, now_ms
from collabcode.db import Database
from collabcode.social import store

log = logging.getLogger(__name__)

SCAN_SECONDS = 2.0
RENEW_SECONDS = 10.0
LIVE_TTL_SECONDS = 30.0
#: Recently opened files kept per user.
RECENT_KEEP = 50
#: Feed items older than this are deleted.
ACTIVITY_RETENTION_DAYS = 90
#: Entries of one tree change kept in a feed item (``count`` says how many there were).
MAX_ITEM_ENTRIES = 20
_HOUSEKEEPING_SECONDS = 60.0

Documents = Callable[[], list[tuple[str, str, str]]]


class LiveTracker:
    """This process's share of ``live_activity`` and of recently opened files."""

    def __init__(self, db: Database, clock: Clock, documents: Documents) -> None:
        self._db = db
        self._clock = clock
        self._documents = documents
        self.process_id = uuid.uuid4().hex
        self._first_seen: dict[tuple[str, str, str], int] = {}
        self._written: dict[str, tuple[str, str, int]] = {}
        self._renewed_at = 0
        self._housekeeping_at = 0

    def stats(self) -> dict[str, float]:
        """Open documents and users this process tracks (``/metrics``; 0 a scan after everyone left)."""
        return {"documents": float(len(self._first_seen)), "users": float(len(self._written))}

    async def scan(self) -> None:
        """Bring the table in line with the sockets open now (one pass)."""
        now = now_ms(self._clock)
        current = set(self._documents())
        for key in [k for k in self._first_seen if k not in current]:
            del self._first_seen[key]
        for key in current:
            if key not in self._first_seen:
                self._first_seen[key] = now
                await self._record_open(*key, now)
        latest: dict[str, tuple[str, str, int]] = {}
        for (user_id, workspace_id, file_id), seen in self._first_seen.items():
            best = latest.get(user_id)
            if best is None or seen > best[2] or (seen == best[2] and file_id > best[1]):
                latest[user_id] = (workspace_id, file_id, seen)
        expires = now + int(LIVE_TTL_SECONDS * 1000)
        gone = [user_id for user_id in self._written if user_id not in latest]
        if gone:
            await store.clear_live(self._db, self.process_id, gone)
            for user_id in gone:
                del self._written[user_id]
        for user_id, doc in latest.items():
            if self._written.get(user_id) != doc:
                await store.set_live(self._db, user_id, self.process_id, doc[0], doc[1], doc[2], expires)
                self._written[user_id] = doc
        if now - self._renewed_at >= RENEW_SECONDS * 1000:
            self._renewed_at = now
            await store.renew_live(self._db, self.process_id, expires)
        if now - self._housekeeping_at >= _HOUSEKEEPING_SECONDS * 1000:
            self._housekeeping_at = now
            await store.prune_live(self._db, now)
            await store.prune_activity(self._db, now - ACTIVITY_RETENTION_DAYS * 86400 * 1000)

    async def _record_open(self, user_id: str, workspace_id: str, file_id: str, now: int) -> None:
        try:
            if await store.record_open(self._db, user_id, workspace_id, file_id, now):
                await store.trim_recent_files(self._db, user_id, RECENT_KEEP)
        except Exception:
            log.warning("recent file not recorded user=%s", user_id, exc_info=True)

    async def run(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                log.warning("live activity scan failed", exc_info=True)
                self._written.clear()  # write everything again on the next pass
            await asyncio.sleep(SCAN_SECONDS)

    async def close(self) -> None:
        try:
            await store.clear_process(self._db, self.process_id)
        except Exception:
            log.warning("live activity rows not removed at shutdown", exc_info=True)


def _leaves(created: Sequence[dict[str, Any]], everything: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Created entries that are not a parent folder of another entry of the change (those folders
    were made on the way: for a new file, or for the new place of a moved one)."""
    paths = [str(c.get("path", "")) for c in everything]
    return [c for c in created if not any(p.startswith(str(c.get("path", "")) + "/") for p in paths)]


def _roots(changes: Sequence[dict[str, Any]], key: str = "path") -> list[dict[str, Any]]:
    """Moved or deleted entries that are not inside another one of the same change."""
    paths = [str(c.get(key, "")) for c in changes]
    return [c for c in changes if not any(str(c.get(key, "")).startswith(p + "/") for p in paths)]


def _entry(change: dict[str, Any]) -> dict[str, Any]:
    entry = {"id": str(change.get("id", "")), "path": str(change.get("path", "")), "kind": str(change.get("kind", ""))}
    if "old_path" in change:
        entry["old_path"] = str(change["old_path"])
    return entry


def items_for(
    event: dict[str, Any], actor: str | None, member_row: tuple[int, int] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Feed items (kind, data) for one workspace event; ``member_row`` is the member's (created, updated)."""
    kind = event.get("type")
    if kind == "tree.changed":
        changes = [c for c in event.get("changes") or [] if isinstance(c, dict)]
        groups = (
            ("file.created", _leaves([c for c in changes if c.get("op") == "created"], changes)),
            ("file.renamed", _roots([c for c in changes if c.get("op") == "moved"], "old_path")),
            ("file.deleted", _roots([c for c in changes if c.get("op") == "deleted"])),
        )
        return [
            (name, {"entries": [_entry(c) for c in group[:MAX_ITEM_ENTRIES]], "count": len(group)})
            for name, group in groups
            if group
        ]
    if kind == "members.changed":
        user_id = str(event.get("user_id", ""))
        role = event.get("role")
        if role is None:
            return [("member.left" if actor == user_id else "member.removed", {"user_id": user_id})]
        if member_row is not None and member_row[0] == member_row[1]:
            return [("member.added", {"user_id": user_id, "role": str(role)})]
        return [("member.role_changed", {"user_id": user_id, "role": str(role)})]
    if kind == "workspace.updated":
        return [("workspace.renamed", {"name": str(event.get("name", ""))})]
    return []


class ActivityLog:
    """Stores feed items for workspace events (hooked to ``WorkspaceEvents.on_change``)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def on_change(self, event: dict[str, Any], actor: str | None) -> None:
        workspace_id = str(event.get("workspace_id", ""))
        member_row = None
        if event.get("type") == "members.changed" and event.get("role") is not None:
            member_row = await store.member_since(self._db, workspace_id, str(event.get("user_id", "")))
        items = items_for(event, actor, member_row)
        if not items:
            return
        now = now_ms(self._clock)
        rows = [
            (
                uuid.uuid4().hex,
                workspace_id,
                actor,
                kind,
                json.dumps(data, separators=(",", ":"), ensure_ascii=False),
                now,
            )
            for kind, data in items
        ]
        await store.insert_activity(self._db, rows)
