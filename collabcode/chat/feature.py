"""The chat feature: its routes and frames, and what it builds when the app starts.

``start`` builds the :class:`~collabcode.chat.service.ChatService` on the events hub (so the
realtime feature must start first), registers chat's frames and stream renderers with the hub,
records "delivered" when a message frame reaches a recipient's socket, and adds chat peers to
who may see a user's presence (minus blocks). Code references in messages use the collaboration
service when it runs (without it, sending one is refused and stored ones read as unavailable).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from collabcode.chat import routes as chat_routes
from collabcode.chat.code_refs import CodeRefs
from collabcode.chat.service import EVENT_KINDS, SERVICE_KEY, ChatService
from collabcode.collab.service import SERVICE_KEY as COLLAB_KEY
from collabcode.collab.service import CollabService
from collabcode.ratelimit import limiter_for
from collabcode.realtime.hub import events_hub
from collabcode.services import Services


class ChatFeature:
    name = "chat"

    @property
    def routes(self) -> list[BaseRoute]:
        return chat_routes.routes

    async def start(self, services: Services) -> None:
        hub = events_hub(services)
        limiter = limiter_for(services)
        collab = services.extras.get(COLLAB_KEY)
        service = ChatService(
            db=services.db,
            clock=services.clock,
            hub=hub,
            limiter=limiter,
            hash_key=services.secrets.hash_key,
            code_refs=CodeRefs(services.db, collab if isinstance(collab, CollabService) else None, limiter),
        )
        chat_routes.register_frames(hub)
        hub.add_renderer(EVENT_KINDS, service.render)
        hub.on_written("message", service.on_frame_written)
        hub.presence.add_audience_source(service.audience)
        hub.presence.add_audience_filter(service.without_blocked)
        services.extras[SERVICE_KEY] = service
        services.metrics.add_stats("collabcode_chat", service.stats, "Private messaging")
        service.start()
        services.shutdown_hooks.append(service.close)


feature = ChatFeature()
