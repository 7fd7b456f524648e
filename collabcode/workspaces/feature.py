"""The workspaces feature: its routes, and what it builds when the app starts.

``start`` builds the :class:`WorkspaceService` on the collaboration service (file contents are
collaborative documents), starts the workspace event relay, and installs the role-based
document authorizer into the collaboration feature, which must start before this one.
"""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute

from collabcode.services import Services
from collabcode.workspaces.authorizer import WorkspaceAuthorizer
from collabcode.workspaces.contents import collab_contents, install_authorizer, notify_access_changed
from collabcode.workspaces.events import Event, WorkspaceEvents
from collabcode.workspaces.routes import EXTRAS_KEY, routes
from collabcode.workspaces.service import WorkspaceLimits, WorkspaceService

log = logging.getLogger(__name__)


def workspace_limits(services: Services) -> WorkspaceLimits:
    """The default limits, with files never larger than an accepted upload."""
    defaults = WorkspaceLimits()
    return WorkspaceLimits(max_file_bytes=min(defaults.max_file_bytes, services.settings.max_upload_bytes))


class WorkspacesFeature:
    name = "workspaces"

    @property
    def routes(self) -> list[BaseRoute]:
        return routes

    async def start(self, services: Services) -> None:
        events = WorkspaceEvents(services.bus)

        async def access_changed(workspace_id: str, user_id: str | None) -> None:
            await notify_access_changed(services, workspace_id, user_id)

        service = WorkspaceService(
            db=services.db,
            clock=services.clock,
            contents=collab_contents(services),
            events=events,
            limits=workspace_limits(services),
            on_access_changed=access_changed,
        )

        async def on_remote(event: Event) -> None:
            # Another process changed who may do what: re-check this process's open sockets now.
            if event.get("type") in {"members.changed", "workspace.deleted"}:
                user_id = event.get("user_id")
                await access_changed(str(event["workspace_id"]), user_id if isinstance(user_id, str) else None)

        events.on_remote(on_remote)
        await events.start()
        services.extras[EXTRAS_KEY] = service
        install_authorizer(services, WorkspaceAuthorizer(services.db))
        services.shutdown_hooks.append(events.close)


def workspace_service(services: Services) -> WorkspaceService:
    """The running instance's WorkspaceService (for other features, e.g. the events hub)."""
    service = services.extras.get(EXTRAS_KEY)
    if not isinstance(service, WorkspaceService):
        raise RuntimeError("the workspaces feature has not started: add collabcode.workspaces.feature")
    return service


feature = WorkspacesFeature()
