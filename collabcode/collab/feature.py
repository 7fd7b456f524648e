"""The collaboration feature: the socket route, and the rooms, store and relay behind it.

``start`` builds, on the shared services: the SQL document store (group commit), the room
manager (with the app's clock), the broker relay (``collab.*``), a sweep task that retries failed
saves and unloads idle rooms, the metrics, and :class:`~collabcode.collab.service.CollabService`
in ``services.extras["collab"]``. Shutdown, after the sockets were closed with 1001, flushes
every room and the store.

Injection points (call before the app starts; mostly for tests and embedding):

* :func:`set_authorizer` - the document permission rule (default: the one a feature put in
  ``services.extras["collab_authorizer"]``, else deny everything);
* :func:`set_authenticator` - how a socket's caller is identified and its session re-checked
  (default: the accounts feature's ticket/Bearer check and ``session_alive``);
* :func:`set_limits` - per-socket limits (default: :class:`SocketLimits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.websockets import WebSocket

from collabcode.auth.identity import Identity
from collabcode.collab import routes as collab_routes
from collabcode.collab.authorization import DocumentAuthorizer
from collabcode.collab.connection import SocketHub, SocketLimits
from collabcode.collab.relay import BusRelay
from collabcode.collab.rooms import RoomManager
from collabcode.collab.service import SERVICE_KEY, CollabService
from collabcode.collab.sql_store import SqlDocumentStore
from collabcode.services import Services

__all__ = ["SWEEP_SECONDS", "CollabFeature", "feature", "set_authenticator", "set_authorizer", "set_limits"]

log = logging.getLogger(__name__)

#: How often idle rooms are unloaded and failed saves retried.
SWEEP_SECONDS = 1.0


def set_authorizer(app: Starlette, authorizer: DocumentAuthorizer) -> None:
    """Use ``authorizer`` for this app's documents (wins over ``services.extras``)."""
    setattr(app.state, collab_routes.STATE_AUTHORIZER, authorizer)


def set_authenticator(
    app: Starlette,
    authenticate: Callable[[WebSocket], Awaitable[Identity]],
    *,
    session_alive: Callable[[Services, str], Awaitable[bool]] | None = None,
) -> None:
    """Identify socket callers with ``authenticate`` (raising ``WebSocketRejected``) and check
    their sessions with ``session_alive`` (default: the accounts feature's)."""
    setattr(app.state, collab_routes.STATE_AUTHENTICATOR, authenticate)
    if session_alive is not None:
        setattr(app.state, collab_routes.STATE_SESSION_ALIVE, session_alive)


def set_limits(app: Starlette, limits: SocketLimits) -> None:
    setattr(app.state, collab_routes.STATE_LIMITS, limits)


class CollabFeature:
    name = "collab"

    @property
    def routes(self) -> list[BaseRoute]:
        return collab_routes.routes

    async def start(self, services: Services) -> None:
        registry = services.metrics.registry
        applied = Counter(
            "collabcode_collab_updates_applied",
            "Document updates applied and stored by this process (clients and server code).",
            registry=registry,
        )
        store = SqlDocumentStore(services.db, clock=services.clock)
        relay = BusRelay(services.bus)

        def publish(doc_id: str, update: bytes) -> None:
            applied.inc()
            relay.publish_update(doc_id, update)

        manager = RoomManager(
            store,
            clock=services.clock,
            idle_unload_seconds=services.settings.collab_idle_unload_seconds,
            publish=publish,
            publish_awareness=relay.publish_awareness,
            request_sync=relay.request_sync,
            publish_stored=relay.publish_stored,
        )
        service = CollabService(manager, store, SocketHub())
        rooms = Gauge("collabcode_collab_rooms_loaded", "Documents loaded in this process.", registry=registry)
        rooms.set_function(lambda: len(manager.doc_ids))
        services.metrics.add_stats("collabcode_collab_store", store.stats, "Collaboration document store")
        services.metrics.add_stats("collabcode_collab_relay", relay.stats, "Collaboration relay between processes")
        services.extras[SERVICE_KEY] = service
        await relay.start(manager)
        services.bus.on_reconnect(manager.resync)
        sweeper = asyncio.create_task(_sweep_forever(manager), name="collab-sweep")

        async def stop_background() -> None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            store.hurry()  # from here on, appends are written without waiting for company

        # Run in reverse: stop the sweep, stop relaying, flush every room, then the store.
        services.shutdown_hooks.append(store.close)
        services.shutdown_hooks.append(manager.close)
        services.shutdown_hooks.append(relay.close)
        services.shutdown_hooks.append(stop_background)


async def _sweep_forever(manager: RoomManager) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await manager.sweep()
        except Exception:
            log.exception("collab sweep failed")


feature = CollabFeature()
