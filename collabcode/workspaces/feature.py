"""The workspaces feature: its routes, and what it builds when the app starts.

``start`` builds the :class:`WorkspaceService` on the collaboration service (file contents are
collaborative documents), starts the workspace event relay, and installs the role-based
document authorizer into the collaboration feature, which must start before this one.
"""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute

from collabcode.collab.service import collab_service
from collabcode.ratelimit import limiter_for
from collabcode.services import Services
from collabcode.workspaces.authorizer import WorkspaceAuthorizer
from collabcode.workspaces.contents import CollabContents, install_authorizer, notify_access_changed
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

        contents = CollabContents(collab_service(services))
        service = WorkspaceService(
            db=services.db,
            clock=services.clock,
            contents=contents,
            events=events,
            limits=workspace_limits(services),
            on_access_changed=access_changed,
            limiter=limiter_for(services),
        )

        async def on_remote(event: Event) -> None:
            # Another process changed who may do what: re-check this process's open sockets now.
            kind, workspace_id = event.get("type"), str(event["workspace_id"])
            if kind in {"members.changed", "workspace.deleted"}:
                user_id = event.get("user_id")
                await access_changed(workspace_id, user_id if isinstance(user_id, str) else None)
            # Another process deleted files: forget them here too, in case this process saved
            # changes to them after that process removed their rows.
            if kind == "workspace.deleted":
                await contents.discard_loaded(workspace_id, None)
            elif kind == "tree.changed":
                changes = event.get("changes")
                deleted = [
                    str(change["id"])
                    for change in (changes if isinstance(changes, list) else ())
                    if isinstance(change, dict) and change.get("op") == "deleted" and change.get("kind") == "file"
                ]
                if deleted:
                    await contents.discard_loaded(workspace_id, deleted)

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
