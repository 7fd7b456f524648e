"""The collaboration API other features use: read and change documents from server code.

Documents are addressed like the socket addresses them, by workspace id and file id. Changes made
here are server transactions: stored, published to the other processes and shown live to
everyone editing the file. Get the service with :func:`collab_service`::

    collab = collab_service(services)
    text = await collab.text(workspace_id, file_id)
    await collab.replace_text(workspace_id, file_id, "print('hi')\\n")
    version = await collab.snapshot(workspace_id, file_id)   # keep it wherever versions live
    await collab.restore(workspace_id, file_id, version)     # a new change back to that text
    collab.recheck_access(workspace_id=workspace_id)         # after a membership/role change
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import pycrdt

from collabcode.collab.protocol import ProtocolError, guarded
from collabcode.collab.room import TEXT_NAME, Room
from collabcode.collab.rooms import RoomManager
from collabcode.collab.sql_store import SqlDocumentStore

if TYPE_CHECKING:
    from collabcode.collab.connection import SocketHub
    from collabcode.services import Services

__all__ = ["SERVICE_KEY", "CollabService", "DocumentVersion", "InvalidDocumentId", "collab_service", "document_id"]

#: ``services.extras`` key of the running :class:`CollabService`.
SERVICE_KEY: Final = "collab"

#: Workspace and file ids: short ASCII (what the server generates: UUID hex and the like).
ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


class InvalidDocumentId(ValueError):
    """A workspace or file id outside the id alphabet (ASCII letters, digits, ``_``, ``-``; 1-64)."""


def valid_id(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None


def document_id(workspace_id: str, file_id: str) -> str:
    """The id a document is stored and published under: ``<workspace id>/<file id>``.

    The workspace is part of it, so a file id paired with the wrong workspace can never reach
    another workspace's document, whatever an authorization rule gets wrong.
    """
    if not (valid_id(workspace_id) and valid_id(file_id)):
        raise InvalidDocumentId("workspace and file ids are 1-64 ASCII letters, digits, '_' or '-'")
    return f"{workspace_id}/{file_id}"


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    """A document as it was: its whole state as one v1 update, and its text."""

    state: bytes
    text: str

    @classmethod
    def from_state(cls, state: bytes) -> DocumentVersion:
        """Read a stored version back; raises ValueError when ``state`` is not a Yjs update."""
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        try:
            guarded(lambda: doc.apply_update(state))
        except ProtocolError as exc:
            raise ValueError("not a Yjs document state") from exc
        return cls(state, str(doc.get(TEXT_NAME, type=pycrdt.Text)))


class CollabService:
    """Server-side access to collaborative documents (no HTTP, no sockets)."""

    def __init__(self, manager: RoomManager, store: SqlDocumentStore, hub: SocketHub) -> None:
        self.manager = manager
        self.store = store
        self.hub = hub

    async def open(self, workspace_id: str, file_id: str) -> Room:
        """The loaded document (loading it if needed). Read it; change it through this service.

        A room nobody is connected to is unloaded again after the idle period.
        """
        return await self.manager.get(document_id(workspace_id, file_id))

    async def text(self, workspace_id: str, file_id: str) -> str:
        """The file's current text, including edits not stored yet."""
        return (await self.open(workspace_id, file_id)).text

    async def replace_text(self, workspace_id: str, file_id: str, text: str) -> None:
        """Set the file's text (only the differing span changes, so cursors elsewhere stay).

        Returns once the change is durable. Raises PersistenceError when the database is down:
        the change is applied and shown to collaborators regardless, and is saved on a retry.
        Raises ProtocolError(1009, ``doc_too_large``) when the text would exceed the size limit.
        """
        doc_id = document_id(workspace_id, file_id)
        await self.manager.replace_text(doc_id, text)
        await self.manager.flush(doc_id)

    async def edit(self, workspace_id: str, file_id: str, start: int, end: int, insert: str) -> str:
        """Replace characters ``start:end`` (Python string indexes) with ``insert``; the new text."""
        current = await self.text(workspace_id, file_id)
        if not 0 <= start <= end <= len(current):
            raise ValueError(f"edit range {start}:{end} is outside the text (length {len(current)})")
        updated = current[:start] + insert + current[end:]
        await self.replace_text(workspace_id, file_id, updated)
        return updated

    async def snapshot(self, workspace_id: str, file_id: str) -> DocumentVersion:
        """The document as it is now, to keep as a version."""
        room = await self.open(workspace_id, file_id)
        return DocumentVersion(room.encoded_state(), room.text)

    async def restore(self, workspace_id: str, file_id: str, version: DocumentVersion) -> None:
        """Bring the text back to ``version`` as a new change that every collaborator receives.

        History is not rewound (collaborators' later edits are undone by the new change, not
        erased from the CRDT), so clients that are offline merge cleanly when they return.
        """
        await self.replace_text(workspace_id, file_id, version.text)

    async def delete(self, workspace_id: str, file_id: str) -> None:
        """Forget a deleted file's document: unload it here without saving, then drop its rows.

        Other processes that had it open do the same when they hear of the deletion, so a save
        racing the delete cannot leave rows behind for a file that no longer exists.
        """
        doc_id = document_id(workspace_id, file_id)
        await self.manager.discard(doc_id)
        await self.store.delete(doc_id)

    def recheck_access(self, *, user_id: str | None = None, workspace_id: str | None = None) -> int:
        """Re-check permissions now on this process's open sockets (after a role change).

        Sockets on other processes re-check on their own within seconds. Returns how many were
        asked.
        """
        return self.hub.recheck(user_id=user_id, workspace_id=workspace_id)


def collab_service(services: Services) -> CollabService:
    """The running collaboration service (the collab feature must be enabled)."""
    service = services.extras.get(SERVICE_KEY)
    if not isinstance(service, CollabService):
        raise RuntimeError("the collaboration feature is not running")
    return service
