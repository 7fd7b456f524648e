"""In-process broker: the default for one process, and how tests run "two processes" without Redis.

Several ``MemoryBus`` instances on one ``MemoryHub`` behave like several processes on one Redis:
same envelope, same echo filtering, same glob rules, same dispatcher. A hub can also be marked
unreachable, so features can test their ``on_reconnect`` re-sync without a real outage.
"""

from __future__ import annotations

import functools
import logging
import re

from collabcode.pubsub.base import DEFAULT_QUEUE_SIZE, BusBase, BusKind

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1024)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a PSUBSCRIBE glob with Redis' rules, so a pattern matches the same on both buses.

    ``*`` any run, ``?`` one character, ``[abc]``, ``[^abc]``, ``[a-z]`` (reversed ranges
    allowed), and ``\\`` escaping the next character, inside or outside a class.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            i += 1
            negate = i < n and pattern[i] == "^"
            if negate:
                i += 1
            items: list[str] = []
            # An unterminated class ends with the pattern, as in Redis.
            while i < n and pattern[i] != "]":
                if pattern[i] == "\\" and i + 1 < n:
                    items.append(re.escape(pattern[i + 1]))
                    i += 2
                elif i + 2 < n and pattern[i + 1] == "-":
                    low, high = sorted((pattern[i], pattern[i + 2]))
                    items.append(f"{re.escape(low)}-{re.escape(high)}")
                    i += 3
                else:
                    items.append(re.escape(pattern[i]))
                    i += 1
            members = "".join(items)
            if negate:
                out.append(f"[^{members}]" if members else ".")
            else:
                out.append(f"[{members}]" if members else "(?!)")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


class MemoryHub:
    """Stands in for one Redis server: buses attached to the same hub see each other's messages."""

    def __init__(self) -> None:
        self._buses: list[MemoryBus] = []
        self._reachable = True

    @property
    def reachable(self) -> bool:
        return self._reachable

    async def set_reachable(self, reachable: bool) -> None:
        """Simulate a broker outage: while unreachable every bus is unhealthy, publishes return
        False and nothing is delivered; coming back runs each bus's ``on_reconnect`` callbacks."""
        if reachable == self._reachable:
            return
        self._reachable = reachable
        if reachable:
            for bus in list(self._buses):
                await bus._recovered()

    def _attach(self, bus: MemoryBus) -> None:
        self._buses.append(bus)

    def _detach(self, bus: MemoryBus) -> None:
        if bus in self._buses:
            self._buses.remove(bus)

    def _publish(self, channel: str, data: bytes) -> None:
        for bus in self._buses:
            bus._route(channel, data)


class MemoryBus(BusBase):
    """A bus whose broker is a ``MemoryHub`` in this process (a private one unless given)."""

    kind: BusKind = "memory"

    def __init__(
        self,
        hub: MemoryHub | None = None,
        *,
        instance_id: str | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        super().__init__(instance_id=instance_id, queue_size=queue_size)
        self.hub = hub if hub is not None else MemoryHub()

    @property
    def healthy(self) -> bool:
        return self.hub.reachable

    async def _open(self) -> None:
        self.hub._attach(self)

    async def _shutdown(self) -> None:
        self.hub._detach(self)

    async def publish(self, channel: str, payload: bytes) -> bool:
        """Hand the message to every other bus on the hub; False while the hub is unreachable."""
        if not self._check_can_publish(channel, payload):
            return False
        if not self.hub.reachable:
            return self._publish_failed("the in-process hub is marked unreachable")
        self.hub._publish(channel, self._envelope_prefix + payload)
        self._counters["published"] += 1
        return True

    def _route(self, channel: str, data: bytes) -> None:
        """Do what Redis does for this bus's subscriptions: one copy per matching subscription."""
        topic = self._channels.get(channel)
        if topic is not None:
            self._receive(topic, channel, data)
        for pattern, topic in self._patterns.items():
            if glob_to_regex(pattern).fullmatch(channel):
                self._receive(topic, channel, data)

    async def _recovered(self) -> None:
        if self._state != "started":
            return
        self._counters["reconnects"] += 1
        logger.info("in-process pub/sub hub reachable again for bus %s", self.instance_id)
        await self._run_reconnect_callbacks()
