"""File history, authorship and anchored comments: the rules behind the history API.

Visibility is the workspaces API's: a file (or workspace) the caller is not a member of, or that
is not in that workspace, is :class:`~collabcode.errors.NotFound`; readers (every role) read
history, authorship and comments and may comment; writers (owners, editors) restore and add
checkpoints. Versions are the document's stored sequence numbers (see docs/history.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pycrdt

from collabcode.auth.identity import Identity
from collabcode.clock import Clock, now_ms
from collabcode.collab.protocol import ProtocolError
from collabcode.collab.room import TEXT_NAME, Room
from collabcode.collab.rooms import PersistenceError, change_via
from collabcode.collab.service import CollabService, document_id
from collabcode.db import Database, Row
from collabcode.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from collabcode.history import anchors, replay
from collabcode.history import store as history_store
from collabcode.history.edits import minimal_edits
from collabcode.ratelimit import Rate, RateLimiter
from collabcode.workspaces import store as workspace_store

if TYPE_CHECKING:
    from collections.abc import Iterator

    from collabcode.realtime.hub import EventsHub

log = logging.getLogger(__name__)

SERVICE_KEY: Final = "history"
FRAME_TYPE: Final = "workspace.event"
_ID: Final = re.compile(r"^[0-9a-f]{32}$")
WRITER_ROLES: Final = frozenset({"owner", "editor"})
#: Comments kept per file (a hard bound on what one listing resolves).
MAX_COMMENTS_PER_FILE: Final = 1000
#: History pages hold at most this many versions.
MAX_PAGE: Final = 200
#: Checkpoints one listing returns (the newest).
MAX_CHECKPOINTS_LISTED: Final = 500
#: Per user: comments, checkpoints and restores (``burst`` at once, then one every ``per`` s).
RATES: Final = {
    "history_comment": Rate(burst=20, per=3.0),
    "history_checkpoint": Rate(burst=20, per=3.0),
    "history_restore": Rate(burst=10, per=6.0),
}


@dataclass(frozen=True, slots=True)
class HistoryLimits:
    retention_days: int = 30
    idle_checkpoint_seconds: int = 120


class HistoryService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        collab: CollabService,
        hub: EventsHub | None,
        limits: HistoryLimits,
        trailer_host: str,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.db = db
        self.limiter = limiter
        self.clock = clock
        self.collab = collab
        self.hub = hub
        self.limits = limits
        self._trailer_host = trailer_host

    # ------------------------------------------------------------------ access

    async def _file(self, identity: Identity, workspace_id: str, file_id: str, *, write: bool = False) -> str:
        """The document id of a file the caller may read (and write); NotFound / Forbidden."""
        if not (_ID.fullmatch(workspace_id) and _ID.fullmatch(file_id)):
            raise NotFound()
        role = await workspace_store.file_access(self.db, workspace_id, file_id, identity.user_id)
        if role is None:
            raise NotFound()
        if write and role not in WRITER_ROLES:
            raise Forbidden("Viewers can read a file's history but not change the file.")
        return document_id(workspace_id, file_id)

    async def _limit(self, bucket: str, identity: Identity) -> None:
        if self.limiter is None:
            return
        decision = await self.limiter.hit(bucket, identity.user_id, RATES[bucket])
        if not decision.allowed:
            raise RateLimited(decision.retry_after)

    async def _workspace(self, identity: Identity, workspace_id: str) -> None:
        if not _ID.fullmatch(workspace_id):
            raise NotFound()
        if await workspace_store.member_role(self.db, workspace_id, identity.user_id) is None:
            raise NotFound()

    async def _flush(self, doc_id: str) -> None:
        """Store what the live document holds, so history includes every edit made so far."""
        try:
            await self.collab.manager.flush(doc_id)
        except PersistenceError:
            raise ServiceUnavailable("The file's latest edits cannot be saved right now; try again shortly.") from None

    async def _people(self, user_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows = await history_store.users(self.db, sorted(set(user_ids)))
        return {
            user_id: {
                "id": user_id,
                "username": str(row["username"]),
                "display_name": str(row["display_name"]),
                "color": str(row["avatar_color"]),
            }
            for user_id, row in rows.items()
        }

    @staticmethod
    def _person(people: dict[str, dict[str, Any]], user_id: str | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        return people.get(user_id, {"id": user_id, "username": None, "display_name": "Former user", "color": None})

    # ------------------------------------------------------------------ timeline and versions

    async def timeline(
        self, identity: Identity, workspace_id: str, file_id: str, *, before: int | None, limit: int
    ) -> dict[str, Any]:
        doc_id = await self._file(identity, workspace_id, file_id)
        await self._flush(doc_id)
        limit = max(1, min(limit, MAX_PAGE))
        rows = await history_store.versions_page(self.db, doc_id, before=before, limit=limit)
        by_seq: dict[int, list[Row]] = {}
        for row in rows:
            by_seq.setdefault(int(row["seq"]), []).append(row)
        marks: dict[int, list[Row]] = {}
        if by_seq:
            for checkpoint in await history_store.checkpoints(self.db, doc_id, low=min(by_seq), high=max(by_seq)):
                marks.setdefault(int(checkpoint["seq"]), []).append(checkpoint)
        ids = [str(r["author_id"]) for r in rows if r["author_id"] is not None]
        ids += [str(a) for r in rows if r["authors"] for a in json.loads(str(r["authors"]))]
        ids += [str(c["created_by"]) for cs in marks.values() for c in cs if c["created_by"] is not None]
        people = await self._people(ids)
        versions = []
        for seq, parts in by_seq.items():
            authors: list[dict[str, Any]] = []
            seen: set[tuple[str | None, str | None]] = set()
            for part in parts:
                attribution = replay.Attribution.of(part)
                for user_id in (attribution.author_id,) if attribution.author_id else attribution.authors:
                    if (user_id, attribution.via) not in seen:
                        seen.add((user_id, attribution.via))
                        authors.append({"user": self._person(people, user_id), "via": attribution.via})
            versions.append(
                {
                    "version": seq,
                    "at": max(int(p["created_at"]) for p in parts),
                    "authors": authors,
                    "merged": any(p["authors"] is not None for p in parts),
                    "checkpoints": [
                        {
                            "id": str(c["id"]),
                            "name": str(c["name"]) or None,
                            "automatic": not str(c["name"]),
                            "created_by": self._person(people, c["created_by"]),
                            "at": int(c["created_at"]),
                        }
                        for c in marks.get(seq, [])
                    ],
                }
            )
        head = await history_store.head(self.db, doc_id)
        return {
            "file_id": file_id,
            "head": head[0] if head else None,
            "versions": versions,
            "next_before": min(by_seq) if len(by_seq) == limit else None,
        }

    async def _text_at(self, doc_id: str, version: int) -> tuple[str, int]:
        if not await history_store.has_version(self.db, doc_id, version):
            raise NotFound()  # never stored, or merged into a checkpoint by retention
        rows = await history_store.history_rows(self.db, doc_id, upto=version)
        at = max(int(r["created_at"]) for r in rows if int(r["seq"]) == version)
        try:
            # Replaying is CPU work that grows with the history: off the event loop.
            return await asyncio.to_thread(_text_of_rows, rows), at
        except replay.HistoryCorrupt:
            log.error("history of doc=%s does not decode", doc_id)
            raise ServiceUnavailable("This file's history cannot be read.") from None

    async def version(self, identity: Identity, workspace_id: str, file_id: str, version: int) -> dict[str, Any]:
        doc_id = await self._file(identity, workspace_id, file_id)
        text, at = await self._text_at(doc_id, version)
        return {"file_id": file_id, "version": version, "at": at, "text": text}

    async def diff(
        self, identity: Identity, workspace_id: str, file_id: str, old: int, new: int | None
    ) -> dict[str, Any]:
        doc_id = await self._file(identity, workspace_id, file_id)
        old_text, _ = await self._text_at(doc_id, old)
        if new is None:
            new_text, new_label = await self.collab.text(workspace_id, file_id), "current"
        else:
            new_text, new_label = (await self._text_at(doc_id, new))[0], f"version {new}"
        return {
            "file_id": file_id,
            "from": old,
            "to": new,
            "diff": replay.unified_diff(old_text, new_text, f"version {old}", new_label),
        }

    # ------------------------------------------------------------------ checkpoints and restore

    async def checkpoint(self, identity: Identity, workspace_id: str, file_id: str, name: str) -> dict[str, Any]:
        doc_id = await self._file(identity, workspace_id, file_id, write=True)
        name = name.strip()
        if not name or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ValidationFailed(
                "Give the checkpoint a name of printable characters.", details={"field": "name", "rule": "blank"}
            )
        await self._limit("history_checkpoint", identity)
        await self._flush(doc_id)
        head = await history_store.head(self.db, doc_id)
        if head is None:
            raise Conflict("This file has no history yet: edit it first.", code="no_history")
        checkpoint_id = uuid.uuid4().hex
        now = now_ms(self.clock)
        added = await history_store.add_checkpoint(
            self.db,
            checkpoint_id=checkpoint_id,
            doc_id=doc_id,
            seq=head[0],
            name=name,
            user_id=identity.user_id,
            now=now,
        )
        if not added:
            raise Conflict("This version already has a checkpoint of that name.", code="checkpoint_exists")
        body = {"id": checkpoint_id, "version": head[0], "name": name, "at": now}
        await self._announce(workspace_id, {"type": "history.checkpoint", "file_id": file_id, "checkpoint": body})
        return body

    async def list_checkpoints(self, identity: Identity, workspace_id: str, file_id: str) -> list[dict[str, Any]]:
        """The file's newest checkpoints (named and automatic), newest first."""
        doc_id = await self._file(identity, workspace_id, file_id)
        rows = await history_store.newest_checkpoints(self.db, doc_id, MAX_CHECKPOINTS_LISTED)
        people = await self._people([str(r["created_by"]) for r in rows if r["created_by"] is not None])
        return [
            {
                "id": str(row["id"]),
                "version": int(row["seq"]),
                "name": str(row["name"]) or None,
                "automatic": not str(row["name"]),
                "created_by": self._person(people, row["created_by"]),
                "at": int(row["created_at"]),
            }
            for row in rows
        ]

    async def restore(self, identity: Identity, workspace_id: str, file_id: str, version: int) -> dict[str, Any]:
        """Bring the file back to ``version`` as one new change everyone receives live.

        The change is computed against the live document at the moment it is applied and edits
        only the spans that differ (see ``edits.py``); history is never rewritten, and what
        collaborators type concurrently elsewhere merges in as usual.
        """
        doc_id = await self._file(identity, workspace_id, file_id, write=True)
        await self._limit("history_restore", identity)
        await self._flush(doc_id)
        target, _ = await self._text_at(doc_id, version)
        room = await self.collab.open(workspace_id, file_id)
        changed = self._apply_text(room, target)
        await self._flush(doc_id)
        head = await history_store.head(self.db, doc_id)
        await self._announce(
            workspace_id,
            {"type": "history.restored", "file_id": file_id, "version": version, "by": identity.user_id},
        )
        return {"file_id": file_id, "restored": version, "changed": changed, "version": head[0] if head else None}

    @staticmethod
    def _apply_text(room: Room, target: str) -> bool:
        """Edit ``room`` so its text reads ``target``: one transaction, one server change."""
        scratch: pycrdt.Doc[Any] = pycrdt.Doc()
        scratch.apply_update(room.encoded_state())
        text = scratch.get(TEXT_NAME, type=pycrdt.Text)
        current = str(text)
        edits = minimal_edits(current, target)
        if not edits:
            return False
        before = scratch.get_state()
        with scratch.transaction():
            for start, end, insert in reversed(edits):
                byte_start = anchors.to_bytes(current, start)
                if end > start:
                    del text[byte_start : anchors.to_bytes(current, end)]
                if insert:
                    text.insert(byte_start, insert)
        update = scratch.get_update(before)
        with _via("restore"):
            try:
                room.apply_server_update(update)
            except ProtocolError as exc:
                if exc.reason == "doc_too_large":
                    raise PayloadTooLarge("Restoring that version would make the file too large.") from None
                raise
        return True

    # ------------------------------------------------------------------ authorship

    async def authorship(self, identity: Identity, workspace_id: str, file_id: str) -> dict[str, Any]:
        doc_id = await self._file(identity, workspace_id, file_id)
        await self._flush(doc_id)
        rows = await history_store.history_rows(self.db, doc_id)
        try:
            _, lines = await asyncio.to_thread(replay.attribute_lines, rows)
        except replay.HistoryCorrupt:
            log.error("history of doc=%s does not decode", doc_id)
            raise ServiceUnavailable("This file's history cannot be read.") from None
        ids = [
            user_id
            for line in lines
            if line.who is not None
            for user_id in ((line.who.author_id,) if line.who.author_id else line.who.authors)
        ]
        people = await self._people(ids)
        return {
            "file_id": file_id,
            "version": int(rows[-1]["seq"]) if rows else None,
            "lines": [
                {
                    "line": line.line,
                    "user": self._person(people, line.who.author_id) if line.who else None,
                    "via": line.who.via if line.who else None,
                    "authors": [self._person(people, a) for a in line.who.authors] if line.who else [],
                    "at": line.who.at if line.who else None,
                }
                for line in lines
            ],
        }

    # ------------------------------------------------------------------ contributors

    async def contributors(self, identity: Identity, workspace_id: str, file_id: str | None) -> list[dict[str, Any]]:
        if file_id is None:
            await self._workspace(identity, workspace_id)
        else:
            doc_id = await self._file(identity, workspace_id, file_id)
            await self._flush(doc_id)
        rows = await history_store.contributions(self.db, workspace_id, file_id)
        merged = await history_store.merged_authors(self.db, workspace_id, file_id)
        people = await self._people([str(r["author_id"]) for r in rows] + merged)
        summary: dict[str, dict[str, Any]] = {}
        for row in rows:
            user_id = str(row["author_id"])
            entry = summary.setdefault(
                user_id,
                {
                    "user": self._person(people, user_id),
                    "changes": 0,
                    "assistant_changes": 0,
                    "first_at": None,
                    "last_at": None,
                },
            )
            count = int(row["changes"])
            entry["changes"] += count
            if row["via"] == "assistant":
                entry["assistant_changes"] += count
            first, last = int(row["first_at"]), int(row["last_at"])
            entry["first_at"] = first if entry["first_at"] is None else min(entry["first_at"], first)
            entry["last_at"] = last if entry["last_at"] is None else max(entry["last_at"], last)
        for user_id in merged:
            summary.setdefault(
                user_id,
                {
                    "user": self._person(people, user_id),
                    "changes": 0,
                    "assistant_changes": 0,
                    "first_at": None,
                    "last_at": None,
                },
            )
        return sorted(summary.values(), key=lambda e: (-e["changes"], str(e["user"]["display_name"])))

    def trailers(self, contributors: list[dict[str, Any]], identity: Identity) -> str:
        """``Co-authored-by:`` lines for everyone but the caller (who commits as the author).

        Addresses are ``<username>@users.noreply.<host>``: members never see each other's email.
        """
        lines = []
        for entry in contributors:
            user = entry["user"]
            if user["id"] == identity.user_id or not user["username"]:
                continue
            name = re.sub(r"[<>\r\n]", "", str(user["display_name"])).strip() or str(user["username"])
            lines.append(f"Co-authored-by: {name} <{user['username']}@users.noreply.{self._trailer_host}>")
        return "".join(line + "\n" for line in lines)

    # ------------------------------------------------------------------ comments

    @staticmethod
    def _resolve(room: Room, row: Row) -> dict[str, Any]:
        snippet = str(row["snippet"])
        span = anchors.locate(room, bytes(row["anchor_start"]), bytes(row["anchor_end"]), snippet)
        anchor: dict[str, Any] = {"deleted": span is None, "original_snippet": snippet, "version": int(row["seq"])}
        if span is not None:
            anchor.update({"start": span.start, "end": span.end, "snippet": span.text})
        return anchor

    def _comment_body(self, room: Room, row: Row, people: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": str(row["id"]),
            "file_id": str(row["file_id"]),
            "author": self._person(people, str(row["author_id"])),
            "body": str(row["body"]),
            "anchor": self._resolve(room, row),
            "resolved": bool(row["resolved"]),
            "resolved_by": self._person(people, row["resolved_by"]),
            "created_at": int(row["created_at"]),
            "updated_at": int(row["updated_at"]),
        }

    async def add_comment(
        self, identity: Identity, workspace_id: str, file_id: str, start: int, end: int, body: str
    ) -> dict[str, Any]:
        doc_id = await self._file(identity, workspace_id, file_id)
        await self._limit("history_comment", identity)
        if await history_store.count_comments(self.db, workspace_id, file_id) >= MAX_COMMENTS_PER_FILE:
            raise Conflict("This file has too many comments; resolve and remove some first.", code="too_many_comments")
        room = await self.collab.open(workspace_id, file_id)
        try:
            made = anchors.anchor(room, start, end)
        except anchors.OutOfRange as exc:
            raise ValidationFailed(
                f"The range must lie within the text (0 to {exc.length}) with start <= end.",
                details={"field": "anchor", "rule": "range"},
            ) from None
        except anchors.Unanchorable:
            # The anchor would not read back as this range (docs/history.md, "Anchors and non-ASCII text").
            raise ValidationFailed(
                "This range cannot be anchored: try selecting it again.",
                details={"field": "anchor", "rule": "unanchorable"},
            ) from None
        await self._flush(doc_id)
        head = await history_store.head(self.db, doc_id)
        now = now_ms(self.clock)
        values = {
            "id": uuid.uuid4().hex,
            "workspace_id": workspace_id,
            "file_id": file_id,
            "author_id": identity.user_id,
            "body": body,
            "anchor_start": made.start,
            "anchor_end": made.end,
            "snippet": made.snippet,
            "seq": head[0] if head else 0,
            "created_at": now,
        }
        await history_store.add_comment(self.db, values)
        row = await history_store.comment(self.db, workspace_id, file_id, str(values["id"]))
        assert row is not None
        people = await self._people([identity.user_id])
        comment = self._comment_body(room, row, people)
        await self._announce(workspace_id, {"type": "comment.added", "file_id": file_id, "comment": comment})
        return comment

    async def comments(self, identity: Identity, workspace_id: str, file_id: str) -> list[dict[str, Any]]:
        await self._file(identity, workspace_id, file_id)
        rows = await history_store.comments(self.db, workspace_id, file_id, MAX_COMMENTS_PER_FILE)
        if not rows:
            return []
        room = await self.collab.open(workspace_id, file_id)
        ids = [str(r["author_id"]) for r in rows] + [str(r["resolved_by"]) for r in rows if r["resolved_by"]]
        people = await self._people(ids)
        return [self._comment_body(room, row, people) for row in rows]

    async def set_resolved(
        self, identity: Identity, workspace_id: str, file_id: str, comment_id: str, resolved: bool
    ) -> dict[str, Any]:
        """Resolve or reopen: writers, and the comment's own author."""
        await self._file(identity, workspace_id, file_id)
        if not _ID.fullmatch(comment_id):
            raise NotFound()
        row = await history_store.comment(self.db, workspace_id, file_id, comment_id)
        if row is None:
            raise NotFound()
        role = await workspace_store.member_role(self.db, workspace_id, identity.user_id)
        if role not in WRITER_ROLES and str(row["author_id"]) != identity.user_id:
            raise Forbidden("Only editors and the comment's author can resolve it.")
        await history_store.set_resolved(self.db, comment_id, resolved, identity.user_id, now_ms(self.clock))
        row = await history_store.comment(self.db, workspace_id, file_id, comment_id)
        if row is None:
            raise NotFound()
        room = await self.collab.open(workspace_id, file_id)
        ids = [str(row["author_id"])] + ([str(row["resolved_by"])] if row["resolved_by"] else [])
        comment = self._comment_body(room, row, await self._people(ids))
        await self._announce(workspace_id, {"type": "comment.updated", "file_id": file_id, "comment": comment})
        return comment

    # ------------------------------------------------------------------ live events

    async def _announce(self, workspace_id: str, event: dict[str, Any]) -> None:
        """Send a ``workspace.event`` to every member's events sockets (best effort, like tree events)."""
        if self.hub is None:
            return
        try:
            members = await workspace_store.list_members(self.db, workspace_id)
            frame = {"type": FRAME_TYPE, "workspace_id": workspace_id, "event": {**event, "workspace_id": workspace_id}}
            await self.hub.send_to_users([str(m["user_id"]) for m in members], frame)
        except Exception:
            # Best effort, like tree events: the change itself is made; clients re-read on reconnect.
            log.warning("history event not delivered workspace=%s", workspace_id, exc_info=True)

    # ------------------------------------------------------------------ upkeep

    async def checkpoint_idle(self, since: int, now: int) -> int:
        """Add automatic checkpoints to files whose last edit was in ``[since, now - idle)``.

        Only files with no edit since then and no checkpoint at their newest version get one.
        Several processes may do this at once: the unique index keeps one per version.
        """
        until = now - self.limits.idle_checkpoint_seconds * 1000
        added = 0
        for row in await history_store.recently_edited(self.db, since, until):
            doc_id = str(row["doc_id"])
            head = await history_store.head(self.db, doc_id)
            if head is None or head[1] >= until:
                continue  # edited again since: a later sweep sees it
            if await history_store.latest_checkpoint_seq(self.db, doc_id) >= head[0]:
                continue
            if await history_store.add_checkpoint(
                self.db, checkpoint_id=uuid.uuid4().hex, doc_id=doc_id, seq=head[0], name="", user_id=None, now=now
            ):
                added += 1
        return added

    async def apply_retention(self, now: int, *, batch: int = 50) -> int:
        """Merge history rows older than the retention period into their checkpoints.

        Each span of versions between two checkpoints becomes one row at the later checkpoint,
        so every checkpointed version can still be rebuilt and shown; versions in between are
        gone. The newest old version gets an automatic checkpoint first. Returns documents done.
        """
        if self.limits.retention_days <= 0:
            return 0
        cutoff = now - self.limits.retention_days * 86_400_000
        done = 0
        for doc_id in await history_store.documents_with_old_rows(self.db, cutoff, batch):
            await self._compact_history(doc_id, cutoff, now)
            done += 1
        return done

    async def _compact_history(self, doc_id: str, cutoff: int, now: int) -> None:
        rows = await history_store.history_rows(self.db, doc_id)
        old = [r for r in rows if int(r["created_at"]) < cutoff]
        if not old:
            return
        last_old = max(int(r["seq"]) for r in old)
        async with self.db.transaction("history.retention") as tx:
            await history_store.add_checkpoint(
                tx, checkpoint_id=uuid.uuid4().hex, doc_id=doc_id, seq=last_old, name="", user_id=None, now=now
            )
            marks = sorted(
                {int(c["seq"]) for c in await history_store.checkpoints(tx, doc_id) if int(c["seq"]) <= last_old}
            )
            low = 1
            for high in marks:
                span = [r for r in rows if low <= int(r["seq"]) <= high]
                if len(span) > 1 or (span and span[0]["authors"] is None):
                    authors: set[str] = set()
                    for r in span:
                        attribution = replay.Attribution.of(r)
                        authors.update((attribution.author_id,) if attribution.author_id else attribution.authors)
                    data = replay.merge_rows(span)
                    assert data is not None
                    at = max(int(r["created_at"]) for r in span)
                    await history_store.replace_span(tx, doc_id, low, high, data=data, authors=sorted(authors), at=at)
                low = high + 1

    async def backfill(self, *, batch: int = 100) -> int:
        """Give documents stored before history existed one starting row (their whole state).

        Their earlier changes have no authors; everything after is recorded as usual.
        """
        rows = await self.db.fetch_all(
            "SELECT d.id AS id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM doc_history h WHERE h.doc_id = d.id) "
            "LIMIT ?",
            (batch,),
        )
        done = 0
        for row in rows:
            doc_id = str(row["id"])
            state, seq = await self.collab.store.load_since(doc_id, 0)
            if state is None:
                continue
            await self.db.execute(
                "INSERT INTO doc_history (doc_id, seq, part, author_id, via, authors, created_at, data) "
                "SELECT ?, CAST(? AS BIGINT), 0, NULL, NULL, '[]', CAST(? AS BIGINT), ? "
                "WHERE NOT EXISTS (SELECT 1 FROM doc_history WHERE doc_id = ? AND seq <= ?) "
                "AND EXISTS (SELECT 1 FROM documents WHERE id = ?)",
                (doc_id, seq, now_ms(self.clock), state, doc_id, seq, doc_id),
            )
            done += 1
        return done


def _text_of_rows(rows: Sequence[Row]) -> str:
    return replay.text_of(replay.merge_rows(rows))


@contextmanager
def _via(how: str) -> Iterator[None]:
    token = change_via.set(how)
    try:
        yield
    finally:
        change_via.reset(token)
