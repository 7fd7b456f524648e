"""What the benchmark measures. Each scenario runs against one target on fresh server processes
and returns :class:`Metric` values; every wait is bounded by the scenario's deadline.

* ``fanout``: fixed loads of typing clients; latency from an edit leaving its writer to it
  arriving at each other client of the room (p50/p99).
* ``maxrate``: 20 rooms x 5 typing clients; the total edit rate rises until p99 reaches 50 ms,
  deliveries go missing or the load generator cannot keep up, then narrows the boundary.
* ``sync``: a document is loaded (a 20k- and a 100k-edit editing history, a 1 MB file); then
  new clients connect one after another and the time from opening the connection to holding the
  server's sync step 2 is measured.
* ``memory``: server RSS (process and children) with 1,000 and 5,000 idle synced connections,
  and with 1,000 rooms holding one client each.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import pickle
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycrdt

from collabbench.edits import TEXT, SeedDocument, history_document, large_document
from collabbench.loadgen import ClientPlan, Delivery, Workers, analyse
from collabbench.targets import BENCH_DIR, Server, Target
from collabbench.wire import Client

CACHE_DIR = BENCH_DIR / ".cache"


class DeadlineExceeded(Exception):
    """A scenario ran out of its time budget; what it measured so far is kept."""


@dataclass(frozen=True)
class Config:
    quick: bool
    procs: int
    fanout_seconds: float
    maxrate_seconds: float
    warmup_seconds: float
    sync_samples: int
    idle_counts: tuple[int, ...]
    room_count: int
    budgets: dict[str, float]  # scenario -> hard deadline per target and repetition, seconds

    @classmethod
    def make(cls, *, quick: bool, procs: int) -> Config:
        if quick:
            return cls(
                quick=True,
                procs=procs,
                fanout_seconds=6.0,
                maxrate_seconds=4.0,
                warmup_seconds=1.0,
                sync_samples=10,
                idle_counts=(1000, 5000),
                room_count=1000,
                budgets={"fanout": 120, "maxrate": 150, "sync": 150, "memory": 180},
            )
        return cls(
            quick=False,
            procs=procs,
            fanout_seconds=20.0,
            maxrate_seconds=8.0,
            warmup_seconds=2.0,
            sync_samples=30,
            idle_counts=(1000, 5000),
            room_count=1000,
            budgets={"fanout": 300, "maxrate": 400, "sync": 240, "memory": 300},
        )


@dataclass
class Metric:
    """One figure of one target. ``goal`` is ``"peers"`` (at least as good as the best peer), a
    number (an absolute ceiling for a lower-is-better figure), or None (informational)."""

    key: str
    label: str
    unit: str
    value: float | None
    lower_is_better: bool = True
    goal: str | float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    config: Config
    deadline: float
    log: Callable[[str], None]

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded
        return left


def _run_id() -> str:
    return f"{random.getrandbits(32):08x}"


def _first_per_room(plans: list[ClientPlan]) -> tuple[list[ClientPlan], list[ClientPlan]]:
    """Rooms are opened by one client before the others join, as in real use (pycrdt-websocket
    cannot start a room that several clients open at the same instant)."""
    seen: set[str] = set()
    firsts: list[ClientPlan] = []
    rest: list[ClientPlan] = []
    for plan in plans:
        (rest if plan.room in seen else firsts).append(plan)
        seen.add(plan.room)
    return firsts, rest


def _open(workers: Workers, plans: list[ClientPlan], ctx: Context) -> None:
    for part in _first_per_room(plans):
        if not part:
            continue
        opened = workers.open(part, timeout=min(60.0, ctx.remaining()))
        if opened.failed:
            raise RuntimeError(f"{opened.failed} of {len(part)} clients failed to connect: {'; '.join(opened.errors)}")


def _typing_plans(
    server: Server, prefix: str, rooms: int, clients: int, writers: int, rate: float, seconds: float
) -> list[ClientPlan]:
    plans = []
    ids = random.sample(range(1, 2**31), rooms * clients)
    for room in range(rooms):
        name = f"{prefix}-{room}"
        for index in range(clients):
            client_id = ids[room * clients + index]
            endpoint = server.endpoint(name, room * clients + index)
            if index < writers:
                edits = int(rate * seconds)
                plans.append(ClientPlan(endpoint, name, client_id, rate, edits, random.random() / rate))
            else:
                plans.append(ClientPlan(endpoint, name, client_id))
    return plans


def _typing_run(
    target: Target,
    ctx: Context,
    *,
    rooms: int,
    clients: int,
    writers: int,
    rate: float,
    seconds: float,
    workers: Workers,
    server: Server,
) -> Delivery:
    plans = _typing_plans(server, f"{target.name}-{_run_id()}", rooms, clients, writers, rate, seconds)
    _open(workers, plans, ctx)
    if ctx.remaining() < seconds + 5:
        workers.drop()
        raise DeadlineExceeded
    t0, results = workers.run(seconds, drain=1.0)
    return analyse(plans, t0, ctx.config.warmup_seconds, seconds, results)


# ------------------------------------------------------------------------------------- fan-out


@dataclass(frozen=True)
class Load:
    key: str
    label: str
    rooms: int
    clients: int
    writers: int
    rate: float  # edits/s per writer

    @property
    def deliveries(self) -> float:
        return self.rooms * self.writers * self.rate * (self.clients - 1)


#: Above this p99 lag of the generator's sends against their schedule, a run was disturbed.
GENERATOR_LAG_MS = 10.0

FANOUT_LOADS = (
    Load("20x5", "20 rooms x 5 clients, all typing 5 edits/s", 20, 5, 5, 5.0),
    Load("1x50", "1 room x 50 clients, 10 typing 5 edits/s", 1, 50, 10, 5.0),
    Load("10x5", "10 rooms x 5 clients, all typing 2 edits/s", 10, 5, 5, 2.0),
)


def fanout(target: Target, ctx: Context) -> list[Metric]:
    metrics: list[Metric] = []
    server = target.start()
    try:
        with Workers(ctx.config.procs) as workers:
            for load in FANOUT_LOADS:
                result: Delivery | None = None
                for tries in (1, 2):
                    attempt = _typing_run(
                        target,
                        ctx,
                        rooms=load.rooms,
                        clients=load.clients,
                        writers=load.writers,
                        rate=load.rate,
                        seconds=ctx.config.fanout_seconds,
                        workers=workers,
                        server=server,
                    )
                    if result is None or attempt.lag_p99_ms < result.lag_p99_ms:
                        result = attempt
                    if tries == 2 or result.lag_p99_ms <= GENERATOR_LAG_MS or ctx.deadline - time.monotonic() < 60:
                        break
                    # The generator itself fell behind (a busy machine): measure once more and
                    # keep the run it disturbed least.
                    ctx.log(f"{target.name} fanout {load.key}: generator lag {result.lag_p99_ms:.0f} ms, again")
                assert result is not None
                notes = _delivery_notes(result)
                label = f"{load.label} ({load.deliveries:,.0f} deliveries/s)"
                ctx.log(
                    f"{target.name} fanout {load.key}: p50 {result.percentile(50):.2f} ms, "
                    f"p99 {result.percentile(99):.2f} ms, {result.delivered}/{result.expected} delivered"
                )
                metrics.append(Metric(f"fanout.{load.key}.p50", f"{label}: p50", "ms", result.percentile(50)))
                metrics.append(
                    Metric(
                        f"fanout.{load.key}.p99",
                        f"{label}: p99",
                        "ms",
                        result.percentile(99),
                        goal="peers",
                        notes=notes,
                    )
                )
    finally:
        server.stop()
    return metrics


def _delivery_notes(result: Delivery) -> list[str]:
    notes = []
    if result.lost:
        notes.append(f"{result.lost} of {result.expected} deliveries missing")
    if result.lag_p99_ms > GENERATOR_LAG_MS:
        notes.append(f"load generator p99 lag {result.lag_p99_ms:.0f} ms")
    notes.extend(result.errors[:2])
    return notes


# ------------------------------------------------------------------------------------- max rate

MAXRATE_ROOMS = 20
MAXRATE_CLIENTS = 5
MAXRATE_P99_MS = 50.0


def _last_line(text: str) -> str:
    lines = [line.strip(" |") for line in text.splitlines() if line.strip(" |")]
    return lines[-1][:200] if lines else "no output"


def _passes(result: Delivery, rate: float) -> tuple[bool, str]:
    p99 = result.percentile(99)
    if result.send_rate < 0.9 * rate:
        return False, f"generator sent only {result.send_rate:,.0f}/s"
    if result.lost > 0.001 * max(1, result.expected):
        return False, f"{result.lost} deliveries missing"
    if not p99 < MAXRATE_P99_MS:
        return False, f"p99 {p99:.1f} ms"
    return True, f"p99 {p99:.1f} ms"


class _ServerGone(Exception):
    pass


def maxrate(target: Target, ctx: Context) -> list[Metric]:
    writers = MAXRATE_ROOMS * MAXRATE_CLIENTS
    seconds = ctx.config.maxrate_seconds
    best: float | None = None
    failed_at: float | None = None
    why = ""
    notes: list[str] = []
    server = target.start()

    def attempt(workers: Workers, rate: float) -> bool:
        nonlocal why
        # A failing step is tried again once (thorough mode): the machine may be shared.
        for tries in (1,) if ctx.config.quick else (1, 2):
            try:
                result = _typing_run(
                    target,
                    ctx,
                    rooms=MAXRATE_ROOMS,
                    clients=MAXRATE_CLIENTS,
                    writers=MAXRATE_CLIENTS,
                    rate=rate / writers,
                    seconds=seconds,
                    workers=workers,
                    server=server,
                )
            except RuntimeError:
                if server.alive():
                    raise
                result = None
            if not server.alive():
                why = f"the server process exited ({_last_line(server.log_tail())})"
                ctx.log(f"{target.name} maxrate {rate:,.0f} edits/s: {why}")
                raise _ServerGone
            assert result is not None
            ok, detail = _passes(result, rate)
            ctx.log(f"{target.name} maxrate {rate:,.0f} edits/s (try {tries}): {'pass' if ok else 'fail'}, {detail}")
            if ok:
                return True
            why = detail
        return False

    rate = 1000.0
    try:
        with Workers(ctx.config.procs) as workers:
            while rate <= 40000:
                if not attempt(workers, rate):
                    failed_at = rate
                    break
                best = rate
                rate *= 1.5
            if best is not None and failed_at is not None:
                for _ in range(1 if ctx.config.quick else 2):
                    rate = round((best + failed_at) / 2, -1)
                    if failed_at - best <= 0.06 * best:
                        break
                    if attempt(workers, rate):
                        best = rate
                    else:
                        failed_at = rate
    except _ServerGone:
        failed_at = rate
    except DeadlineExceeded:
        notes.append(f"stopped at the scenario deadline while trying {rate:,.0f}/s")
    finally:
        server.stop()
    if failed_at is not None:
        notes.insert(0, f"fails at {failed_at:,.0f}/s: {why}")
        if why.startswith("generator"):
            notes.append("the load generator was the limit: the server may sustain more")
    label = f"highest edit rate with p99 < {MAXRATE_P99_MS:.0f} ms ({MAXRATE_ROOMS} rooms x {MAXRATE_CLIENTS} typing)"
    return [Metric("maxrate.edits", label, "edits/s", best, lower_is_better=False, goal="peers", notes=notes)]


# ------------------------------------------------------------------------------------- fresh sync


def seed_documents() -> list[SeedDocument]:
    """The documents of the sync scenario, cached in benchmarks/.cache (they take ~10 s to build)."""
    CACHE_DIR.mkdir(exist_ok=True)
    path = CACHE_DIR / "sync-documents-v2.pickle"
    if path.exists():
        with contextlib.suppress(Exception), open(path, "rb") as handle:
            documents: list[SeedDocument] = pickle.load(handle)
            return documents
    documents = [history_document(20_000), history_document(100_000), large_document(1_000_000)]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(documents, handle)
    tmp.replace(path)
    return documents


def _text_length(update: bytes) -> int:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.apply_update(update)
    return len(doc.get(TEXT, type=pycrdt.Text))


async def _measure_sync(server: Server, document: SeedDocument, samples: int, ctx: Context) -> list[float]:
    room = f"sync-{document.name.replace(' ', '')}-{_run_id()}"
    seeder = Client(server.endpoint(room, 0))
    await seeder.open()
    try:
        await seeder.sync(timeout=min(30.0, ctx.remaining()))
        for chunk in document.chunks:
            await seeder.send_update(chunk)
        # The server has the whole document once a new client receives all of it.
        while True:
            probe = Client(server.endpoint(room, 1))
            await probe.open(timeout=min(30.0, ctx.remaining()))
            try:
                diff = await probe.sync(timeout=min(30.0, ctx.remaining()))
            finally:
                await probe.close()
            if _text_length(diff) == document.text_length:
                break
            await asyncio.sleep(0.2)
            ctx.remaining()
        await asyncio.sleep(0.5)
        times: list[float] = []
        for i in range(samples):
            ctx.remaining()
            client = Client(server.endpoint(room, 2 + i))
            started = time.perf_counter()
            await client.open(timeout=min(30.0, ctx.remaining()))
            await client.sync(timeout=min(30.0, ctx.remaining()))
            times.append((time.perf_counter() - started) * 1000)
            await client.close()
            await asyncio.sleep(0.05)
        return times
    finally:
        await seeder.close()


def sync(target: Target, ctx: Context) -> list[Metric]:
    documents = seed_documents()
    metrics: list[Metric] = []
    server = target.start()
    try:
        for document in documents:
            samples = asyncio.run(_measure_sync(server, document, ctx.config.sync_samples, ctx))
            median = statistics.median(samples)
            spread = f"min {min(samples):.1f}, max {max(samples):.1f}"
            ctx.log(f"{target.name} sync {document.name}: median {median:.1f} ms ({spread})")
            goal: str | float | None = 50.0 if document.edits == 100_000 else None
            label = f"fresh sync, {document.name} document ({document.encoded_bytes / 1000:,.0f} kB encoded)"
            metrics.append(Metric(f"sync.{document.name.replace(' ', '')}", label, "ms", median, goal=goal))
    finally:
        server.stop()
    return metrics


# ------------------------------------------------------------------------------------- memory

IDLE_ROOMS = 10


def _settled_rss(server: Server, seconds: float = 2.0) -> int:
    """RSS once it stops moving (bounded to a few seconds)."""
    time.sleep(seconds)
    previous = server.rss_kib()
    for _ in range(10):
        time.sleep(0.3)
        current = server.rss_kib()
        if abs(current - previous) < 64:
            return current
        previous = current
    return previous


def _idle_plans(server: Server, prefix: str, count: int, rooms: int, offset: int) -> list[ClientPlan]:
    plans = []
    for i in range(count):
        room = f"{prefix}-{i % rooms}"
        plans.append(ClientPlan(server.endpoint(room, offset + i), room))
    return plans


def memory(target: Target, ctx: Context) -> list[Metric]:
    metrics: list[Metric] = []
    counts = ctx.config.idle_counts
    with Workers(ctx.config.procs) as workers:
        server = target.start()
        try:
            prefix = f"idle-{_run_id()}"
            _open(workers, _idle_plans(server, f"warm-{prefix}", 20, 2, 0), ctx)  # load the code paths
            workers.drop()
            baseline = _settled_rss(server)
            opened = 0
            for count in counts:
                _open(workers, _idle_plans(server, prefix, count - opened, IDLE_ROOMS, opened), ctx)
                opened = count
                rss = _settled_rss(server)
                per = (rss - baseline) / count
                ctx.log(f"{target.name} memory: {count} idle connections, RSS {rss / 1024:.1f} MiB, {per:.1f} KiB each")
                last = count == max(counts)
                label = f"memory per idle synced connection at {count:,} ({IDLE_ROOMS} rooms)"
                notes = [f"RSS {baseline / 1024:.0f} -> {rss / 1024:.0f} MiB"] if last else []
                metrics.append(
                    Metric(f"memory.idle.{count}", label, "KiB", per, goal="peers" if last else None, notes=notes)
                )
            workers.drop()
        finally:
            server.stop()
        server = target.start()
        try:
            prefix = f"rooms-{_run_id()}"
            _open(workers, _idle_plans(server, f"warm-{prefix}", 20, 20, 0), ctx)
            workers.drop()
            baseline = _settled_rss(server)
            rooms = ctx.config.room_count
            _open(workers, _idle_plans(server, prefix, rooms, rooms, 0), ctx)
            rss = _settled_rss(server)
            per = (rss - baseline) / rooms
            ctx.log(f"{target.name} memory: {rooms} rooms with one client, {per:.1f} KiB each")
            metrics.append(Metric("memory.room", f"memory per open room with one client ({rooms:,} rooms)", "KiB", per))
            workers.drop()
        finally:
            server.stop()
    return metrics


SCENARIOS: dict[str, Callable[[Target, Context], list[Metric]]] = {
    "fanout": fanout,
    "maxrate": maxrate,
    "sync": sync,
    "memory": memory,
}


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
