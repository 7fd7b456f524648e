"""The history feature: its routes, and the upkeep that runs in the background.

``start`` builds the :class:`HistoryService` on the collaboration service and the events hub
(both must start first) and runs one upkeep task per process: automatic checkpoints for files
left idle, retention (merging old history into checkpoints), and a one-time starting row for
documents stored before history existed. Several processes may run it at once; every step is
idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from starlette.routing import BaseRoute

from collabcode.clock import now_ms
from collabcode.collab.service import collab_service
from collabcode.history.routes import routes
from collabcode.history.service import SERVICE_KEY, HistoryLimits, HistoryService
from collabcode.ratelimit import limiter_for
from collabcode.realtime.hub import events_hub
from collabcode.services import Services

log = logging.getLogger(__name__)

#: How often the idle-checkpoint sweep runs, and how often retention runs (seconds).
SWEEP_SECONDS = 15.0
RETENTION_SECONDS = 3600.0
#: At start, look this far back for edits that never got their idle checkpoint.
LOOKBACK_MS = 86_400_000


class HistoryUpkeep:
    """The periodic work of one process (see the module docstring)."""

    def __init__(self, service: HistoryService) -> None:
        self._service = service
        self._task: asyncio.Task[None] | None = None
        self._since: int | None = None
        self._retention_due = 0.0
        self._backfilled = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="history-upkeep")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> None:
        service = self._service
        now = now_ms(service.clock)
        if not self._backfilled:
            # Once per start: documents only lack history if stored by a version without it.
            while await service.backfill() > 0:
                pass
            self._backfilled = True
        since = self._since if self._since is not None else now - LOOKBACK_MS
        await service.checkpoint_idle(since, now)
        # The next sweep looks from where this one stopped (edits newer than now - idle).
        self._since = now - service.limits.idle_checkpoint_seconds * 1000
        if service.clock.monotonic() >= self._retention_due:
            while await service.apply_retention(now) > 0:
                pass
            self._retention_due = service.clock.monotonic() + RETENTION_SECONDS

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.warning("history upkeep failed; retrying on the next sweep", exc_info=True)
            await asyncio.sleep(SWEEP_SECONDS)


class HistoryFeature:
    name = "history"

    @property
    def routes(self) -> list[BaseRoute]:
        return routes

    async def start(self, services: Services) -> None:
        settings = services.settings
        service = HistoryService(
            db=services.db,
            clock=services.clock,
            collab=collab_service(services),
            hub=events_hub(services),
            limits=HistoryLimits(
                retention_days=settings.history_retention_days,
                idle_checkpoint_seconds=settings.history_idle_checkpoint_seconds,
            ),
            trailer_host=urlsplit(settings.base_url).hostname or "localhost",
            limiter=limiter_for(services),
        )
        services.extras[SERVICE_KEY] = service
        upkeep = HistoryUpkeep(service)
        services.extras[SERVICE_KEY + ".upkeep"] = upkeep
        upkeep.start()
        services.shutdown_hooks.append(upkeep.close)


feature = HistoryFeature()
