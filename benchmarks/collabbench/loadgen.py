"""Client worker processes: open connections, type on a schedule, record every delivery.

The parent (:class:`Workers`) spreads clients over several processes so the load generator is
not the bottleneck. Each worker runs its own event loop (uvloop when installed) and obeys four
commands over a pipe: ``open`` (connect and sync clients), ``run`` (type on schedule, record
deliveries, then close those clients), ``drop`` (close the clients) and ``close`` (close them and
exit). Every wait has a timeout; a worker whose parent disappears exits at its next read of the
pipe, and workers are daemonic.

Latency is measured across processes with ``time.monotonic_ns`` (CLOCK_MONOTONIC, one clock
for the whole machine): a writer records when it sent edit ``i`` (clock ``i`` of its Yjs client
id); a receiver records, for every update, the clock ranges it holds and when it arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import multiprocessing
import time
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from collabbench.edits import typing_updates
from collabbench.wire import Client, Endpoint, update_ranges


@dataclass(frozen=True, slots=True)
class ClientPlan:
    """One client of a scenario. A writer has a Yjs client id and a typing schedule."""

    endpoint: Endpoint
    room: str
    client_id: int = 0
    rate: float = 0.0  # edits per second
    edits: int = 0
    phase: float = 0.0  # seconds after the start of the run of its first edit

    @property
    def writer(self) -> bool:
        return self.edits > 0


@dataclass(slots=True)
class OpenResult:
    opened: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: OpenResult) -> None:
        self.opened += other.opened
        self.failed += other.failed
        self.seconds = max(self.seconds, other.seconds)
        self.errors.extend(other.errors[: max(0, 5 - len(self.errors))])


@dataclass(slots=True)
class RunResult:
    sends: dict[int, list[int]] = field(default_factory=dict)  # writer id -> send time (ns) of clock i
    receipts: list[tuple[int, int, int, int]] = field(default_factory=list)  # (writer, start, end, t)
    lags_ns: list[int] = field(default_factory=list)  # how late each send left against its schedule
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WorkerError:
    """A command failed inside a worker; the parent raises it as a RuntimeError."""

    message: str


# ------------------------------------------------------------------------------------- worker


class _Worker:
    def __init__(self) -> None:
        self.clients: list[tuple[ClientPlan, Client, list[bytes]]] = []
        self.receipts: list[tuple[int, int, int, int]] = []
        self.recording = False
        self.parse_errors = 0

    def _on_update(self, own: int, update: bytes, now: int) -> None:
        if not self.recording:
            return
        try:
            ranges = update_ranges(update)
        except IndexError:
            self.parse_errors += 1
            return
        append = self.receipts.append
        for client, start, end in ranges:
            if client != own:  # some servers echo an update to its sender: not a delivery
                append((client, start, end, now))

    async def open(self, plans: list[ClientPlan], timeout: float) -> OpenResult:
        started = time.monotonic()
        result = OpenResult()
        gate = asyncio.Semaphore(64)

        async def open_one(plan: ClientPlan) -> None:
            updates = typing_updates(plan.client_id, plan.edits) if plan.writer else []
            client = Client(plan.endpoint, on_update=partial(self._on_update, plan.client_id))
            async with gate:
                try:
                    await client.open(timeout=min(timeout, 15.0))
                    await client.sync(timeout=min(timeout, 15.0))
                except Exception as exc:
                    result.failed += 1
                    if len(result.errors) < 5:
                        result.errors.append(f"{type(exc).__name__}: {exc}")
                    await client.close()
                    return
            self.clients.append((plan, client, updates))
            result.opened += 1

        if not plans:
            return result
        tasks = [asyncio.ensure_future(open_one(plan)) for plan in plans]
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        result.failed += len(pending)
        if pending:
            result.errors.append(f"{len(pending)} connections still opening after {timeout:.0f} s")
        result.seconds = time.monotonic() - started
        return result

    async def run(self, t0: int, duration: float, drain: float) -> RunResult:
        result = RunResult()
        self.receipts = []
        self.recording = True
        gc.collect()
        gc.disable()  # no collector pauses while measuring; the garbage of one run is small

        async def write(plan: ClientPlan, client: Client, updates: list[bytes]) -> None:
            interval = 1e9 / plan.rate
            first = t0 + int(plan.phase * 1e9)
            sends: list[int] = []
            result.sends[plan.client_id] = sends
            lags = result.lags_ns
            for i, update in enumerate(updates):
                due = first + int(i * interval)
                now = time.monotonic_ns()
                if due > now:
                    await asyncio.sleep((due - now) / 1e9)
                    now = time.monotonic_ns()
                sends.append(now)
                lags.append(now - due)
                await client.send_update(update)

        writers = [asyncio.ensure_future(write(*entry)) for entry in self.clients if entry[0].writer]
        end = t0 + int(duration * 1e9)
        wait = max(0.0, (end - time.monotonic_ns()) / 1e9) + 5.0
        if writers:
            done, pending = await asyncio.wait(writers, timeout=wait)
            for task in pending:
                task.cancel()
            if pending:
                result.errors.append(f"{len(pending)} writers still typing {wait:.0f} s after the start")
            for task in done:
                if task.exception() is not None:
                    result.errors.append(f"writer failed: {task.exception()!r}")
        else:
            await asyncio.sleep(wait - 5.0)
        await asyncio.sleep(drain)
        self.recording = False
        gc.enable()
        result.receipts = self.receipts
        self.receipts = []
        for _plan, client, _updates in self.clients:
            result.errors.extend(client.errors[:1])
        if self.parse_errors:
            result.errors.append(f"{self.parse_errors} updates could not be parsed")
        await self.close()  # a run uses its clients up: their edits are in the documents now
        return result

    async def close(self) -> None:
        gate = asyncio.Semaphore(256)

        async def close_one(client: Client) -> None:
            async with gate:
                await client.close()

        clients = [client for _plan, client, _updates in self.clients]
        self.clients = []
        if clients:
            await asyncio.wait([asyncio.ensure_future(close_one(client)) for client in clients], timeout=30)


async def _recv(conn: Connection) -> Any:
    # Polled rather than watched with add_reader: an event loop may make a watched descriptor
    # non-blocking, and the pipe's large replies would then fail to send.
    while not conn.poll():
        await asyncio.sleep(0.02)
    return conn.recv()


async def _serve(conn: Connection) -> None:
    worker = _Worker()
    try:
        while True:
            try:
                command = await _recv(conn)
            except (EOFError, OSError):
                return  # the parent is gone
            op = command[0]
            try:
                if op == "open":
                    reply: Any = await worker.open(command[1], command[2])
                elif op == "run":
                    reply = await worker.run(command[1], command[2], command[3])
                else:  # drop, close
                    await worker.close()
                    reply = op
            except Exception as exc:
                reply = WorkerError(f"{op}: {type(exc).__name__}: {exc}")
            conn.send(reply)
            if op == "close":
                return
    finally:
        await worker.close()


def worker_main(conn: Connection) -> None:
    try:
        import uvloop

        loop_factory: Any = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_serve(conn))


# ------------------------------------------------------------------------------------- parent


class Workers:
    """A few client worker processes; use as a context manager so they always end."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for i in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=worker_main, args=(child,), name=f"collab-bench-client-{i}", daemon=True)
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def _gather(self, timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        replies = []
        for conn in self.conns:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"a client worker did not answer within {timeout:.0f} s")
            try:
                reply = conn.recv()
            except EOFError:
                raise RuntimeError("a client worker exited unexpectedly") from None
            if isinstance(reply, WorkerError):
                raise RuntimeError(f"client worker: {reply.message}")
            replies.append(reply)
        return replies

    def open(self, plans: list[ClientPlan], timeout: float) -> OpenResult:
        """Connect and sync ``plans``, spread round-robin over the workers."""
        shares: list[list[ClientPlan]] = [[] for _ in self.conns]
        for i, plan in enumerate(plans):
            shares[i % len(shares)].append(plan)
        for conn, share in zip(self.conns, shares, strict=True):
            conn.send(("open", share, timeout))
        total = OpenResult()
        for reply in self._gather(timeout + 30):
            total.merge(reply)
        return total

    def run(self, duration: float, drain: float, *, lead: float = 0.5) -> tuple[int, list[RunResult]]:
        """Type for ``duration`` seconds from a common start ``lead`` seconds away."""
        t0 = time.monotonic_ns() + int(lead * 1e9)
        for conn in self.conns:
            conn.send(("run", t0, duration, drain))
        return t0, self._gather(lead + duration + drain + 30)

    def drop(self, timeout: float = 60.0) -> None:
        """Close every open client, keeping the workers."""
        for conn in self.conns:
            conn.send(("drop",))
        self._gather(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for conn in self.conns:
            with contextlib.suppress(OSError, BrokenPipeError):
                conn.send(("close",))
        for conn in self.conns:
            with contextlib.suppress(OSError, EOFError):
                if conn.poll(max(0.0, deadline - time.monotonic())):
                    conn.recv()
        for process in self.processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join(2)
            if process.is_alive():
                process.kill()
                process.join(2)
        for conn in self.conns:
            conn.close()
        self.conns = []
        self.processes = []


# ------------------------------------------------------------------------------------- analysis


@dataclass(slots=True)
class Delivery:
    """What a run measured: fan-out latency of every delivery of every edit sent in the window."""

    latencies_ms: list[float]
    expected: int
    sent: int
    send_rate: float  # edits/s actually sent in the window
    lag_p99_ms: float  # how late the generator sent, against its schedule
    errors: list[str]

    @property
    def delivered(self) -> int:
        return len(self.latencies_ms)

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.delivered)

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def analyse(plans: list[ClientPlan], t0: int, warmup: float, duration: float, results: list[RunResult]) -> Delivery:
    """Latencies of the edits sent between ``t0 + warmup`` and the end of the run."""
    room_size: dict[str, int] = {}
    for plan in plans:
        room_size[plan.room] = room_size.get(plan.room, 0) + 1
    fanout = {plan.client_id: room_size[plan.room] - 1 for plan in plans if plan.writer}
    window_start = t0 + int(warmup * 1e9)
    window_end = t0 + int(duration * 1e9)
    sends: dict[int, list[int]] = {}
    lags: list[float] = []
    errors: list[str] = []
    for result in results:
        sends.update(result.sends)
        lags.extend(lag / 1e6 for lag in result.lags_ns)
        errors.extend(result.errors)
    expected = 0
    sent = 0
    for client, times in sends.items():
        in_window = sum(1 for t in times if t >= window_start)
        sent += in_window
        expected += in_window * fanout.get(client, 0)
    latencies: list[float] = []
    append = latencies.append
    for result in results:
        for client, start, end, received in result.receipts:
            times = sends.get(client)
            if times is None:
                continue
            for clock in range(start, min(end, len(times))):
                sent_at = times[clock]
                if sent_at >= window_start:
                    append((received - sent_at) / 1e6)
    span = max(1e-9, (window_end - window_start) / 1e9)
    return Delivery(latencies, expected, sent, sent / span, percentile(lags, 99), errors[:5])
