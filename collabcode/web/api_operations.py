"""Every documented HTTP operation, collected from the features' ``api_doc`` modules.

A feature that adds routes adds its operations here too; tests/web/test_openapi.py fails for a
route without an operation and for an operation without a route.
"""

from __future__ import annotations

from collabcode.assistant import api_doc as assistant
from collabcode.auth import api_doc as auth
from collabcode.calls import api_doc as calls
from collabcode.chat import api_doc as chat
from collabcode.history import api_doc as history
from collabcode.social import api_doc as social
from collabcode.web import api_doc as web
from collabcode.web.openapi import Operation
from collabcode.workspaces import api_doc as workspaces

OPERATIONS: list[Operation] = [
    *web.OPERATIONS,
    *auth.OPERATIONS,
    *workspaces.OPERATIONS,
    *history.OPERATIONS,
    *chat.OPERATIONS,
    *social.OPERATIONS,
    *calls.OPERATIONS,
    *assistant.OPERATIONS,
]
