"""Who may open a file's collaborative document: decided by workspace roles.

Owners and editors write, viewers read, and everyone else gets ``"none"``: non-members, and
anyone asking for a file id that is not a file of that workspace (a folder, a deleted file, a
file of another workspace). The collaboration socket asks at the handshake and again now and
then while the socket is open, so a role change or removal reaches open editors quickly.

A database that cannot be reached raises (the socket layer answers "try again later") rather
than answering ``"none"``, which would throw every editor out during a short outage.
"""

from __future__ import annotations

import re
from typing import Final, Literal

from collabcode.auth.identity import Identity
from collabcode.db import Executor
from collabcode.workspaces import store

Access = Literal["none", "read", "write"]

ROLE_ACCESS: Final[dict[str, Access]] = {"owner": "write", "editor": "write", "viewer": "read"}
_ID: Final = re.compile(r"^[0-9a-f]{32}$")


class WorkspaceAuthorizer:
    """The production document authorizer, backed by workspace memberships."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def access(self, identity: Identity, workspace_id: str, file_id: str) -> Access:
        if not (_ID.fullmatch(workspace_id) and _ID.fullmatch(file_id)):
            return "none"
        role = await store.file_access(self._db, workspace_id, file_id, identity.user_id)
        return ROLE_ACCESS.get(role or "", "none")
