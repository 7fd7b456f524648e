"""Workspace events on members' ``/ws/events`` sockets, so open clients see changes live.

The process that makes a change forwards its event, once, to every member's sockets on any
process (the events hub relays across processes), plus anyone the change is about who is no
longer a member (someone removed, the members of a deleted workspace). Members are read at send
time, so a removed member stops receiving the workspace's events with the change that removed
them. Frames are ephemeral: a client that missed some (offline, lossy bus) re-reads the tree when
a ``version`` skips, as docs/protocol.md says.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from starlette.routing import BaseRoute

from collabcode.realtime.hub import EventsHub, events_hub
from collabcode.services import Services
from collabcode.workspaces import store
from collabcode.workspaces.events import Event
from collabcode.workspaces.feature import workspace_service

log = logging.getLogger(__name__)

FRAME_TYPE: Final = "workspace.event"


class WorkspaceLiveEvents:
    """Forwards a workspace's events to the events sockets of those allowed to see them."""

    def __init__(self, services: Services, hub: EventsHub) -> None:
        self._db = services.db
        self._hub = hub

    async def forward(self, event: Event, also_to: Sequence[str]) -> None:
        workspace_id = str(event["workspace_id"])
        try:
            rows = await store.list_members(self._db, workspace_id)
        except Exception:
            log.warning("workspace event not forwarded workspace=%s", workspace_id, exc_info=True)
            return
        recipients = [str(row["user_id"]) for row in rows] + list(also_to)
        if recipients:
            await self._hub.send_to_users(
                recipients, {"type": FRAME_TYPE, "workspace_id": workspace_id, "event": event}
            )


class WorkspaceLiveFeature:
    """Starts after both the workspaces and the realtime features (it needs both)."""

    name = "workspace-live"

    @property
    def routes(self) -> list[BaseRoute]:
        return []

    async def start(self, services: Services) -> None:
        live = WorkspaceLiveEvents(services, events_hub(services))
        workspace_service(services).events.on_published(live.forward)


feature = WorkspaceLiveFeature()
