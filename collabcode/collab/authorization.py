"""Who may open which document: the rule the collaboration socket asks at connect and every few seconds.

The collaboration feature does not know workspaces; the feature that owns them supplies the rule
by putting an object with this shape into ``services.extras[AUTHORIZER_KEY]`` when it starts
(tests set one on the app with :func:`collabcode.collab.feature.set_authorizer`). Without one,
every document answers ``"none"`` and every handshake is refused.
"""

from __future__ import annotations

from typing import Final, Literal, Protocol

from collabcode.auth.identity import Identity

__all__ = ["AUTHORIZER_KEY", "Access", "DenyAll", "DocumentAuthorizer"]

Access = Literal["none", "read", "write"]

#: Where the workspaces feature puts its rule: ``services.extras[AUTHORIZER_KEY] = rule``.
AUTHORIZER_KEY: Final = "collab_authorizer"


class DocumentAuthorizer(Protocol):
    async def access(self, identity: Identity, workspace_id: str, file_id: str) -> Access:
        """``"write"``, ``"read"`` or ``"none"`` for this user on this file of this workspace.

        Must answer ``"none"`` when ``file_id`` is not a file of ``workspace_id`` (path-pair
        consistency), and may raise when it cannot tell (database down): the handshake is then
        refused, and an open socket keeps its current permission until the next check.
        """
        ...


class DenyAll:
    """The rule until a feature supplies one: nobody may open any document."""

    async def access(self, identity: Identity, workspace_id: str, file_id: str) -> Access:
        return "none"
