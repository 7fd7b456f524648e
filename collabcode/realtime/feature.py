"""The live events feature: ``/ws/events``, the per-user hub and presence.

``start`` picks the presence store (Redis when ``--redis-url`` is set, with a per-process
fallback while Redis does not answer; otherwise memory, shared by every bus on one in-process
hub), builds the :class:`~collabcode.realtime.hub.EventsHub` into ``services.extras`` (reach it
with :func:`~collabcode.realtime.hub.events_hub`), and runs two background tasks: the presence
sweep (users whose process died go offline) and the pruning of old stream events. Features that
use the hub (chat, later calls) come after this one in ``FEATURE_MODULES``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.routing import BaseRoute

from collabcode.clock import now_ms
from collabcode.pubsub import MemoryBus
from collabcode.realtime import events_routes, store
from collabcode.realtime.hub import HUB_KEY, EventsHub
from collabcode.realtime.presence import (
    FallbackPresence,
    MemoryPresence,
    Presence,
    PresenceStore,
    RedisPresence,
    memory_presence_for,
)
from collabcode.realtime.presence import sweep_forever as presence_sweep
from collabcode.services import Services

log = logging.getLogger(__name__)

#: Stream events older than this are deleted; a client away longer is told to reload (``resync``).
EVENT_RETENTION_SECONDS = 30 * 86400
PRUNE_SECONDS = 3600.0


def presence_store(services: Services) -> PresenceStore:
    if services.settings.redis_url:
        return FallbackPresence(RedisPresence(services.settings.redis_url), services.clock)
    bus = services.bus
    return memory_presence_for(bus.hub if isinstance(bus, MemoryBus) else None)


async def _prune_forever(services: Services) -> None:
    while True:
        try:
            cutoff = now_ms(services.clock) - EVENT_RETENTION_SECONDS * 1000
            for _ in range(1000):
                if await store.prune_events(services.db, cutoff) == 0:
                    break
        except Exception:
            log.warning("pruning old stream events failed", exc_info=True)
        await asyncio.sleep(PRUNE_SECONDS)


class RealtimeFeature:
    name = "realtime"

    @property
    def routes(self) -> list[BaseRoute]:
        return events_routes.routes

    async def start(self, services: Services) -> None:
        store_ = presence_store(services)
        presence = Presence(store_, services.db, services.clock)
        hub = EventsHub(bus=services.bus, db=services.db, presence=presence)
        events_routes.register_frames(hub)
        services.extras[HUB_KEY] = hub
        services.metrics.add_stats("collabcode_events_hub", hub.stats, "Events hub of this process")
        if isinstance(store_, MemoryPresence | FallbackPresence):
            services.metrics.add_stats("collabcode_presence", store_.stats, "Presence entries in this process")
        tasks = [
            asyncio.create_task(presence_sweep(presence), name="events-presence-sweep"),
            asyncio.create_task(_prune_forever(services), name="events-prune"),
        ]

        async def stop() -> None:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await store_.close()

        services.shutdown_hooks.append(stop)


feature = RealtimeFeature()
