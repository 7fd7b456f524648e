"""Broker pressure: collabcode's Redis bus between two OS processes, at rising rates.

A publisher process (this one) and a subscriber process each run a ``RedisBus`` on the private
redis-server, exactly as two collabcode processes do. The publisher sends 256-byte payloads
(about a chat frame) on a handful of channels at a fixed rate per step, in 10 ms ticks; each
payload holds its step and send time. The subscriber's handler takes the time each arrives.
Per step: the rate the publisher reached, messages delivered per second, lag
(``publish`` called -> the handler runs in the other process) p50/p99, and messages lost (the
bus drops beyond its 10,000-message queue: it is a lossy notification channel by design).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import struct
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from chat_bench import percentile

from collabcode.pubsub.redis import RedisBus

CHANNELS = 8
PAYLOAD = 256
_HEAD = struct.Struct("<Iq")


@dataclass
class BrokerStep:
    offered: int
    published: int = 0
    publish_seconds: float = 0.0
    delivered: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    dropped: int = 0

    @property
    def published_per_second(self) -> float:
        return self.published / self.publish_seconds if self.publish_seconds else 0.0

    @property
    def lost(self) -> int:
        return self.published - self.delivered


def _subscriber_main(url: str, prefix: str, conn: Connection) -> None:
    """The other process: subscribe, record each arrival's lag per step, report when told."""

    async def main() -> None:
        lags: dict[int, list[int]] = {}
        bus = RedisBus(url, instance_id=f"sub-{uuid.uuid4().hex}", channel_prefix=prefix)

        async def handler(channel: str, payload: bytes) -> None:
            now = time.monotonic_ns()
            step, sent = _HEAD.unpack_from(payload)
            lags.setdefault(step, []).append(now - sent)

        await bus.start()
        for n in range(CHANNELS):
            await bus.subscribe(f"load:{n}", handler)
        conn.send("ready")
        while not conn.poll():
            await asyncio.sleep(0.05)
        conn.recv()
        stats = bus.stats()
        await bus.close()
        conn.send(
            {
                "steps": {
                    step: (len(values), percentile(values, 50), percentile(values, 99)) for step, values in lags.items()
                },
                "dropped": stats.get("dropped", 0),
            }
        )

    asyncio.run(main())


async def run(url: str, rates: list[int], seconds: float) -> list[BrokerStep]:
    prefix = f"load-bench-{uuid.uuid4().hex[:8]}:"
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    subscriber = ctx.Process(target=_subscriber_main, args=(url, prefix, child), daemon=True)
    subscriber.start()
    bus = RedisBus(url, instance_id=f"pub-{uuid.uuid4().hex}", channel_prefix=prefix)
    steps = [BrokerStep(rate) for rate in rates]
    try:
        await asyncio.get_running_loop().run_in_executor(None, parent.poll, 30)
        if parent.recv() != "ready":
            raise RuntimeError("the subscriber process did not start")
        await bus.start()
        padding = b"x" * (PAYLOAD - _HEAD.size)
        for index, step in enumerate(steps):
            per_tick = step.offered / 100
            owed = 0.0
            began = time.monotonic()
            tick = began
            while tick - began < seconds:
                owed += per_tick
                count = int(owed)
                owed -= count
                now = time.monotonic_ns()
                results = await asyncio.gather(
                    *(
                        bus.publish(f"load:{(step.published + k) % CHANNELS}", _HEAD.pack(index, now) + padding)
                        for k in range(count)
                    )
                )
                step.published += sum(1 for ok in results if ok)
                tick += 0.01
                delay = tick - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            step.publish_seconds = time.monotonic() - began
            await asyncio.sleep(1.0)  # the queue drains before the next step
        parent.send("done")
        await asyncio.get_running_loop().run_in_executor(None, parent.poll, 60)
        report: dict[str, Any] = parent.recv()
    finally:
        await bus.close()
        subscriber.join(10)
        if subscriber.is_alive():
            subscriber.kill()
    for index, step in enumerate(steps):
        delivered, p50, p99 = report["steps"].get(index, (0, float("nan"), float("nan")))
        step.delivered, step.p50_ms, step.p99_ms = delivered, p50 / 1e6, p99 / 1e6
    if steps:
        steps[-1].dropped = int(report["dropped"])
    return steps
