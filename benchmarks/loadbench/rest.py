"""REST load: sign-ins with bcrypt at the production cost, and authenticated reads.

Closed loops: a fixed number of concurrent clients, each sending its next request as soon as
the previous one is answered, for a fixed window (requests started in the first half second are
warm-up). Figures: requests per second answered with 2xx in the window, and latency p50/p99.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import httpx
from chat_bench import PASSWORD, percentile

from loadbench.cluster import Person

WARMUP = 0.5


@dataclass
class RestResult:
    """Answered requests (or completed call set-ups) in a window, with their latency."""

    label: str
    workers: int
    ok: int = 0
    seconds: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    errors: dict[str, int] = field(default_factory=dict)
    #: CPU the load generator itself used over the window (100 = one core): near 100, it is the limit.
    generator_cpu_percent: float = float("nan")

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


async def closed_loop(
    label: str,
    workers: int,
    seconds: float,
    request: Callable[[int], Awaitable[int]],
    *,
    start_at: float | None = None,
    latencies: list[float] | None = None,
) -> RestResult:
    """``request(worker)`` sends one request and returns its status. ``start_at`` (monotonic,
    the same clock in every process) lines up loops in several generator processes."""
    result = RestResult(label, workers)
    latencies = [] if latencies is None else latencies
    if start_at is not None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    start = time.monotonic()
    counted_from, until = start + WARMUP, start + WARMUP + seconds

    async def worker(index: int) -> None:
        while True:
            began = time.monotonic()
            if began >= until:
                return
            try:
                status = await request(index)
            except httpx.HTTPError as exc:
                status = -1
                result.errors[type(exc).__name__] = result.errors.get(type(exc).__name__, 0) + 1
            ended = time.monotonic()
            if began < counted_from or ended > until:
                continue
            if 200 <= status < 300:
                result.ok += 1
                latencies.append(ended - began)
            elif status > 0:
                result.errors[str(status)] = result.errors.get(str(status), 0) + 1

    async def window_cpu() -> None:
        await asyncio.sleep(WARMUP)
        used = time.process_time()
        await asyncio.sleep(seconds)
        result.generator_cpu_percent = round(100 * (time.process_time() - used) / seconds)

    await asyncio.gather(window_cpu(), *(worker(i) for i in range(workers)))
    result.seconds = seconds
    result.p50_ms = percentile(latencies, 50) * 1000
    result.p99_ms = percentile(latencies, 99) * 1000
    return result


async def logins(accounts: list[Person], urls: list[str], workers: int, seconds: float) -> RestResult:
    """``POST /api/auth/login`` round-robin over accounts (each from its own address, on its
    process ``index % processes``), each sign-in on a new connection like a browser's first visit."""
    turn = itertools.count()

    async def one(_: int) -> int:
        person = accounts[next(turn) % len(accounts)]
        transport = httpx.AsyncHTTPTransport(local_address=person.ip)
        async with httpx.AsyncClient(transport=transport, timeout=30) as http:
            response = await http.post(
                f"{urls[person.index % len(urls)]}/api/auth/login",
                json={"login": person.username, "password": PASSWORD},
            )
        return response.status_code

    return await closed_loop("POST /api/auth/login (bcrypt 12)", workers, seconds, one)


async def _reads(
    people: list[Person], urls: list[str], workers: int, first: int, seconds: float, start_at: float
) -> tuple[RestResult, list[float]]:
    clients = [
        httpx.AsyncClient(
            base_url=urls[i % len(urls)],
            transport=httpx.AsyncHTTPTransport(local_address=people[i % len(people)].ip),
            headers=people[i % len(people)].headers,
            timeout=30,
        )
        for i in range(first, first + workers)
    ]
    paths = itertools.cycle(["/api/workspaces", "/api/conversations"])
    latencies: list[float] = []
    try:

        async def one(index: int) -> int:
            return (await clients[index].get(next(paths))).status_code

        label = "GET /api/workspaces + /api/conversations"
        result = await closed_loop(label, workers, seconds, one, start_at=start_at, latencies=latencies)
        return result, latencies
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def _reads_process(
    people: list[Person], urls: list[str], workers: int, first: int, seconds: float, start_at: float
) -> tuple[RestResult, list[float]]:
    return asyncio.run(_reads(people, urls, workers, first, seconds, start_at))


async def reads(people: list[Person], urls: list[str], workers: int, seconds: float, procs: int = 2) -> RestResult:
    """Alternate ``GET /api/workspaces`` and ``GET /api/conversations`` on kept-alive connections,
    worker ``i`` as person ``i`` on process ``i % processes``. The workers are spread over
    ``procs`` generator processes: one Python process of HTTP clients is slower than the server."""
    loop = asyncio.get_running_loop()
    share = workers // procs
    start_at = time.monotonic() + 4.0  # the generator processes start and import first
    with ProcessPoolExecutor(procs, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, _reads_process, people, urls, share, k * share, seconds, start_at)
                for k in range(procs)
            )
        )
    merged = RestResult(parts[0][0].label, share * procs, seconds=seconds, generator_cpu_percent=0)
    latencies: list[float] = []
    for part, values in parts:
        merged.ok += part.ok
        merged.generator_cpu_percent += part.generator_cpu_percent
        latencies.extend(values)
        for key, count in part.errors.items():
            merged.errors[key] = merged.errors.get(key, 0) + count
    merged.p50_ms = percentile(latencies, 50) * 1000
    merged.p99_ms = percentile(latencies, 99) * 1000
    return merged
