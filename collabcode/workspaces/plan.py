"""Planning tree changes: which rows a creation or move adds, and what it clashes with.

Pure functions over a snapshot of the tree (``known``: path key -> entry); the service runs a
plan before writing contents and again under the workspace lock, with the same ids, so that
anything created meanwhile is accounted for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from collabcode.errors import Conflict, ValidationFailed
from collabcode.workspaces.archive import ArchiveEntry, Skipped, SkipReason
from collabcode.workspaces.paths import MAX_DEPTH, MAX_PATH_BYTES, ancestors, depth, path_key, rebase

#: ``(id, workspace_id, path, path_key, kind, size, created_by, now)``, as ``store.insert_entries`` takes it.
EntryRow = tuple[str, str, str, str, str, int, str, int]


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Known:
    """An entry as the planner sees it: one already stored or one planned in this change."""

    id: str
    path: str
    kind: str


@dataclass
class Plan:
    rows: list[EntryRow] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def file_ids(self) -> set[str]:
        return {row[0] for row in self.rows if row[4] == "file"}


_CONFLICT_MESSAGES: Final[dict[str, str]] = {
    "already_exists": "{path!r} already exists.",
    "parent_is_file": "{path!r} is a file, so it cannot contain other entries.",
    "case_conflict": "The folder {path!r} already exists; names that differ only by case are the same name.",
}


class PlanConflict(Exception):
    def __init__(self, reason: SkipReason, path: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path

    def error(self) -> Conflict:
        message = _CONFLICT_MESSAGES[self.reason].format(path=self.path)
        return Conflict(message, code=self.reason, details={"field": "path", "path": self.path})


def check_rebased(paths: Iterable[str], old_prefix: str, new_prefix: str) -> None:
    """Moving ``old_prefix`` to ``new_prefix`` must keep every path below within the limits."""
    for path in paths:
        moved = rebase(path, old_prefix, new_prefix)
        if depth(moved) > MAX_DEPTH:
            raise ValidationFailed(
                f"path: After the move, {moved[:80]!r}… would be more than {MAX_DEPTH} levels deep.",
                details={"field": "path", "rule": "too_deep"},
            )
        if len(moved.encode("utf-8")) > MAX_PATH_BYTES:
            raise ValidationFailed(
                f"path: After the move, a path below it would be longer than {MAX_PATH_BYTES} bytes.",
                details={"field": "path", "rule": "path_too_long"},
            )


def plan_ancestors(
    path: str,
    known: dict[str, Known],
    plan: Plan,
    workspace_id: str,
    user_id: str,
    now: int,
    ids: dict[str, str],
) -> None:
    """Check ``path``'s parents and plan the missing ones as folders; raise PlanConflict."""
    missing: list[tuple[str, str]] = []
    for folder in ancestors(path):
        key = path_key(folder)
        existing = known.get(key)
        if existing is None:
            missing.append((folder, key))
        elif existing.kind != "folder":
            raise PlanConflict("parent_is_file", existing.path)
        elif existing.path != folder:
            raise PlanConflict("case_conflict", existing.path)
    for folder, key in missing:
        folder_id = ids.setdefault(key, new_id())
        known[key] = Known(folder_id, folder, "folder")
        plan.rows.append((folder_id, workspace_id, folder, key, "folder", 0, user_id, now))
        plan.changes.append({"op": "created", "id": folder_id, "path": folder, "kind": "folder"})


def make_plan(
    items: Iterable[ArchiveEntry],
    known: dict[str, Known],
    ids: dict[str, str],
    workspace_id: str,
    user_id: str,
    now: int,
    strict: bool,
) -> Plan:
    """The rows to insert for ``items`` given the ``known`` tree; conflicts raise (strict) or skip."""
    plan = Plan()
    for item in items:
        key = path_key(item.path)
        try:
            existing = known.get(key)
            if existing is not None:
                if existing.kind == "folder" and item.kind == "folder" and not strict:
                    continue  # importing a folder that is already there
                raise PlanConflict("already_exists", existing.path)
            plan_ancestors(item.path, known, plan, workspace_id, user_id, now, ids)
        except PlanConflict as exc:
            if strict:
                raise exc.error() from None
            plan.skipped.append(Skipped(item.path, exc.reason))
            continue
        entry_id = ids.setdefault(key, new_id())
        known[key] = Known(entry_id, item.path, item.kind)
        size = len(item.text.encode("utf-8")) if item.text else 0
        plan.rows.append((entry_id, workspace_id, item.path, key, item.kind, size, user_id, now))
        plan.changes.append({"op": "created", "id": entry_id, "path": item.path, "kind": item.kind})
        if item.kind == "file":
            plan.texts[entry_id] = item.text or ""
    return plan
