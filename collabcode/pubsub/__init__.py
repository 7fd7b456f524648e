"""Cross-process pub/sub: an in-process broker for one process, Redis for several.

Features code against ``Bus`` only; the app factory builds one with ``create_bus`` and closes it
in the lifespan. See ``docs/pubsub.md`` for the delivery guarantees.
"""

from __future__ import annotations

from collabcode.pubsub.base import Bus, Handler, ReconnectCallback, Subscription
from collabcode.pubsub.memory import MemoryBus, MemoryHub

__all__ = [
    "Bus",
    "Handler",
    "MemoryBus",
    "MemoryHub",
    "ReconnectCallback",
    "Subscription",
    "create_bus",
]


def create_bus(redis_url: str | None, *, instance_id: str | None = None, channel_prefix: str = "") -> Bus:
    """An unstarted bus: Redis when a URL is given, otherwise in-process with its own hub.

    Raises ValueError (one line, no password) for a URL that is not a Redis URL; an unreachable
    Redis is not an error here, the bus starts unhealthy and keeps trying. ``channel_prefix``
    namespaces channels on a Redis shared by several deployments (the in-process hub is private).
    """
    if redis_url is None:
        return MemoryBus(instance_id=instance_id)
    # Imported here so the default in-process set-up never loads the Redis client.
    from collabcode.pubsub.redis import RedisBus

    return RedisBus(redis_url, instance_id=instance_id, channel_prefix=channel_prefix)
