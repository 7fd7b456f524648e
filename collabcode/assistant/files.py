"""The files the assistant may use, always through the caller's own workspace permissions.

Every file that goes into a prompt is checked for the caller here, per request: the current
file by the document authorizer (the same rule as the editor socket), other files by reading
them through the workspaces service as the caller (404 for anything they may not see).
"""

from __future__ import annotations

from collections.abc import Callable

from collabcode.auth.identity import Identity
from collabcode.db import Executor
from collabcode.errors import NotFound
from collabcode.workspaces import store as workspace_store
from collabcode.workspaces.authorizer import WorkspaceAuthorizer
from collabcode.workspaces.service import WorkspaceService


class WorkspaceFiles:
    def __init__(self, db: Executor, workspaces: Callable[[], WorkspaceService]) -> None:
        self._db = db
        self._authorizer = WorkspaceAuthorizer(db)
        self._workspaces = workspaces

    async def path(self, identity: Identity, workspace_id: str, file_id: str) -> str:
        """The path of a file the caller may read; NotFound otherwise."""
        if await self._authorizer.access(identity, workspace_id, file_id) == "none":
            raise NotFound()
        row = await workspace_store.entry(self._db, workspace_id, file_id)
        if row is None:
            raise NotFound()
        return str(row["path"])

    async def read(self, identity: Identity, workspace_id: str, file_id: str) -> tuple[str, str]:
        """``(path, text)`` read as the caller (NotFound / Conflict as the workspaces API answers)."""
        return await self._workspaces().read_content(identity, workspace_id, file_id)

    async def role(self, identity: Identity, workspace_id: str) -> str | None:
        return await self._workspaces().role_of(identity.user_id, workspace_id)
