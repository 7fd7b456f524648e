"""The workspace rules: who may see and change what, the file tree, contents, import and export.

Routes call one method each; the SQL is in ``store.py``; nothing here knows about HTTP. Access
is decided by the caller's membership: a workspace the caller is not a member of, and any object
addressed under a workspace it does not belong to, is :class:`NotFound` with the same body as a
missing one. Members who may see an object but not change it get :class:`Forbidden`.

A file's contents are its collaborative document (addressed by workspace id and file id),
reached through :class:`FileContents`. New contents are written before the rows that make a file visible are
committed, so a failure leaves no half-created file; every tree change takes the workspace's
row lock first (``bump_tree_version``), so checks and writes of concurrent changes never
interleave, and it is published as one ``tree.changed`` event.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final, Literal, Protocol

from collabcode.auth.events import security_event
from collabcode.auth.identity import Identity
from collabcode.auth.validation import InputRejected, clean_text, normalize_username
from collabcode.clock import Clock, now_ms
from collabcode.db import Database, Executor, IntegrityViolation, Row
from collabcode.errors import (
    Conflict,
    Forbidden,
    InsufficientStorage,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
    ValidationFailed,
)
from collabcode.ratelimit import Rate, RateLimiter
from collabcode.workspaces import store
from collabcode.workspaces.archive import (
    ArchiveContents,
    ArchiveEntry,
    ExportEntry,
    ImportLimits,
    Skipped,
    add_entry,
    decode_text,
    open_export,
    read_archive,
)
from collabcode.workspaces.events import Listener, WorkspaceEvents, tree_changed
from collabcode.workspaces.paths import (
    PathRejected,
    ancestors,
    is_within,
    normalize_path,
    path_key,
    rebase,
    sort_key,
)
from collabcode.workspaces.plan import Known, Plan, PlanConflict, check_rebased, make_plan, new_id, plan_ancestors
from collabcode.workspaces.schemas import NAME_MAX, Role, entry_view, member_view, workspace_view

log = logging.getLogger(__name__)

ROLES: Final = ("owner", "editor", "viewer")
WRITERS: Final = frozenset({"owner", "editor"})
OWNERS: Final = frozenset({"owner"})
_ID: Final = re.compile(r"^[0-9a-f]{32}$")
#: Contents written at once while importing (each is a document load and a durable append).
_WRITE_CONCURRENCY: Final = 16
#: Up to this many new entries, only their own and their ancestors' rows are read to plan them.
_SMALL_PLAN: Final = 64
_SNAPSHOT_TRIES: Final = 3
_EXPORT_IN_MEMORY: Final = 8 * 1024 * 1024
#: Imports per user: unpacking one may take a core for a good fraction of a second, so a loop of
#: them must not; five at once, then one every 12 s, is far more than people import projects.
IMPORT_RATE: Final = Rate(burst=5, per=12.0)

AccessChanged = Callable[[str, str | None], Awaitable[None]]
BodyReader = Callable[[int], Awaitable[bytes]]
ArchiveSpooler = Callable[[], Awaitable[IO[bytes]]]


class _NothingCreated(Exception):
    """Raised inside the creating transaction to roll it back when the plan came out empty."""

    def __init__(self, plan: Plan) -> None:
        super().__init__("nothing to create")
        self.plan = plan


class ContentTooLarge(Exception):
    """The document would grow past what the collaboration layer stores for one file."""


class FileContents(Protocol):
    """The text of files, kept in their collaborative documents (one per workspace and file id)."""

    async def read(self, workspace_id: str, file_id: str) -> str:
        """The current text (an unknown document reads as empty)."""
        ...

    async def write(self, workspace_id: str, file_id: str, text: str) -> None:
        """Replace the text as one server transaction open editors see; durable on return.

        Raises :class:`ContentTooLarge` when the document would exceed its size limit.
        """
        ...

    async def discard(self, workspace_id: str, file_ids: Sequence[str]) -> None:
        """Forget the documents of deleted files (closing sockets still open on them)."""
        ...


@dataclass(frozen=True)
class WorkspaceLimits:
    """Per-workspace and per-user limits; the defaults are documented in docs/workspaces.md."""

    max_file_bytes: int = 2 * 1024 * 1024
    max_entries: int = 10_000
    max_workspaces_per_user: int = 500
    max_members: int = 500
    max_import_bytes: int = 100 * 1024 * 1024

    def import_limits(self) -> ImportLimits:
        return ImportLimits(
            max_file_bytes=self.max_file_bytes, max_entries=self.max_entries, max_total_bytes=self.max_import_bytes
        )


@dataclass(frozen=True)
class Download:
    """A file or archive to send: ``name`` is the file's own name (not yet made header-safe)."""

    name: str
    size: int
    fileobj: IO[bytes]


@dataclass(frozen=True)
class ImportSummary:
    created: int
    skipped: list[Skipped]
    version: int


def _path_error(exc: PathRejected, field_name: str = "path") -> ValidationFailed:
    return ValidationFailed(f"{field_name}: {exc.message}", details={"field": field_name, "rule": exc.rule})


def _check_path(raw: str, field_name: str = "path") -> str:
    try:
        return normalize_path(raw)
    except PathRejected as exc:
        raise _path_error(exc, field_name) from None


def _workspace_name(raw: str) -> str:
    try:
        name = clean_text(raw, "name").strip()
    except InputRejected as exc:
        raise ValidationFailed(f"name: {exc.message}", details={"field": "name", "rule": exc.rule}) from None
    if not name:
        raise ValidationFailed("name: The name may not be empty.", details={"field": "name", "rule": "too_short"})
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            f"name: Use at most {NAME_MAX} characters.", details={"field": "name", "rule": "too_long"}
        )
    return name


def text_of(data: bytes) -> str:
    """The text of an upload, or 415 when it is binary (not UTF-8, or holding a NUL byte)."""
    text = decode_text(data)
    if text is None:
        raise UnsupportedMediaType(
            "Only text files can be stored: the content is not UTF-8 text (or contains NUL bytes).",
            code="binary_content",
        )
    return text


def _check_text(text: str, limit: int) -> int:
    """The UTF-8 size of JSON-supplied ``text``, or 415 (binary) / 413 (too large)."""
    if "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise UnsupportedMediaType(
            "Only text files can be stored: the content contains NUL or invalid characters.", code="binary_content"
        )
    size = len(text.encode("utf-8"))
    if size > limit:
        raise _file_too_large(limit)
    return size


def _file_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"A file holds at most {limit} bytes.", code="file_too_large")


class WorkspaceService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        contents: FileContents,
        events: WorkspaceEvents | None = None,
        limits: WorkspaceLimits | None = None,
        on_access_changed: AccessChanged | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.db = db
        self.limiter = limiter
        self.clock = clock
        self.contents = contents
        self.events = events or WorkspaceEvents()
        self.limits = limits or WorkspaceLimits()
        self._on_access_changed = on_access_changed

    def set_access_hook(self, hook: AccessChanged | None) -> None:
        self._on_access_changed = hook

    def subscribe_tree(self, workspace_id: str, callback: Listener) -> Callable[[], None]:
        """Receive every event of ``workspace_id`` (see :meth:`WorkspaceEvents.subscribe_tree`)."""
        return self.events.subscribe_tree(workspace_id, callback)

    async def role_of(self, user_id: str, workspace_id: str) -> str | None:
        """The user's role in the workspace, or None (e.g. before subscribing someone to it)."""
        if not _ID.fullmatch(workspace_id):
            return None
        return await store.member_role(self.db, workspace_id, user_id)

    def _now(self) -> int:
        return now_ms(self.clock)

    # -- access -------------------------------------------------------------------------------

    async def _membership(self, identity: Identity, workspace_id: str) -> Row:
        """The workspace with the caller's role; NotFound (one body for all) when not visible."""
        if not _ID.fullmatch(workspace_id):
            raise NotFound()
        row = await store.workspace_for_member(self.db, workspace_id, identity.user_id)
        if row is None:
            raise NotFound()
        return row

    async def _entry(self, workspace_id: str, entry_id: str, ex: Executor | None = None) -> Row:
        """The entry if it belongs to ``workspace_id``; NotFound otherwise (path-pair check)."""
        if not _ID.fullmatch(entry_id):
            raise NotFound()
        row = await store.entry(ex or self.db, workspace_id, entry_id)
        if row is None:
            raise NotFound()
        return row

    def _require(self, identity: Identity, membership: Row, allowed: frozenset[str], action: str) -> None:
        if membership["role"] in allowed:
            return
        security_event(
            "authz.denied",
            "workspace action denied",
            level=logging.WARNING,
            user_id=identity.user_id,
            session_id=identity.session_id,
            resource=f"workspace:{membership['id']}",
            action=action,
        )
        who = "owners" if allowed == OWNERS else "owners and editors"
        raise Forbidden(f"Only {who} of this workspace can do this.")

    async def _access_changed(self, workspace_id: str, user_id: str | None) -> None:
        if self._on_access_changed is None:
            return
        try:
            await self._on_access_changed(workspace_id, user_id)
        except Exception:
            log.exception("access change hook failed workspace=%s", workspace_id)

    # -- workspaces ---------------------------------------------------------------------------

    async def list_workspaces(self, identity: Identity) -> list[dict[str, Any]]:
        rows = await store.workspaces_of_user(self.db, identity.user_id, limit=self.limits.max_workspaces_per_user)
        return [workspace_view(row) for row in rows]

    async def create_workspace(self, identity: Identity, name: str) -> dict[str, Any]:
        name = _workspace_name(name)
        workspace_id = new_id()
        now = self._now()
        async with self.db.transaction("workspaces.create") as tx:
            if await store.count_memberships(tx, identity.user_id) >= self.limits.max_workspaces_per_user:
                raise Conflict(
                    f"You can be a member of at most {self.limits.max_workspaces_per_user} workspaces.",
                    code="limit_reached",
                )
            await store.insert_workspace(tx, workspace_id=workspace_id, name=name, created_by=identity.user_id, now=now)
            await store.insert_member(tx, workspace_id, identity.user_id, "owner", now)
        log.info("workspace created workspace=%s user=%s", workspace_id, identity.user_id)
        return await self.get_workspace(identity, workspace_id)

    async def get_workspace(self, identity: Identity, workspace_id: str) -> dict[str, Any]:
        row = await self._membership(identity, workspace_id)
        return workspace_view(row)

    async def rename_workspace(self, identity: Identity, workspace_id: str, name: str) -> dict[str, Any]:
        membership = await self._membership(identity, workspace_id)
        self._require(identity, membership, OWNERS, "rename")
        name = _workspace_name(name)
        await store.rename_workspace(self.db, workspace_id, name, self._now())
        await self.events.publish(
            {"type": "workspace.updated", "workspace_id": workspace_id, "name": name}, actor=identity.user_id
        )
        return await self.get_workspace(identity, workspace_id)

    async def delete_workspace(self, identity: Identity, workspace_id: str) -> None:
        membership = await self._membership(identity, workspace_id)
        self._require(identity, membership, OWNERS, "delete")
        async with self.db.transaction("workspaces.delete") as tx:
            file_ids = await store.list_file_ids(tx, workspace_id)
            member_ids = [str(row["user_id"]) for row in await store.list_members(tx, workspace_id)]
            if await store.delete_workspace(tx, workspace_id) == 0:
                raise NotFound()
        log.info("workspace deleted workspace=%s user=%s files=%d", workspace_id, identity.user_id, len(file_ids))
        await self.events.publish(
            {"type": "workspace.deleted", "workspace_id": workspace_id}, also_to=member_ids, actor=identity.user_id
        )
        await self._access_changed(workspace_id, None)
        await self._discard(workspace_id, file_ids)

    # -- members ------------------------------------------------------------------------------

    async def list_members(self, identity: Identity, workspace_id: str) -> list[dict[str, Any]]:
        await self._membership(identity, workspace_id)
        return [member_view(row) for row in await store.list_members(self.db, workspace_id)]

    async def add_member(self, identity: Identity, workspace_id: str, username: str, role: Role) -> dict[str, Any]:
        membership = await self._membership(identity, workspace_id)
        self._require(identity, membership, OWNERS, "add_member")
        try:
            username = normalize_username(username)
        except InputRejected as exc:
            raise ValidationFailed(
                f"username: {exc.message}", details={"field": "username", "rule": exc.rule}
            ) from None
        user = await store.active_user_by_username(self.db, username)
        if user is None:
            raise NotFound("No active account has this username.", code="user_not_found", details={"field": "username"})
        user_id = str(user["id"])
        now = self._now()
        async with self.db.transaction("workspaces.add_member") as tx:
            await self._lock_members(tx, identity, workspace_id, now, owner_only=True)
            if await store.count_members(tx, workspace_id) >= self.limits.max_members:
                raise Conflict(f"A workspace has at most {self.limits.max_members} members.", code="limit_reached")
            if await store.count_memberships(tx, user_id) >= self.limits.max_workspaces_per_user:
                raise Conflict("This person is in too many workspaces to join another.", code="limit_reached")
            if not await store.insert_member(tx, workspace_id, user_id, role, now):
                raise Conflict("This person is already a member.", code="already_member")
        log.info("member added workspace=%s user=%s role=%s by=%s", workspace_id, user_id, role, identity.user_id)
        await self._members_changed(workspace_id, user_id, role, identity.user_id)
        return await self._member_view(workspace_id, user_id)

    async def _lock_members(
        self, tx: Executor, identity: Identity, workspace_id: str, now: int, *, owner_only: bool
    ) -> None:
        """Lock the workspace for a membership change and re-check the caller's role under it.

        The role was checked before the transaction too; checking again under the lock means two
        owners demoting each other at once cannot both succeed on a role one of them just lost.
        """
        if not await store.lock_workspace(tx, workspace_id, now):
            raise NotFound()
        role = await store.member_role(tx, workspace_id, identity.user_id)
        if role is None:
            raise NotFound()
        if owner_only and role != "owner":
            raise Forbidden("Only owners of this workspace can do this.")

    async def _lock_tree(self, tx: Executor, identity: Identity, workspace_id: str, now: int) -> int:
        """Lock the workspace for a tree change, re-check the caller may write; the new version.

        Membership changes take the same lock, so a change never lands on a role its author
        lost while the request was on its way.
        """
        version = await store.bump_tree_version(tx, workspace_id, now)
        role = await store.member_role(tx, workspace_id, identity.user_id)
        if version is None or role is None:
            raise NotFound()
        if role not in WRITERS:
            raise Forbidden("Only owners and editors of this workspace can do this.")
        return version

    async def _member_view(self, workspace_id: str, user_id: str) -> dict[str, Any]:
        row = await store.member(self.db, workspace_id, user_id)
        if row is None:
            raise NotFound()
        return member_view(row)

    async def _members_changed(self, workspace_id: str, user_id: str, role: str | None, actor: str) -> None:
        await self.events.publish(
            {"type": "members.changed", "workspace_id": workspace_id, "user_id": user_id, "role": role},
            also_to=(user_id,),
            actor=actor,
        )
        await self._access_changed(workspace_id, user_id)

    async def update_member(self, identity: Identity, workspace_id: str, user_id: str, role: Role) -> dict[str, Any]:
        membership = await self._membership(identity, workspace_id)
        self._require(identity, membership, OWNERS, "change_role")
        if not _ID.fullmatch(user_id):
            raise NotFound()
        now = self._now()
        async with self.db.transaction("workspaces.update_member") as tx:
            await self._lock_members(tx, identity, workspace_id, now, owner_only=True)
            current = await store.member_role(tx, workspace_id, user_id)
            if current is None:
                raise NotFound()
            if current == "owner" and role != "owner" and await store.count_owners(tx, workspace_id) <= 1:
                raise _last_owner()
            await store.set_member_role(tx, workspace_id, user_id, role, now)
        if current != role:
            log.info(
                "member role changed workspace=%s user=%s role=%s by=%s", workspace_id, user_id, role, identity.user_id
            )
            await self._members_changed(workspace_id, user_id, role, identity.user_id)
        return await self._member_view(workspace_id, user_id)

    async def remove_member(self, identity: Identity, workspace_id: str, user_id: str) -> None:
        """Owners remove anyone; any member may remove themselves (leave). Never the last owner."""
        membership = await self._membership(identity, workspace_id)
        if user_id != identity.user_id:
            self._require(identity, membership, OWNERS, "remove_member")
        if not _ID.fullmatch(user_id):
            raise NotFound()
        now = self._now()
        async with self.db.transaction("workspaces.remove_member") as tx:
            await self._lock_members(tx, identity, workspace_id, now, owner_only=user_id != identity.user_id)
            current = await store.member_role(tx, workspace_id, user_id)
            if current is None:
                raise NotFound()
            if current == "owner" and await store.count_owners(tx, workspace_id) <= 1:
                raise _last_owner()
            await store.delete_member(tx, workspace_id, user_id)
        log.info("member removed workspace=%s user=%s by=%s", workspace_id, user_id, identity.user_id)
        await self._members_changed(workspace_id, user_id, None, identity.user_id)

    # -- the tree -----------------------------------------------------------------------------

    async def tree(self, identity: Identity, workspace_id: str) -> dict[str, Any]:
        await self._membership(identity, workspace_id)
        # Every tree change bumps the version in the transaction that makes it, so equal versions
        # before and after the read mean the entries are exactly those of that version.
        for _ in range(_SNAPSHOT_TRIES):
            version = await store.tree_version(self.db, workspace_id)
            rows = await store.list_entries(self.db, workspace_id)
            if await store.tree_version(self.db, workspace_id) == version:
                break
        # Still changing: the entries may be newer than ``version``, and replaying events from
        # there is harmless, whereas a version newer than the entries would hide a change.
        rows.sort(key=lambda row: sort_key(str(row["path"])))
        return {"workspace_id": workspace_id, "version": version, "entries": [entry_view(row) for row in rows]}

    async def create_entry(
        self, identity: Identity, workspace_id: str, *, path: str, kind: Literal["file", "folder"], content: str | None
    ) -> dict[str, Any]:
        membership = await self._membership(identity, workspace_id)
        self._require(identity, membership, WRITERS, "create")
        normalized = _check_path(path)
        if kind == "folder" and content is not None:
            raise ValidationFailed(
                "content: Folders have no content.", details={"field": "content", "rule": "folder_content"}
            )
        text = content or ""
        if kind == "file":
            _check_text(text, self.limits.max_file_bytes)
        plan = await self._create(
            identity, workspace_id, [ArchiveEntry(normalized, kind, text if kind == "file" else None)], strict=True
        )
        created = next(row for row in plan.rows if row[3] == path_key(normalized))
        entry = await self._entry(workspace_id, created[0])
        return entry_view(entry)

    async def move_entry(self, identity: Identity, workspace_id: str, entry_id: str, new_path: str) -> dict[str, Any]:
        membership = await self._membership(identity, workspace_id)
        current = await self._entry(workspace_id, entry_id)
        self._require(identity, membership, WRITERS, "move")
        target = _check_path(new_path)
        if target == current["path"]:
            return entry_view(current)
        now = self._now()
        async with self.db.transaction("workspaces.move") as tx:
            version = await self._lock_tree(tx, identity, workspace_id, now)
            entry = await self._entry(workspace_id, entry_id, tx)
            old_path, old_key, kind = str(entry["path"]), str(entry["path_key"]), str(entry["kind"])
            new_key = path_key(target)
            if kind == "folder" and new_key != old_key and is_within(new_key, old_key):
                raise ValidationFailed(
                    "path: A folder cannot be moved into itself.", details={"field": "path", "rule": "into_itself"}
                )
            moved = await store.subtree(tx, workspace_id, old_key)
            check_rebased([str(row["path"]) for row in moved], old_path, target)
            if new_key != old_key:
                clash = await store.entries_by_keys(tx, workspace_id, [new_key])
                if clash:
                    raise PlanConflict("already_exists", str(clash[0]["path"])).error()
            plan = Plan()
            known = await self._known(tx, workspace_id, [target])
            try:
                plan_ancestors(target, known, plan, workspace_id, identity.user_id, now, {})
            except PlanConflict as exc:
                raise exc.error() from None
            await self._check_capacity(tx, workspace_id, len(plan.rows))
            if plan.rows:
                await store.insert_entries(tx, plan.rows)
            await store.move_subtree(
                tx, workspace_id, old_path=old_path, old_key=old_key, new_path=target, new_key=new_key, now=now
            )
        changes = plan.changes + [
            {
                "op": "moved",
                "id": str(row["id"]),
                "path": rebase(str(row["path"]), old_path, target),
                "old_path": str(row["path"]),
                "kind": str(row["kind"]),
            }
            for row in sorted(moved, key=lambda row: sort_key(str(row["path"])))
        ]
        await self.events.publish(tree_changed(workspace_id, version, changes), actor=identity.user_id)
        return entry_view(await self._entry(workspace_id, entry_id))

    async def delete_entry(self, identity: Identity, workspace_id: str, entry_id: str) -> None:
        membership = await self._membership(identity, workspace_id)
        await self._entry(workspace_id, entry_id)
        self._require(identity, membership, WRITERS, "delete")
        async with self.db.transaction("workspaces.delete_entry") as tx:
            version = await self._lock_tree(tx, identity, workspace_id, self._now())
            entry = await self._entry(workspace_id, entry_id, tx)
            deleted = await store.delete_subtree(tx, workspace_id, str(entry["path_key"]))
        deleted.sort(key=lambda row: sort_key(str(row["path"])))
        changes = [
            {"op": "deleted", "id": str(row["id"]), "path": str(row["path"]), "kind": str(row["kind"])}
            for row in deleted
        ]
        await self.events.publish(tree_changed(workspace_id, version, changes), actor=identity.user_id)
        await self._discard(workspace_id, [str(row["id"]) for row in deleted if row["kind"] == "file"])

    # -- contents -----------------------------------------------------------------------------

    async def _file(self, identity: Identity, workspace_id: str, file_id: str, allowed: frozenset[str]) -> Row:
        membership = await self._membership(identity, workspace_id)
        entry = await self._entry(workspace_id, file_id)
        self._require(identity, membership, allowed, "write_content" if allowed == WRITERS else "read_content")
        if entry["kind"] != "file":
            raise Conflict("This is a folder; only files have content.", code="not_a_file")
        return entry

    async def read_content(self, identity: Identity, workspace_id: str, file_id: str) -> tuple[str, str]:
        """``(path, text)`` of a file."""
        entry = await self._file(identity, workspace_id, file_id, frozenset(ROLES))
        text = await self.contents.read(workspace_id, file_id)
        return str(entry["path"]), text

    async def write_content(
        self, identity: Identity, workspace_id: str, file_id: str, read_body: BodyReader
    ) -> dict[str, Any]:
        """Replace a file's text from an upload (read only once the caller may write)."""
        await self._file(identity, workspace_id, file_id, WRITERS)
        data = await read_body(self.limits.max_file_bytes)
        if len(data) > self.limits.max_file_bytes:
            raise _file_too_large(self.limits.max_file_bytes)
        text = text_of(data)
        try:
            await self.contents.write(workspace_id, file_id, text)
        except ContentTooLarge:
            raise _file_too_large(self.limits.max_file_bytes) from None
        now = self._now()
        # The text is in the document already (that is what was authorized); only record it. No
        # role re-check here: answering 403 for a change that did happen would mislead.
        async with self.db.transaction("workspaces.write_content") as tx:
            version = await store.bump_tree_version(tx, workspace_id, now)
            if version is None or await store.set_file_size(tx, workspace_id, file_id, len(data), now) == 0:
                raise NotFound()  # deleted meanwhile
            entry = await self._entry(workspace_id, file_id, tx)
        await self.events.publish(
            tree_changed(
                workspace_id,
                version,
                [{"op": "updated", "id": file_id, "path": str(entry["path"]), "kind": "file"}],
            ),
            actor=identity.user_id,
        )
        return entry_view(entry)

    # -- import and export --------------------------------------------------------------------

    async def import_archive(self, identity: Identity, workspace_id: str, spool: ArchiveSpooler) -> ImportSummary:
        """Create the text files and folders of an uploaded zip; report what was skipped.

        Binary entries are skipped; an archive in which nothing is text (and something was
        binary) is refused with 415. Entries that clash with the tree are skipped too. Creating
        more entries than the workspace may hold refuses the whole import (409).
        """
        membership = await self._membership(identity, workspace_id)
        self._require(identity, membership, WRITERS, "import")
        archive = await spool()
        try:
            await self._limit_import(identity)
            contents: ArchiveContents = await asyncio.to_thread(read_archive, archive, self.limits.import_limits())
        finally:
            archive.close()
        if contents.file_count == 0 and any(s.reason == "binary" for s in contents.skipped):
            raise UnsupportedMediaType(
                "The archive holds no text files; only text files can be imported.", code="binary_content"
            )
        plan = await self._create(identity, workspace_id, contents.entries, strict=False)
        skipped = contents.skipped + plan.skipped
        version = await store.tree_version(self.db, workspace_id)
        log.info(
            "archive imported workspace=%s user=%s created=%d skipped=%d",
            workspace_id,
            identity.user_id,
            len(plan.rows),
            len(skipped),
        )
        return ImportSummary(created=len(plan.rows), skipped=skipped, version=version)

    async def _limit_import(self, identity: Identity) -> None:
        """429 past :data:`IMPORT_RATE` (checked once the upload is in, so the answer is clean)."""
        if self.limiter is None:
            return
        decision = await self.limiter.hit("workspace_import", identity.user_id, IMPORT_RATE)
        if not decision.allowed:
            security_event(
                "ratelimit.hit",
                "workspace imports over their rate",
                level=logging.WARNING,
                bucket="workspace_import",
                user_id=identity.user_id,
            )
            raise RateLimited(decision.retry_after)

    async def export_archive(self, identity: Identity, workspace_id: str) -> Download:
        """A zip of every file and folder (files byte-for-byte as stored, UTF-8).

        Written one file at a time into a temporary file (in memory up to 8 MiB), so a large
        workspace never sits in memory whole.
        """
        membership = await self._membership(identity, workspace_id)
        rows = await store.list_entries(self.db, workspace_id)
        rows.sort(key=lambda row: sort_key(str(row["path"])))
        spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_EXPORT_IN_MEMORY)  # noqa: SIM115
        try:
            archive = open_export(spooled)
            with archive:
                for row in rows:
                    kind: Literal["file", "folder"] = "file" if row["kind"] == "file" else "folder"
                    text = await self.contents.read(workspace_id, str(row["id"])) if kind == "file" else ""
                    entry = ExportEntry(str(row["path"]), kind, int(row["updated_at"]), text)
                    await asyncio.to_thread(add_entry, archive, entry)
        except OSError as exc:
            spooled.close()
            raise _storage_error(exc) from exc
        except BaseException:
            spooled.close()
            raise
        size = spooled.tell()
        spooled.seek(0)
        return Download(name=f"{membership['name']}.zip", size=size, fileobj=spooled)

    # -- creating entries ---------------------------------------------------------------------

    async def _known(self, ex: Executor, workspace_id: str, paths: Sequence[str]) -> dict[str, Known]:
        """The stored entries a plan for ``paths`` can touch, by key."""
        if len(paths) <= _SMALL_PLAN:
            keys = {path_key(p) for path in paths for p in (*ancestors(path), path)}
            rows = await store.entries_by_keys(ex, workspace_id, sorted(keys))
        else:
            rows = await store.list_entries(ex, workspace_id)
        return {str(row["path_key"]): Known(str(row["id"]), str(row["path"]), str(row["kind"])) for row in rows}

    async def _check_capacity(self, ex: Executor, workspace_id: str, adding: int) -> None:
        if not adding:
            return
        count = await store.count_entries(ex, workspace_id)
        if count + adding > self.limits.max_entries:
            raise Conflict(
                f"A workspace holds at most {self.limits.max_entries} files and folders "
                f"(it has {count}; this change adds {adding}).",
                code="limit_reached",
            )

    async def _create(
        self, identity: Identity, workspace_id: str, items: Sequence[ArchiveEntry], *, strict: bool
    ) -> Plan:
        """Create ``items`` (and missing parent folders); contents first, then one transaction.

        The plan is made twice with the same ids: once to know which contents to write, and
        again under the workspace lock, where anything created meanwhile is taken into account.
        """
        ids: dict[str, str] = {}
        now = self._now()
        paths = [item.path for item in items]
        first = make_plan(
            items, await self._known(self.db, workspace_id, paths), ids, workspace_id, identity.user_id, now, strict
        )
        await self._check_capacity(self.db, workspace_id, len(first.rows))
        written: set[str] = set()
        try:
            await self._write_all(workspace_id, first.texts, written)
            async with self.db.transaction("workspaces.create") as tx:
                version = await self._lock_tree(tx, identity, workspace_id, now)
                plan = make_plan(
                    items, await self._known(tx, workspace_id, paths), ids, workspace_id, identity.user_id, now, strict
                )
                await self._check_capacity(tx, workspace_id, len(plan.rows))
                if not plan.rows:
                    raise _NothingCreated(plan)  # roll the version bump back: nothing changed
                await store.insert_entries(tx, plan.rows)
        except _NothingCreated as nothing:
            plan = nothing.plan
        except IntegrityViolation:
            await self._discard(workspace_id, sorted(written))
            raise Conflict("The tree changed at the same time; try again.", code="conflict") from None
        except BaseException:
            await self._discard(workspace_id, sorted(written))
            raise
        unused = written - plan.file_ids
        if unused:
            await self._discard(workspace_id, sorted(unused))
        if plan.rows:
            await self.events.publish(tree_changed(workspace_id, version, plan.changes), actor=identity.user_id)
        return plan

    async def _write_all(self, workspace_id: str, texts: dict[str, str], written: set[str]) -> None:
        """Write new files' contents, a few at a time; ``written`` collects what was written."""
        queue = [(file_id, text) for file_id, text in texts.items() if text]

        async def worker() -> None:
            while queue:
                file_id, text = queue.pop()
                written.add(file_id)
                try:
                    await self.contents.write(workspace_id, file_id, text)
                except ContentTooLarge:
                    raise _file_too_large(self.limits.max_file_bytes) from None

        # A task group, so that one failure stops the other writers before anything is discarded.
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(_WRITE_CONCURRENCY, len(queue))):
                    group.create_task(worker())
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from None

    async def _discard(self, workspace_id: str, file_ids: Sequence[str]) -> None:
        if not file_ids:
            return
        try:
            await self.contents.discard(workspace_id, file_ids)
        except Exception:
            log.warning("discarding documents failed workspace=%s count=%d", workspace_id, len(file_ids), exc_info=True)


def _last_owner() -> Conflict:
    return Conflict("A workspace must keep at least one owner: make someone else an owner first.", code="last_owner")


def _storage_error(exc: OSError) -> Exception:
    if exc.errno == errno.ENOSPC:
        return InsufficientStorage()
    return exc
