"""The long-lived objects of one running instance, built in the app's lifespan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collabcode.clock import Clock
from collabcode.instance_secrets import InstanceSecrets
from collabcode.mail import Mailer
from collabcode.realtime.connections import ConnectionRegistry
from collabcode.settings import Settings
from collabcode.web.metrics import Metrics

if TYPE_CHECKING:
    from collabcode.db import Database
    from collabcode.pubsub import Bus


@dataclass
class Services:
    """What handlers need, passed explicitly instead of living in globals."""

    settings: Settings
    db: Database
    bus: Bus
    clock: Clock
    secrets: InstanceSecrets
    metrics: Metrics
    connections: ConnectionRegistry
    started_at: float
    mailer: Mailer
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


def services_of(conn: Any) -> Services:
    """The Services of the app serving this request or WebSocket."""
    services: Services = conn.app.state.services
    return services
