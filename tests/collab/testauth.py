"""Test identities and a permission rule for the collaboration socket.

Kept free of pytest so ``tests/collab/serve_app.py`` can use them in a server process of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.websockets import WebSocket

from collabcode.auth.dependencies import WebSocketRejected, bearer_token
from collabcode.auth.identity import Identity
from collabcode.collab.authorization import Access
from collabcode.collab.connection import SocketLimits
from collabcode.collab.feature import set_authenticator, set_authorizer, set_limits
from collabcode.services import Services

TOKEN_PREFIX = "test-token-"


def identity_for(user_id: str) -> Identity:
    return Identity(
        user_id=user_id,
        session_id=f"session-{user_id}",
        username=user_id,
        display_name=f"{user_id.title()} Tester",
        role="member",
        email_verified=True,
        avatar_color="#336699",
    )


def token_for(user_id: str) -> str:
    return TOKEN_PREFIX + user_id


@dataclass
class FakeAuth:
    """Identifies ``test-token-<user id>`` (``?ticket=`` or Bearer); sessions can be revoked."""

    revoked: set[str] = field(default_factory=set)

    async def authenticate(self, websocket: WebSocket) -> Identity:
        token = websocket.query_params.get("ticket") or bearer_token(websocket)
        if not token or not token.startswith(TOKEN_PREFIX):
            raise WebSocketRejected("invalid_ticket")
        identity = identity_for(token[len(TOKEN_PREFIX) :])
        if identity.session_id in self.revoked:
            raise WebSocketRejected("session_revoked")
        return identity

    async def session_alive(self, services: Services, session_id: str) -> bool:
        return session_id not in self.revoked


@dataclass
class RoleRule:
    """Everyone may write unless listed; ``roles[user_id]`` overrides (``"read"``, ``"none"``)."""

    roles: dict[str, Access] = field(default_factory=dict)
    calls: int = 0

    async def access(self, identity: Identity, workspace_id: str, file_id: str) -> Access:
        self.calls += 1
        return self.roles.get(identity.user_id, "write")


def configure_test_app(
    app: Starlette, auth: FakeAuth | None, rule: RoleRule, limits: SocketLimits | None = None
) -> None:
    """Test permissions; test identities unless ``auth`` is None (then the accounts feature's)."""
    if auth is not None:
        set_authenticator(app, auth.authenticate, session_alive=auth.session_alive)
    set_authorizer(app, rule)
    if limits is not None:
        set_limits(app, limits)
