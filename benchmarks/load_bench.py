"""Load benchmark: real ``collabcode serve`` processes on PostgreSQL and a private Redis, one
process and then two, under a mixed workload, REST, call signaling and broker pressure.

    python benchmarks/load_bench.py --quick            # every scenario, tiny sizes, under a minute
    python benchmarks/load_bench.py                    # thorough: ramps and longer windows (~15 min)
    python benchmarks/load_bench.py --scenarios mixed --processes 1,2 --json out.json

See benchmarks/README.md ("Load") for what each scenario measures and docs/performance.md for
figures. Everything runs on loopback; each process count gets a fresh database, a fresh
redis-server and fresh servers, stopped on exit (Ctrl-C and SIGTERM included).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collab_bench import BackgroundLoad, wait_idle
from collabbench.report import machine
from loadbench import broker, mixed, rest, signaling
from loadbench.cluster import Cluster, cluster
from rich.console import Console
from rich.table import Table

SCENARIOS = ("rest", "signaling", "broker", "mixed")


@dataclass(frozen=True)
class Sizes:
    login_accounts: int
    login_workers: int
    read_pairs: int
    read_workers: int
    rest_seconds: float
    call_pairs: int
    call_concurrency: int
    call_seconds: float
    broker_rates: tuple[int, ...]
    broker_seconds: float
    mixed: mixed.MixedConfig
    mixed_budget: float

    @classmethod
    def make(cls, quick: bool) -> Sizes:
        if quick:
            return cls(
                login_accounts=24,
                login_workers=8,
                read_pairs=8,
                read_workers=16,
                rest_seconds=2.0,
                call_pairs=16,
                call_concurrency=4,
                call_seconds=2.0,
                broker_rates=(1000, 5000),
                broker_seconds=1.0,
                mixed=mixed.MixedConfig(steps=(20, 40), window=2.5, settle=0.5, edits_per_person=60),
                mixed_budget=40.0,
            )
        return cls(
            login_accounts=300,
            login_workers=8,
            read_pairs=50,
            read_workers=32,
            rest_seconds=15.0,
            call_pairs=100,
            call_concurrency=16,
            call_seconds=15.0,
            broker_rates=(2000, 5000, 10_000, 20_000, 40_000),
            broker_seconds=5.0,
            mixed=mixed.MixedConfig(
                steps=(100, 200, 400, 600, 800, 1000, 1300, 1600, 2000, 2500, 3000), window=15.0, settle=3.0, retry=True
            ),
            mixed_budget=420.0,
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, short windows (under a minute)")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma-separated (default: all of {SCENARIOS})"
    )
    parser.add_argument("--processes", default="1,2", help="process counts to run, comma-separated (default: 1,2)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each process count, wait up to this long for other processes to leave the CPUs idle",
    )
    parser.add_argument(
        "--mixed-steps", help="comma-separated user counts of the mixed ramp (default: 100,200,400,...,3000)"
    )
    parser.add_argument("--json", type=Path, help="write every figure, the machine and the settings here")
    args = parser.parse_args(argv)
    args.scenario_names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for name in args.scenario_names:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    args.process_counts = [int(p) for p in args.processes.split(",") if p.strip()]
    if not args.process_counts or any(p not in (1, 2) for p in args.process_counts):
        parser.error("--processes takes 1 and/or 2")
    return args


async def run_processes(running: Cluster, names: list[str], sizes: Sizes, log: Any) -> dict[str, Any]:
    """Every scenario on one fresh cluster (mixed last: it ends at overload)."""
    out: dict[str, Any] = {}
    processes = len(running.servers)
    log(f"{processes} process(es) up: {', '.join(running.urls)}; redis {running.redis.url}")
    if "rest" in names:
        accounts = await running.people(sizes.login_accounts, prefix="login", login_rounds=12)
        out["login"] = await rest.logins(accounts, running.urls, sizes.login_workers, sizes.rest_seconds)
        readers = await running.people(2 * sizes.read_pairs, prefix="read")
        await rest_pairs(readers, running.urls)
        out["reads"] = await rest.reads(readers, running.urls, sizes.read_workers, sizes.rest_seconds)
        for key in ("login", "reads"):
            log(
                f"rest {processes} proc {key}: {out[key].per_second:.1f}/s p99 {out[key].p99_ms:.1f} ms "
                f"errors {out[key].errors or 0}"
            )
    if "signaling" in names:
        out["signaling"] = await signaling.run(running, sizes.call_pairs, sizes.call_concurrency, sizes.call_seconds)
        s = out["signaling"]
        log(
            f"signaling {processes} proc: {s.per_second:.1f} set-ups/s p50 {s.p50_ms:.1f} ms "
            f"p99 {s.p99_ms:.1f} ms errors {s.errors or 0}"
        )
    if "broker" in names and processes == 2:
        out["broker"] = await broker.run(running.redis.url, list(sizes.broker_rates), sizes.broker_seconds)
        for b in out["broker"]:
            log(
                f"broker {b.offered}/s: published {b.published_per_second:.0f}/s, delivered {b.delivered}, "
                f"lag p50 {b.p50_ms:.2f} ms p99 {b.p99_ms:.2f} ms"
            )
    if "mixed" in names:
        out["mixed"] = await mixed.ramp(running, sizes.mixed, log, time.monotonic() + sizes.mixed_budget)
    return out


async def rest_pairs(people: list[Any], urls: list[str]) -> None:
    """Readers get something to read: a workspace and a conversation per pair."""
    from loadbench.setup import make_pairs

    await make_pairs(people, urls, workspace=True)


def _f(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def _ratio(one: float | None, two: float | None) -> str:
    if one is None or two is None or not one or math.isnan(one) or math.isnan(two):
        return "n/a"
    return f"{two / one:.2f}"


def held(steps: list[mixed.Step]) -> int | None:
    passing = [s.users for s in steps if s.passed]
    return max(passing) if passing else None


def tables(results: dict[int, dict[str, Any]]) -> list[Table]:
    one, two = results.get(1, {}), results.get(2, {})
    out: list[Table] = []
    summary = Table(title="load: one process vs two (ratio = two / one)")
    for column in ("figure", "1 process", "2 processes", "2 / 1"):
        summary.add_column(column, justify="left" if column == "figure" else "right")

    def row(label: str, a: float | None, b: float | None, digits: int = 1, ratio: bool = True) -> None:
        summary.add_row(
            label,
            _f(a, digits) if a is not None else "-",
            _f(b, digits) if b is not None else "-",
            _ratio(a, b) if ratio else "",
        )

    if "mixed" in one or "mixed" in two:
        a, b = held(one.get("mixed", [])), held(two.get("mixed", []))
        row("mixed: users held (p99 < 100 ms)", a, b, 0)
    for key, label in (
        ("login", "login (bcrypt 12)"),
        ("reads", "authenticated reads"),
        ("signaling", "call set-ups"),
    ):
        if key in one or key in two:
            x, y = one.get(key), two.get(key)
            row(f"{label}: per second", x.per_second if x else None, y.per_second if y else None)
            row(f"{label}: p50 ms", x.p50_ms if x else None, y.p50_ms if y else None, ratio=False)
            row(f"{label}: p99 ms", x.p99_ms if x else None, y.p99_ms if y else None, ratio=False)
            cpu = (x.generator_cpu_percent if x else None, y.generator_cpu_percent if y else None)
            row(f"{label}: generator CPU %", *cpu, digits=0, ratio=False)
            errors = f"{x.errors if x else ''} {y.errors if y else ''}".strip()
            if errors.strip("{} "):
                summary.add_row(f"{label}: errors", str(x.errors if x else "-"), str(y.errors if y else "-"), "")
    out.append(summary)

    for processes, figures in sorted(results.items()):
        if "mixed" not in figures:
            continue
        table = Table(title=f"mixed ramp, {processes} process(es) (goal: p99 < {mixed.GOAL_MS:g} ms, ≤ 0.1 % missing)")
        for column in (
            "users",
            "edit p50/p99 ms",
            "message p50/p99 ms",
            "missing edits",
            "missing msgs",
            "server CPU %",
            "gen. CPU %",
            "gen. lag p99 ms",
            "errors",
            "holds",
        ):
            table.add_column(column, justify="right")
        for s in figures["mixed"]:
            table.add_row(
                str(s.users),
                f"{_f(s.edit_p50_ms)} / {_f(s.edit_p99_ms)}",
                f"{_f(s.message_p50_ms)} / {_f(s.message_p99_ms)}",
                f"{s.edits_missing}/{s.edits_sent}",
                f"{s.messages_missing}/{s.messages_sent}",
                str(s.server_cpu_percent),
                str(s.generator_cpu_percent),
                _f(s.generator_lag_p99_ms),
                str(s.socket_errors or ""),
                ("yes" if s.passed else "NO") + (" (2nd run)" if s.retried else ""),
            )
        out.append(table)

    if "broker" in two:
        table = Table(title="broker: RedisBus, publisher process -> subscriber process (256-byte payloads)")
        for column in ("offered/s", "published/s", "delivered/s", "lost", "lag p50 ms", "lag p99 ms"):
            table.add_column(column, justify="right")
        for b in two["broker"]:
            table.add_row(
                f"{b.offered:,}",
                f"{b.published_per_second:,.0f}",
                f"{b.delivered / b.publish_seconds:,.0f}" if b.publish_seconds else "n/a",
                str(b.lost),
                _f(b.p50_ms, 2),
                _f(b.p99_ms, 2),
            )
        out.append(table)
    return out


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: servers and Redis stop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    console = Console(width=None if sys.stdout.isatty() else 200)
    sizes = Sizes.make(args.quick)
    if args.mixed_steps:
        steps = tuple(int(n) for n in args.mixed_steps.split(",") if n.strip())
        sizes = dataclasses.replace(sizes, mixed=dataclasses.replace(sizes.mixed, steps=steps))
    info = machine({})
    console.print(
        f"[bold]load benchmark[/] {'quick' if args.quick else 'thorough'}; {info.get('cpu', '?')}, "
        f"{info['nproc']} CPUs, load average {' '.join(f'{x:.2f}' for x in info['loadavg'])}"
    )

    def log(message: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}")

    started = time.monotonic()
    results: dict[int, dict[str, Any]] = {}
    background: dict[int, float] = {}
    stopped = ""
    try:
        for processes in args.process_counts:
            if args.wait_idle > 0:
                wait_idle(args.wait_idle, log)
            with BackgroundLoad() as load, cluster(processes) as running:
                results[processes] = asyncio.run(run_processes(running, args.scenario_names, sizes, log))
            background[processes] = load.cpus
            log(f"{processes} process(es) done; other processes kept {load.cpus:.2f} CPUs busy meanwhile")
    except KeyboardInterrupt:
        stopped = "interrupted"
    except SystemExit as exc:
        stopped = f"terminated (exit {exc.code})"
    for table in tables(results):
        console.print(table)
    elapsed = time.monotonic() - started
    info["loadavg_end"] = os.getloadavg()
    console.print(
        f"[dim]{elapsed:.0f} s; load average before {' '.join(f'{x:.2f}' for x in info['loadavg'])}, "
        f"after {' '.join(f'{x:.2f}' for x in info['loadavg_end'])}; CPUs used by other processes: "
        + ", ".join(f"{p} proc {c:.2f}" for p, c in background.items())
        + "[/]"
    )
    if stopped:
        console.print(f"[yellow]{stopped}: servers stopped; the results above are what was measured[/]")
    if args.json:

        def plain(value: Any) -> Any:
            if isinstance(value, list):
                return [plain(v) for v in value]
            if hasattr(value, "__dataclass_fields__"):
                return asdict(value)
            return value

        payload = {
            "machine": info,
            "sizes": asdict(sizes),
            "background_cpus": background,
            "elapsed_seconds": round(elapsed),
            "results": {p: {k: plain(v) for k, v in r.items()} for p, r in results.items()},
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    return 130 if stopped == "interrupted" else 143 if stopped else 0


if __name__ == "__main__":
    sys.exit(main())
