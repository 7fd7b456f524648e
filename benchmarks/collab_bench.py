"""Side-by-side collaboration benchmark: collabcode against Hocuspocus, the y-websocket reference
server and pycrdt-websocket, on loopback, with ratios collabcode / best peer.

    python benchmarks/collab_bench.py --quick
    python benchmarks/collab_bench.py --targets collabcode,hocuspocus --scenarios fanout,sync

See benchmarks/README.md for what each scenario measures and what it needs installed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collabbench.report import Results, machine
from collabbench.scenarios import SCENARIOS, Config, Context, DeadlineExceeded
from collabbench.targets import all_targets, stop_all
from rich.console import Console

DEFAULT_TARGETS = "collabcode,hocuspocus,ywebsocket,pycrdt"
DEFAULT_SCENARIOS = "fanout,maxrate,sync,memory"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--targets", default=DEFAULT_TARGETS, help=f"comma-separated (default: {DEFAULT_TARGETS})")
    parser.add_argument(
        "--scenarios", default=DEFAULT_SCENARIOS, help=f"comma-separated (default: {DEFAULT_SCENARIOS})"
    )
    parser.add_argument("--quick", action="store_true", help="short runs, one repetition (a few minutes in all)")
    parser.add_argument(
        "--repeat", type=int, default=None, help="repetitions, interleaved (default: 1 quick, 3 thorough)"
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=max(2, os.cpu_count() or 2),
        help="client worker processes (default: max(2, nproc))",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for other processes to leave the CPUs idle (shared machines)",
    )
    parser.add_argument("--json", type=Path, help="write every figure, the machine and the settings here")
    parser.add_argument("--markdown", type=Path, help="write the result tables as Markdown here")
    args = parser.parse_args(argv)
    known = all_targets()
    args.target_names = [name.strip() for name in args.targets.split(",") if name.strip()]
    args.scenario_names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    for name in args.target_names:
        if name not in known:
            parser.error(f"unknown target {name!r}; choose from {', '.join(known)}")
    for name in args.scenario_names:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.repeat < 1 or args.procs < 1:
        parser.error("--repeat and --procs must be at least 1")
    return args


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine spent busy since boot (/proc/stat), in seconds."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (servers, client workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class BackgroundLoad:
    """How many CPUs other processes kept busy while a scenario ran (noise in the figures)."""

    def __enter__(self) -> BackgroundLoad:
        self._wall, self._busy, self._own = time.monotonic(), _busy_cpu_seconds(), _own_cpu_seconds()
        self.cpus = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(1e-6, time.monotonic() - self._wall)
        other = (_busy_cpu_seconds() - self._busy) - (_own_cpu_seconds() - self._own)
        self.cpus = max(0.0, other / wall)


def wait_idle(limit: float, log: Any, *, threshold: float = 0.25) -> float:
    """Wait (at most ``limit`` seconds) until other processes use under ``threshold`` CPUs."""
    deadline = time.monotonic() + limit
    while True:
        with BackgroundLoad() as background:
            time.sleep(2.0)
        if background.cpus < threshold or time.monotonic() >= deadline:
            return background.cpus
        log(f"[dim]other processes busy ({background.cpus:.1f} CPUs); waiting[/]")


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: servers and workers stop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    console = Console(width=None if sys.stdout.isatty() else 200)
    known = all_targets()
    targets = {}
    for name in args.target_names:
        reason = known[name].available()
        if reason:
            console.print(f"[yellow]skipping {known[name].label}: {reason}[/]")
        else:
            targets[name] = known[name]
    config = Config.make(quick=args.quick, procs=args.procs)
    results = Results(targets)
    info = machine(targets)
    console.print(
        f"[bold]collab benchmark[/] {'quick' if args.quick else 'thorough'}, {args.repeat} repetition(s), "
        f"{config.procs} client processes; {info.get('cpu', '?')}, {info['nproc']} CPUs, "
        f"load average {info['loadavg'][0]:.2f}"
    )

    def log(message: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}")

    started = time.monotonic()
    try:
        for scenario in args.scenario_names:
            for repetition in range(args.repeat):
                names = list(targets)
                shift = repetition % max(1, len(names))
                for name in names[shift:] + names[:shift]:  # interleaved: each repetition rotates the order
                    if args.wait_idle > 0:
                        wait_idle(args.wait_idle, log)
                    budget = config.budgets[scenario]
                    ctx = Context(config, time.monotonic() + budget, log)
                    try:
                        with BackgroundLoad() as background:
                            metrics = SCENARIOS[scenario](targets[name], ctx)
                        results.add(scenario, name, metrics, background=background.cpus)
                    except DeadlineExceeded:
                        results.error(
                            scenario, name, f"repetition {repetition + 1} stopped at its {budget:.0f} s deadline"
                        )
                    except Exception as exc:
                        results.error(
                            scenario, name, f"repetition {repetition + 1} failed: {type(exc).__name__}: {exc}"
                        )
                        log(f"[red]{name} {scenario} failed: {exc}[/]")
            console.print(results.table(scenario))
            results.print_notes(console, scenario)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; stopping servers[/]")
    finally:
        stop_all()
    elapsed = time.monotonic() - started
    console.print()
    console.rule("all results")
    results.print(console)
    console.print(f"[dim]{elapsed:.0f} s; load average now {os.getloadavg()[0]:.2f}[/]")
    info["elapsed_seconds"] = round(elapsed)
    info["loadavg_end"] = os.getloadavg()
    if args.json:
        payload = {"machine": info, "config": vars(config), "results": results.as_json()}
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    if args.markdown:
        args.markdown.write_text(results.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
