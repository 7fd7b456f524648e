"""The calls feature: its routes and frames, and what it builds when the app starts.

``start`` builds the :class:`~collabcode.calls.service.CallService` on the events hub (so the
realtime and chat features must start first: calls use chat's conversations and blocks),
registers the signaling and call-action frames, and runs the timeout task (ring-outs, hang-ups
after a lost connection). The UDP servers (STUN, coturn) are not started here but by
``collabcode serve`` (``collabcode.calls.network``), so in-process apps never bind those ports.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from collabcode.calls import routes as call_routes
from collabcode.calls.service import EVENT_KINDS, SERVICE_KEY, CallService
from collabcode.ratelimit import limiter_for
from collabcode.realtime.hub import events_hub
from collabcode.services import Services


class CallsFeature:
    name = "calls"

    @property
    def routes(self) -> list[BaseRoute]:
        return call_routes.routes

    async def start(self, services: Services) -> None:
        hub = events_hub(services)
        service = CallService(db=services.db, clock=services.clock, hub=hub, limiter=limiter_for(services))
        call_routes.register_frames(hub)
        hub.add_renderer(EVENT_KINDS, service.render)
        services.extras[SERVICE_KEY] = service
        services.metrics.add_stats("collabcode_calls", service.stats, "Calls")
        service.start()
        services.shutdown_hooks.append(service.close)


feature = CallsFeature()
