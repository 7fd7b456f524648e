"""Feature packages plug into the app through one small interface.

Each feature module (``collabcode/<feature>/feature.py``) exposes a ``feature`` object with its
routes and a ``start`` hook run in the lifespan, where it builds its services from the shared
ones, subscribes to the broker and registers shutdown hooks. Built-in features are registered the
same way any later extension would be.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from collabcode.services import Services

# Order matters: a feature may use the services of those before it (auth comes first).
FEATURE_MODULES: tuple[str, ...] = (
    "collabcode.auth.feature",
    "collabcode.collab.feature",
    "collabcode.workspaces.feature",
    "collabcode.realtime.feature",
    "collabcode.workspaces.live",
    "collabcode.history.feature",
    "collabcode.chat.feature",
    "collabcode.social.feature",
    "collabcode.calls.feature",
    "collabcode.assistant.feature",
)


class Feature(Protocol):
    name: str

    @property
    def routes(self) -> list[BaseRoute]:
        """HTTP and WebSocket routes this feature serves."""

    async def start(self, services: Services) -> None:
        """Build the feature's state on the shared services (runs in the app's lifespan)."""


def load_features(modules: tuple[str, ...] = FEATURE_MODULES) -> list[Feature]:
    features: list[Feature] = []
    for module in modules:
        features.append(importlib.import_module(module).feature)
    return features
