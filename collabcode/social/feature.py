"""The social feature: profiles, following, avatars, the dashboard, the activity feed, and the
admin pages' instance endpoints.

``start`` (after chat, which owns blocks) builds the :class:`~collabcode.social.service.SocialService`
on the events hub and:

- widens who may see presence: workspace co-members (symmetric) and followers (directed);
- stores workspace events in the activity log on the process that made the change;
- runs the live-activity tracker over this process's collaboration sockets;
- plugs the other features' parts of the dashboard in: unread conversations (chat), missed
  calls (calls, looked up when asked, since it starts later) and sessions (accounts).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.routing import BaseRoute

from collabcode.auth.identity import Identity
from collabcode.auth.routes import session_json
from collabcode.auth.service import auth_service
from collabcode.chat.service import chat_service
from collabcode.collab.service import collab_service
from collabcode.ratelimit import limiter_for
from collabcode.realtime.hub import events_hub
from collabcode.services import Services
from collabcode.social import admin, routes
from collabcode.social.activity import ActivityLog, LiveTracker
from collabcode.social.service import SERVICE_KEY, SocialService
from collabcode.workspaces.feature import workspace_service

#: Missed calls shown on the dashboard (from the newest calls the user was rung for).
MISSED_CALLS = 10


def _sections(services: Services) -> dict[str, Any]:
    async def unread(identity: Identity) -> list[dict[str, Any]]:
        conversations, _ = await chat_service(services).list_conversations(identity.user_id)
        return [
            {
                "id": c["id"],
                "other": {"username": c["peer"]["username"], "display_name": c["peer"]["display_name"]},
                "unread_count": c["unread_count"],
                "last_message": c["last_message"],
            }
            for c in conversations
            if c["unread_count"] > 0
        ]

    async def missed(identity: Identity) -> list[dict[str, Any]]:
        from collabcode.calls.service import calls_service

        try:
            calls = calls_service(services)
        except RuntimeError:
            return []  # the calls feature is not enabled on this instance
        history, _ = await calls.history(identity.user_id, before=None, limit=50)
        out: list[dict[str, Any]] = []
        for call in history:
            mine = [p for p in call["participants"] if p["user_id"] == identity.user_id]
            if call["caller"]["user_id"] != identity.user_id and mine and mine[0]["state"] == "missed":
                out.append(
                    {
                        "id": call["id"],
                        "caller": call["caller"],
                        "media": call["media"],
                        "conversation_id": call["conversation_id"],
                        "workspace_id": call["workspace_id"],
                        "started_at": call["started_at"],
                    }
                )
        return out[:MISSED_CALLS]

    async def sessions(identity: Identity) -> list[dict[str, Any]]:
        return [session_json(view) for view in await auth_service(services).list_sessions(identity)]

    return {"unread_conversations": unread, "missed_calls": missed, "sessions": sessions}


class SocialFeature:
    name = "social"

    @property
    def routes(self) -> list[BaseRoute]:
        return [*routes.routes, *admin.routes]

    async def start(self, services: Services) -> None:
        hub = events_hub(services)
        service = SocialService(db=services.db, clock=services.clock, hub=hub, limiter=limiter_for(services))
        service.sections.update(_sections(services))
        hub.presence.add_audience_source(service.co_members)
        hub.presence.add_directed_source(service.followers, service.followed)
        workspace_service(services).events.on_change(ActivityLog(services.db, services.clock).on_change)
        services.extras[SERVICE_KEY] = service

        tracker = LiveTracker(services.db, services.clock, collab_service(services).hub.open_documents)
        task = asyncio.create_task(tracker.run(), name="social-live-activity")
        services.metrics.add_stats("collabcode_live_activity", tracker.stats, "Live activity tracked by this process")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await tracker.close()

        services.shutdown_hooks.append(stop)


feature = SocialFeature()
