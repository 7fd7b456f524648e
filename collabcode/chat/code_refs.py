"""Messages that point at code: checking and anchoring a reference, and showing it to a reader.

A reference is anchored like a comment (``collabcode.history.anchors``): it keeps pointing at
the same code while the file is edited. Sending one needs read access to the file (any role in
its workspace); anything else is the one :class:`NotFound`. What a reader is shown depends on
the reader, not the sender: someone who cannot read the workspace gets ``{"available": false}``
and nothing else, so a snippet never reaches a non-member. Resolving opens the file's live
document; a :class:`Resolver` serves one request (or one batch of frames) and opens each file
and checks each access at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from collabcode.auth.events import security_event
from collabcode.chat.schemas import MAX_CODE_REF_CHARS, CodeRefIn
from collabcode.chat.store import CodeRef
from collabcode.collab.room import Room
from collabcode.collab.rooms import PersistenceError
from collabcode.collab.service import CollabService, document_id
from collabcode.db import Database
from collabcode.errors import NotFound, RateLimited, ServiceUnavailable, ValidationFailed
from collabcode.history import anchors
from collabcode.history import store as history_store
from collabcode.ratelimit import Rate, RateLimiter
from collabcode.workspaces import store as workspace_store

#: Sends with a code reference, per user: a burst, then one every ``per`` seconds (each opens a file).
RATE: Final = Rate(burst=30, per=2.0)
UNAVAILABLE: Final = {"available": False}


def request_key(ref: CodeRefIn | None) -> str:
    """What a retried send must repeat exactly (part of the idempotency hash)."""
    if ref is None:
        return ""
    return f"{ref.workspace_id}:{ref.file_id}:{ref.start}:{ref.end}"


class CodeRefs:
    """Makes references for senders and resolves them for readers."""

    def __init__(self, db: Database, collab: CollabService | None, limiter: RateLimiter) -> None:
        self.db = db
        self.collab = collab
        self.limiter = limiter

    async def make(self, user_id: str, ref: CodeRefIn) -> CodeRef:
        """Anchor ``ref`` for a message ``user_id`` is sending (``message_id`` is filled in later)."""
        if await workspace_store.file_access(self.db, ref.workspace_id, ref.file_id, user_id) is None:
            security_event(
                "authz.denied",
                "code reference to a file the sender cannot read",
                level=logging.WARNING,
                user_id=user_id,
                resource="file",
                action="code_ref",
            )
            raise NotFound()
        if self.collab is None:
            raise ServiceUnavailable("Code references need collaborative editing, which is off on this server.")
        if ref.end - ref.start > MAX_CODE_REF_CHARS:
            raise ValidationFailed(
                f"code_ref: reference at most {MAX_CODE_REF_CHARS} characters",
                details={"field": "code_ref", "rule": "too_long"},
            )
        if ref.end <= ref.start:
            raise ValidationFailed(
                "code_ref: the range must hold at least one character (start < end)",
                details={"field": "code_ref", "rule": "empty"},
            )
        decision = await self.limiter.hit("chat_code_ref", user_id, RATE)
        if not decision.allowed:
            raise RateLimited(decision.retry_after)
        doc_id = document_id(ref.workspace_id, ref.file_id)
        room = await self.collab.open(ref.workspace_id, ref.file_id)
        try:
            made = anchors.anchor(room, ref.start, ref.end)
        except anchors.OutOfRange as exc:
            raise ValidationFailed(
                f"code_ref: the range must lie within the file's text (0 to {exc.length})",
                details={"field": "code_ref", "rule": "range"},
            ) from None
        except anchors.Unanchorable:
            raise ValidationFailed(
                "code_ref: this range cannot be anchored; try selecting it again",
                details={"field": "code_ref", "rule": "unanchorable"},
            ) from None
        try:
            # The version recorded is one the file's history holds: what the message was sent on.
            await self.collab.manager.flush(doc_id)
        except PersistenceError:
            raise ServiceUnavailable("The file's latest edits cannot be saved right now; try again shortly.") from None
        head = await history_store.head(self.db, doc_id)
        return CodeRef("", ref.workspace_id, ref.file_id, made.start, made.end, made.snippet, head[0] if head else 0)

    def resolver(self) -> Resolver:
        return Resolver(self)


class Resolver:
    """Resolves references for one request or batch: each access, path and room looked up once."""

    def __init__(self, refs: CodeRefs) -> None:
        self._refs = refs
        self._access: dict[tuple[str, str, str], str] = {}
        self._paths: dict[tuple[str, str], str | None] = {}
        self._rooms: dict[tuple[str, str], Room] = {}

    async def views(self, viewer_id: str, refs: Mapping[str, CodeRef]) -> dict[str, dict[str, Any]]:
        """``code_ref`` of each message in ``refs`` (by message id), as ``viewer_id`` may see it."""
        return {message_id: await self.view(viewer_id, ref) for message_id, ref in refs.items()}

    async def view(self, viewer_id: str, ref: CodeRef) -> dict[str, Any]:
        access = await self._access_of(viewer_id, ref)
        if access == "none":
            return dict(UNAVAILABLE)
        view: dict[str, Any] = {
            "available": True,
            "workspace_id": ref.workspace_id,
            "file_id": ref.file_id,
            "path": None,
            "deleted": True,
            "file_deleted": access == "workspace",
            "start": None,
            "end": None,
            "start_line": None,
            "end_line": None,
            "snippet": None,
            "original_snippet": ref.snippet,
            "version": ref.seq,
        }
        if access == "workspace":
            return view  # the file itself is gone; its history went with it
        key = (ref.workspace_id, ref.file_id)
        view["path"] = await self._path(key)
        room = await self._room(key)
        span = anchors.locate(room, ref.anchor_start, ref.anchor_end, ref.snippet)
        if span is not None:
            text = room.text
            view.update(
                {
                    "deleted": False,
                    "start": span.start,
                    "end": span.end,
                    # 1-based lines of the first and the last character, for "lines 3-7" labels.
                    "start_line": text.count("\n", 0, span.start) + 1,
                    "end_line": text.count("\n", 0, max(span.start, span.end - 1)) + 1,
                    "snippet": span.text,
                }
            )
        return view

    async def _access_of(self, viewer_id: str, ref: CodeRef) -> str:
        """``file`` (may read the file), ``workspace`` (a member; the file is gone) or ``none``."""
        key = (viewer_id, ref.workspace_id, ref.file_id)
        if key not in self._access:
            db = self._refs.db
            if self._refs.collab is None:
                found = "none"
            elif await workspace_store.file_access(db, ref.workspace_id, ref.file_id, viewer_id) is not None:
                found = "file"
            elif await workspace_store.member_role(db, ref.workspace_id, viewer_id) is not None:
                found = "workspace"
            else:
                found = "none"
            self._access[key] = found
        return self._access[key]

    async def _path(self, key: tuple[str, str]) -> str | None:
        if key not in self._paths:
            row = await workspace_store.entry(self._refs.db, key[0], key[1])
            self._paths[key] = None if row is None else str(row["path"])
        return self._paths[key]

    async def _room(self, key: tuple[str, str]) -> Room:
        collab = self._refs.collab
        assert collab is not None, "file access is never granted without collaborative editing"
        if key not in self._rooms:
            self._rooms[key] = await collab.open(*key)
        return self._rooms[key]
