"""File contents as collaborative documents: the bridge from workspaces to the collab feature.

A file's text is the root ``Y.Text`` named ``content`` of the document addressed by (workspace
id, file id). Reads see the live document when this process has it loaded (edits not saved yet
included) and the stored document otherwise (other processes store edits within 100 ms), so a
tree-wide export does not load thousands of rooms. A write replaces the text as one server
transaction through the collaboration service: stored, published to the other processes and
shown to everyone editing the file; it returns once durable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from collabcode.collab.authorization import AUTHORIZER_KEY, DocumentAuthorizer
from collabcode.collab.protocol import ProtocolError
from collabcode.collab.rooms import PersistenceError
from collabcode.collab.service import SERVICE_KEY, CollabService, DocumentVersion, collab_service, document_id
from collabcode.db import DatabaseUnavailable
from collabcode.errors import ServiceUnavailable
from collabcode.services import Services
from collabcode.workspaces.service import ContentTooLarge, FileContents

log = logging.getLogger(__name__)


class CollabContents:
    """:class:`FileContents` over the running :class:`CollabService`."""

    def __init__(self, collab: CollabService) -> None:
        self._collab = collab

    async def read(self, workspace_id: str, file_id: str) -> str:
        doc_id = document_id(workspace_id, file_id)
        room = self._collab.manager.loaded(doc_id)
        if room is not None:
            return room.text
        state = await self._collab.store.load(doc_id)
        if not state:
            return ""
        try:
            return DocumentVersion.from_state(state).text
        except ValueError:
            # Not decodable from here: let the collaboration service load it (and report it).
            return await self._collab.text(workspace_id, file_id)

    async def write(self, workspace_id: str, file_id: str, text: str) -> None:
        try:
            await self._collab.replace_text(workspace_id, file_id, text)
        except ProtocolError as exc:
            if exc.reason == "doc_too_large":
                raise ContentTooLarge(file_id) from None
            raise
        except (PersistenceError, DatabaseUnavailable):
            raise ServiceUnavailable("The file could not be saved right now; try again shortly.") from None

    async def discard(self, workspace_id: str, file_ids: Sequence[str]) -> None:
        """Drop the documents of deleted files and make their open sockets re-check at once.

        The authorizer answers ``"none"`` for a file that is gone, so the re-check closes them.
        """
        self._collab.recheck_access(workspace_id=workspace_id)
        for file_id in file_ids:
            await self._collab.delete(workspace_id, file_id)

    async def discard_loaded(self, workspace_id: str, file_ids: Sequence[str] | None) -> int:
        """:meth:`discard` for those of ``file_ids`` (all of the workspace's if None) open here.

        Run when another process deleted them: this process may have saved changes after that
        delete. Returns how many were open.
        """
        prefix = f"{workspace_id}/"
        loaded = [doc_id[len(prefix) :] for doc_id in self._collab.manager.doc_ids if doc_id.startswith(prefix)]
        if file_ids is not None:
            deleted = set(file_ids)
            loaded = [file_id for file_id in loaded if file_id in deleted]
        if loaded:
            await self.discard(workspace_id, loaded)
        return len(loaded)


def collab_contents(services: Services) -> FileContents:
    return CollabContents(collab_service(services))


def install_authorizer(services: Services, authorizer: DocumentAuthorizer) -> None:
    """Make ``authorizer`` the rule the collaboration socket asks (replacing deny-all)."""
    services.extras[AUTHORIZER_KEY] = authorizer


async def notify_access_changed(services: Services, workspace_id: str, user_id: str | None) -> None:
    """Ask this process's open sockets of the workspace (or of one member) to re-check now."""
    collab = services.extras.get(SERVICE_KEY)
    if isinstance(collab, CollabService):
        collab.recheck_access(workspace_id=workspace_id, user_id=user_id)
