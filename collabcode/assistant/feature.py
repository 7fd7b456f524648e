"""The assistant feature: its routes, and the provider it resolves when the app starts.

``start`` decides the provider once (settings, or a local Ollama found on 127.0.0.1:11434), and
builds the :class:`AssistantService` on the workspaces feature (file access) and the instance's
rate limiter. Tests point ``ai_base_url`` at a loopback test provider.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from collabcode.assistant import routes
from collabcode.assistant.config import resolve
from collabcode.assistant.files import WorkspaceFiles
from collabcode.assistant.metrics import AssistantCounters
from collabcode.assistant.service import SERVICE_KEY, AssistantService
from collabcode.ratelimit import limiter_for
from collabcode.services import Services
from collabcode.workspaces.feature import workspace_service


class AssistantFeature:
    name = "assistant"

    @property
    def routes(self) -> list[BaseRoute]:
        return routes.routes

    async def start(self, services: Services) -> None:
        availability = await resolve(services.settings)
        service = AssistantService(
            settings=services.settings,
            db=services.db,
            clock=services.clock,
            limiter=limiter_for(services),
            availability=availability,
            files=WorkspaceFiles(services.db, lambda: workspace_service(services)),
            counters=AssistantCounters(services.metrics.registry),
        )
        services.extras[SERVICE_KEY] = service
        services.shutdown_hooks.append(service.close)


feature = AssistantFeature()
