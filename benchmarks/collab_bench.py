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


def _cpu_by_process() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and its reaped children) for every process."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        # fields[0] is the state (field 3 of proc(5)); ppid, utime, stime, cutime, cstime follow
        found[int(entry)] = (int(fields[1]), sum(int(value) for value in fields[11:15]) / tick)
    return found


def _others_cpu_seconds() -> dict[int, float]:
    """CPU seconds of every process outside this benchmark (its own tree is left out)."""
    processes = _cpu_by_process()
    ours = os.getpid()
    others: dict[int, float] = {}
    for pid, (_parent, seconds) in processes.items():
        current, hops = pid, 0
        while current not in (ours, 0, 1) and hops < 64:
            current, hops = processes.get(current, (0, 0.0))[0], hops + 1
        if current != ours:
            others[pid] = seconds
    return others


class BackgroundLoad:
    """How many CPUs other processes kept busy while a scenario ran (noise in the figures).

    Per-process CPU time from /proc, including what each process's exited children used, over
    every process that is not this benchmark or one of its descendants.
    """

    def __enter__(self) -> BackgroundLoad:
        self._wall, self._before = time.monotonic(), _others_cpu_seconds()
        self.cpus = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(1e-6, time.monotonic() - self._wall)
        after = _others_cpu_seconds()
        used = sum(max(0.0, seconds - self._before.get(pid, 0.0)) for pid, seconds in after.items())
        self.cpus = used / wall


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
    stopped_by = ""
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
        stopped_by = "interrupted"
    except SystemExit as exc:  # SIGTERM: keep what was measured
        stopped_by = f"terminated (exit {exc.code})"
    finally:
        stop_all()
    if stopped_by:
        console.print(f"[yellow]{stopped_by}: servers stopped; the results so far follow[/]")
    elapsed = time.monotonic() - started
    console.print()
    console.rule("all results")
    results.print(console)
    console.print(f"[dim]{elapsed:.0f} s; load average now {os.getloadavg()[0]:.2f}[/]")
    info["elapsed_seconds"] = round(elapsed)
    info["loadavg_end"] = os.getloadavg()
    info["stopped_by"] = stopped_by or None
    if args.json:
        payload = {"machine": info, "config": vars(config), "results": results.as_json()}
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    if args.markdown:
        args.markdown.write_text(results.markdown())
    return 130 if stopped_by == "interrupted" else 143 if stopped_by else 0


if __name__ == "__main__":
    sys.exit(main())
