"""Soak: waves of people join one ``collabcode serve`` process (SQLite), work, and leave; then
everything the process holds for them must be gone.

    python benchmarks/soak.py                     # 15 minutes of waves (the figures in docs/performance.md)
    python benchmarks/soak.py --minutes 3 --pairs 4,8

Each wave signs new people in over ``POST /api/auth/login`` (so rate-limit buckets are made),
pairs them on a shared file and a direct conversation, and runs the load benchmark's mixed
schedule (:class:`loadbench.mixed.MixedLoad`: typing into the document, chat messages, presence
changes), plus typing hints and full call set-ups over ``/ws/events`` (``POST /api/calls``, then
the ``call.accept``, ``rtc.offer``, ``rtc.answer``, ``rtc.candidate`` and ``call.end`` frames).
Each pair's last call of a wave is left up: its people close their sockets mid-call and the
server hangs them up after ``CallLimits.hangup_grace_seconds`` (20 s). Then everyone has closed
their sockets, and signs out.

A warm-up wave comes first; once it has left and the process has settled, the baseline is taken:
RSS and open file descriptors from ``/proc/<pid>``, and every internal gauge of :data:`GAUGES`
from ``/metrics``. After the last wave and the same settling, each figure is compared with the
baseline: gauges and descriptors must be back exactly, RSS within :data:`RSS_TOLERANCE` (allocator
noise, SQLite's page cache). The exit status is 1 when something grew. Rooms are unloaded
``COLLABCODE_COLLAB_IDLE_UNLOAD_SECONDS`` after their last editor left; the soak sets it to
:data:`IDLE_UNLOAD_SECONDS` so settling takes seconds, not the default half minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from chat_bench import PASSWORD, stop_server
from loadbench.clients import EventsSocket
from loadbench.cluster import Cluster, Person
from loadbench.mixed import MixedConfig, MixedLoad
from loadbench.setup import Pair
from prometheus_client.parser import text_string_to_metric_families

from collabcode.settings import Settings
from tests.conftest import start_server

#: The internal gauges compared with the baseline: (row label, metric name, labels).
GAUGES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("events sockets open", "collabcode_websockets_open", {"endpoint": "events"}),
    ("collab sockets open", "collabcode_websockets_open", {"endpoint": "collab"}),
    ("rooms loaded", "collabcode_collab_rooms_loaded", {}),
    ("hub sockets", "collabcode_events_hub_sockets", {}),
    ("hub users", "collabcode_events_hub_users", {}),
    ("hub bus subscriptions", "collabcode_events_hub_subscriptions", {}),
    ("hub locks", "collabcode_events_hub_locks", {}),
    ("presence users", "collabcode_presence_users", {}),
    ("presence sockets", "collabcode_presence_sockets", {}),
    ("broker subscriptions", "collabcode_broker_subscriptions", {}),
    ("rate-limit buckets", "collabcode_ratelimit_buckets", {}),
    ("live calls", "collabcode_calls_live", {}),
    ("call hang-up watches", "collabcode_calls_offline_watched", {}),
    ("signaling buckets", "collabcode_calls_signal_buckets", {}),
    ("typing throttles", "collabcode_chat_typing_entries", {}),
    ("live-activity documents", "collabcode_live_activity_documents", {}),
    ("live-activity users", "collabcode_live_activity_users", {}),
)
#: RSS may end this much above the baseline: the larger of a share and an amount.
RSS_TOLERANCE = (0.15, 20 * 1024 * 1024)
IDLE_UNLOAD_SECONDS = 3
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
FRAME_TIMEOUT = 20.0


@dataclass(frozen=True)
class SoakConfig:
    """One soak: its length, the wave sizes (cycled) and how long each wave works."""

    minutes: float = 15.0
    pairs: tuple[int, ...] = (12, 24, 18)
    wave_seconds: float = 60.0
    settle_timeout: float = 120.0
    mixed: MixedConfig = field(
        default_factory=lambda: MixedConfig(
            steps=(), window=0.0, settle=0.0, edit_interval=1.0, message_interval=4.0, presence_interval=10.0
        )
    )
    #: Seconds between typing hints of one person, and between call set-ups of one pair.
    typing_interval: float = 3.0
    call_pause: float = 2.0
    #: How long each call stays up, and whether a wave's last call is left up when its people go.
    call_hold: float = 1.5
    abandon_last_call: bool = True
    #: Sign each person in over ``POST /api/auth/login`` (its rate-limit buckets live 60 s).
    http_sign_in: bool = True


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the server process holds at one moment."""

    rss: int
    fds: int
    gauges: dict[str, float]


@dataclass
class Counts:
    """Work done over the whole run (warm-up included)."""

    waves: int = 0
    people: int = 0
    edits: int = 0
    messages: int = 0
    typing: int = 0
    calls: int = 0
    abandoned_calls: int = 0
    signaling_frames: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, key: str) -> None:
        self.errors[key] = self.errors.get(key, 0) + 1


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    baseline: float
    seen: float
    after: float
    allowed: float

    @property
    def ok(self) -> bool:
        return self.after <= self.baseline + self.allowed


@dataclass
class Result:
    config: SoakConfig
    counts: Counts
    rows: list[Row]
    seconds: float
    settle_seconds: float

    @property
    def grew(self) -> list[str]:
        return [row.name for row in self.rows if not row.ok]


# -- the server and its figures ---------------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def parse_gauges(text: str) -> dict[str, float]:
    """The :data:`GAUGES` in a ``/metrics`` page; a missing one is an error (it was renamed)."""
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    values: dict[str, float] = {}
    for label, name, labels in GAUGES:
        key = (name, tuple(sorted(labels.items())))
        if key not in samples:
            raise RuntimeError(f"/metrics has no {name}{labels or ''}")
        values[label] = samples[key]
    return values


async def snapshot(url: str, pid: int) -> Snapshot:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{url}/metrics")
        response.raise_for_status()
    return Snapshot(rss_bytes(pid), open_fds(pid), parse_gauges(response.text))


@dataclass
class SoakServer(Cluster):
    """One ``collabcode serve`` on SQLite; people sign in over HTTP like browsers (or, with
    ``http_sign_in`` off, keep the token made with their account: no 60 s login buckets)."""

    http_sign_in: bool = True

    def settings(self, rounds: int = 4) -> Settings:
        return Settings(data_dir=self.data_dir, bcrypt_rounds=rounds)

    async def people(self, count: int, *, prefix: str = "u", login_rounds: int | None = None) -> list[Person]:
        made = await super().people(count, prefix=prefix, login_rounds=login_rounds)
        if not self.http_sign_in:
            return made
        return list(await asyncio.gather(*(self._sign_in(person) for person in made)))

    async def _sign_in(self, person: Person) -> Person:
        transport = httpx.AsyncHTTPTransport(local_address=person.ip)
        async with httpx.AsyncClient(transport=transport, timeout=60) as http:
            response = await http.post(
                f"{self.urls[0]}/api/auth/login", json={"login": person.username, "password": PASSWORD}
            )
        if response.status_code != 200:
            raise RuntimeError(f"login {response.status_code}: {response.text[:200]}")
        return dataclasses.replace(person, token=response.json()["access_token"])


@contextlib.contextmanager
def soak_server(*, http_sign_in: bool = True) -> Iterator[SoakServer]:
    """A fresh data directory and server (bcrypt cost 4, no STUN port), stopped on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    # No database URL and no Redis: SQLite in the data directory, the in-process broker.
    server = SoakServer(workdir, "", None, 4, http_sign_in=http_sign_in)  # type: ignore[arg-type]
    env = {
        "COLLABCODE_BCRYPT_ROUNDS": "4",
        "COLLABCODE_LOG_LEVEL": "warning",
        "COLLABCODE_COLLAB_IDLE_UNLOAD_SECONDS": str(IDLE_UNLOAD_SECONDS),
    }
    try:
        server.servers.append(start_server(server.data_dir, "--stun-port", "0", env=env, timeout=60))
        yield server
    finally:
        for running in server.servers:
            stop_server(running.process)
        shutil.rmtree(workdir, ignore_errors=True)


# -- one wave ------------------------------------------------------------------------------------------


def _frame(kind: str, call_id: str, state: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def match(frame: dict[str, Any]) -> bool:
        if frame.get("type") != kind:
            return False
        if kind.startswith("rtc."):
            return bool(frame.get("call_id") == call_id)
        call = frame.get("call") or {}
        return bool(call.get("id") == call_id and (state is None or call.get("state") == state))

    return match


async def call_once(
    http: httpx.AsyncClient,
    url: str,
    caller: EventsSocket,
    callee: EventsSocket,
    counts: Counts,
    *,
    hold: float,
    end: bool = True,
) -> None:
    """One call between two events sockets: start (REST), accept, offer, answer, candidates, a
    ``hold`` seconds talk, end (or not: the people leave with the call up, and the server hangs
    them up once their sockets have been gone for the grace period)."""
    ringing = callee.expect(lambda f: f.get("type") == "call.ringing")
    started = await http.post(
        f"{url}/api/calls", json={"callee": callee.person.username, "media": "audio"}, headers=caller.person.headers
    )
    if started.status_code != 201:
        ringing.cancel()
        raise RuntimeError(f"call start {started.status_code}")
    call_id = started.json()["id"]
    await asyncio.wait_for(ringing, FRAME_TIMEOUT)
    active = [ws.expect(_frame("call.updated", call_id, "active")) for ws in (caller, callee)]
    await callee.send({"type": "call.accept", "call_id": call_id})
    await asyncio.wait_for(asyncio.gather(*active), FRAME_TIMEOUT)
    for sender, receiver, kind, body in (
        (caller, callee, "rtc.offer", {"sdp": SDP}),
        (callee, caller, "rtc.answer", {"sdp": SDP}),
        (caller, callee, "rtc.candidate", {"candidate": CANDIDATE}),
        (callee, caller, "rtc.candidate", {"candidate": CANDIDATE}),
        (caller, callee, "rtc.candidate", {"candidate": None}),
        (callee, caller, "rtc.candidate", {"candidate": None}),
    ):
        relayed = receiver.expect(_frame(kind, call_id))
        await sender.send({"type": kind, "call_id": call_id, "to": receiver.person.user_id, **body})
        await asyncio.wait_for(relayed, FRAME_TIMEOUT)
        counts.signaling_frames += 1
    counts.calls += 1
    await asyncio.sleep(hold)
    if not end:
        counts.abandoned_calls += 1
        return
    ended = [ws.expect(_frame("call.ended", call_id)) for ws in (caller, callee)]
    await caller.send({"type": "call.end", "call_id": call_id})
    await asyncio.wait_for(asyncio.gather(*ended), FRAME_TIMEOUT)


async def _pair_extras(
    url: str, pair: Pair, sockets: dict[str, EventsSocket], config: SoakConfig, until: float, counts: Counts
) -> None:
    """Alongside the mixed schedule: typing hints and calls, the caller alternating."""
    a, b = sockets[pair.a.user_id], sockets[pair.b.user_id]
    # A new connection per request: a kept-alive one may be closed by the server (idle timeout)
    # just as the next call starts, a client-side race, not what the soak looks for.
    transport = httpx.AsyncHTTPTransport(local_address=pair.a.ip, limits=httpx.Limits(max_keepalive_connections=0))
    async with httpx.AsyncClient(timeout=30, transport=transport) as http:
        for turn in itertools.count():
            last = time.monotonic() + config.call_pause + config.call_hold >= until
            typist = a if turn % 2 == 0 else b
            with contextlib.suppress(Exception):
                await typist.send({"type": "typing", "conversation_id": pair.conversation_id, "active": True})
                counts.typing += 1
            caller, callee = (a, b) if turn % 2 == 0 else (b, a)
            abandon = last and config.abandon_last_call
            try:
                await call_once(http, url, caller, callee, counts, hold=config.call_hold, end=not abandon)
            except Exception as exc:
                counts.error(f"call: {str(exc) if isinstance(exc, RuntimeError) else type(exc).__name__}")
            if last:
                return
            await asyncio.sleep(max(config.call_pause, config.typing_interval))


async def _sign_out(url: str, people: list[Person], counts: Counts) -> None:
    async def one(person: Person) -> None:
        transport = httpx.AsyncHTTPTransport(local_address=person.ip)
        try:
            async with httpx.AsyncClient(transport=transport, timeout=30) as http:
                response = await http.post(f"{url}/api/auth/logout", headers=person.headers)
            if response.status_code != 204:
                counts.error(f"sign-out {response.status_code}")
        except httpx.HTTPError as exc:
            counts.error(f"sign-out: {type(exc).__name__}")

    await asyncio.gather(*(one(p) for p in people))


async def wave(
    server: SoakServer, pairs: int, config: SoakConfig, counts: Counts, log: Callable[[str], None]
) -> Snapshot:
    """``pairs`` pairs of new people join, work for ``wave_seconds``, and leave; returns each
    server figure's highest value while they were there (sampled every two seconds)."""
    load = MixedLoad(server, config.mixed, log)
    url = server.urls[0]
    loaded: Snapshot | None = None
    try:
        await load.grow(2 * pairs)
        sockets = {socket.person.user_id: socket for socket in load.events}
        until = time.monotonic() + config.wave_seconds
        work = asyncio.gather(*(_pair_extras(url, pair, sockets, config, until, counts) for pair in load.pairs))
        while time.monotonic() < until:
            loaded = highest(loaded, await snapshot(url, server.pids[0]))
            await asyncio.sleep(min(2.0, max(0.0, until - time.monotonic())))
        await work
    finally:
        await load.close()
    people = [person for pair in load.pairs for person in (pair.a, pair.b)]
    await _sign_out(url, people, counts)
    counts.waves += 1
    counts.people += len(people)
    counts.edits += len(load.edit_sent)
    counts.messages += len(load.message_sent)
    for key, value in load._errors().items():
        counts.errors[key] = counts.errors.get(key, 0) + value
    assert loaded is not None
    return loaded


#: Gauges that are not 0 on an idle process (the collaboration relay's own subscription).
STANDING = ("broker subscriptions",)


def idle(current: Snapshot) -> bool:
    """Nothing is held for anyone: every gauge but :data:`STANDING` is 0."""
    return all(value == 0 for name, value in current.gauges.items() if name not in STANDING)


def back_to(baseline: Snapshot) -> Callable[[Snapshot], bool]:
    def done(current: Snapshot) -> bool:
        return all(current.gauges[name] <= value for name, value in baseline.gauges.items())

    return done


async def settle(
    server: SoakServer, done: Callable[[Snapshot], bool], timeout: float
) -> tuple[Snapshot, float, Snapshot]:
    """Poll until ``done`` (or ``timeout`` seconds), then give the allocator two more seconds and
    take the snapshot; returns it, the seconds waited and each figure's highest value meanwhile
    (calls left up are watched only after their people went)."""
    started = time.monotonic()
    url, pid = server.urls[0], server.pids[0]
    seen = await snapshot(url, pid)
    high = seen
    while not done(seen) and time.monotonic() - started < timeout:
        await asyncio.sleep(1.0)
        seen = await snapshot(url, pid)
        high = highest(high, seen)
    await asyncio.sleep(2.0)
    return await snapshot(url, pid), time.monotonic() - started, high


def compare(baseline: Snapshot, seen: Snapshot, after: Snapshot) -> list[Row]:
    share, amount = RSS_TOLERANCE
    mib = 2**20
    allowed_rss = max(share * baseline.rss, amount) / mib
    rows = [
        Row("RSS (MiB)", baseline.rss / mib, seen.rss / mib, after.rss / mib, allowed_rss),
        Row("open fds", baseline.fds, seen.fds, after.fds, 0),
    ]
    rows += [Row(name, baseline.gauges[name], seen.gauges[name], after.gauges[name], 0) for name, _, _ in GAUGES]
    return rows


def highest(first: Snapshot | None, second: Snapshot) -> Snapshot:
    """Each figure's highest value of the two (the busiest moment, figure by figure)."""
    if first is None:
        return second
    gauges = {name: max(first.gauges[name], value) for name, value in second.gauges.items()}
    return Snapshot(max(first.rss, second.rss), max(first.fds, second.fds), gauges)


async def run(config: SoakConfig, log: Callable[[str], None] = print) -> Result:
    """Warm-up wave, baseline, waves for ``config.minutes`` (warm-up included), settle, compare."""
    counts = Counts()
    started = time.monotonic()
    with soak_server(http_sign_in=config.http_sign_in) as server:
        sizes = itertools.cycle(config.pairs)
        first = next(sizes)
        log(f"warm-up wave: {2 * first} people")
        peak = await wave(server, first, config, counts, log)
        baseline, waited, leaving = await settle(server, idle, config.settle_timeout)
        peak = highest(peak, leaving)
        log(f"baseline after {waited:.0f} s: RSS {baseline.rss / 2**20:.1f} MiB, {baseline.fds} fds")
        deadline = started + config.minutes * 60
        while True:
            pairs = next(sizes)
            loaded = await wave(server, pairs, config, counts, log)
            peak = highest(peak, loaded)
            log(
                f"wave {counts.waves}: {2 * pairs} people, {counts.calls} calls so far, "
                f"RSS {loaded.rss / 2**20:.1f} MiB, {loaded.fds} fds while loaded"
            )
            if time.monotonic() + config.wave_seconds + 10 > deadline:
                break
        after, settle_seconds, leaving = await settle(server, back_to(baseline), config.settle_timeout)
    rows = compare(baseline, highest(peak, leaving), after)
    return Result(config, counts, rows, time.monotonic() - started, settle_seconds)


# -- report -------------------------------------------------------------------------------------------------


def table(result: Result) -> str:
    lines = [
        "| figure | baseline | highest seen | after leave | allowed growth | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in result.rows:
        fmt = "{:.1f}" if row.name.startswith("RSS") else "{:.0f}"
        lines.append(
            f"| {row.name} | {fmt.format(row.baseline)} | {fmt.format(row.seen)} | {fmt.format(row.after)} "
            f"| {fmt.format(row.allowed)} | {'ok' if row.ok else 'GREW'} |"
        )
    return "\n".join(lines)


def summary(result: Result) -> str:
    c = result.counts
    verdict = "no growth after clients left" if not result.grew else "GREW: " + ", ".join(result.grew)
    return (
        f"{result.seconds / 60:.1f} min, {c.waves} waves (warm-up included), {c.people} people, "
        f"{c.edits} edits, {c.messages} chat messages, {c.typing} typing hints, {c.calls} calls "
        f"({c.abandoned_calls} left up when their people went; {c.signaling_frames} relayed signaling frames), "
        f"errors {c.errors or 0}; settled in "
        f"{result.settle_seconds:.0f} s. Verdict: {verdict}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15.0, help="length of the waves, warm-up included")
    parser.add_argument("--pairs", default="12,24,18", help="pairs of people per wave, cycled (default 12,24,18)")
    parser.add_argument("--wave-seconds", type=float, default=60.0, help="how long each wave works (default 60)")
    args = parser.parse_args()
    config = SoakConfig(
        minutes=args.minutes,
        pairs=tuple(int(p) for p in args.pairs.split(",")),
        wave_seconds=args.wave_seconds,
    )
    result = asyncio.run(run(config))
    print(table(result))
    print(summary(result))
    return 1 if result.grew else 0


if __name__ == "__main__":
    sys.exit(main())
