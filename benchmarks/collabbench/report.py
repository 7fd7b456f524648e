"""Results: medians over repetitions, the best peer, ratios, goals; as rich tables and Markdown."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from collabbench.scenarios import Metric, finite
from collabbench.targets import Target

COLLABCODE = "collabcode"


@dataclass
class Row:
    """One figure across targets, from every repetition."""

    key: str
    label: str
    unit: str
    lower_is_better: bool
    goal: str | float | None
    values: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def value(self, target: str) -> float | None:
        values = [v for v in self.values.get(target, []) if finite(v)]
        return statistics.median(values) if values else None

    def best_peer(self, targets: dict[str, Target]) -> tuple[str, float] | None:
        candidates = [
            (name, value)
            for name in self.values
            if name in targets and targets[name].is_peer and (value := self.value(name)) is not None
        ]
        if not candidates:
            return None
        pick = min if self.lower_is_better else max
        return pick(candidates, key=lambda item: item[1])

    def ratio(self, targets: dict[str, Target]) -> float | None:
        ours = self.value(COLLABCODE)
        best = self.best_peer(targets)
        if ours is None or best is None or best[1] == 0:
            return None
        return ours / best[1]

    def verdict(self, targets: dict[str, Target]) -> str:
        ours = self.value(COLLABCODE)
        if self.goal is None:
            return ""
        if COLLABCODE not in self.values:
            return "not measured"
        if ours is None:
            return "NOT MET (no result)"
        if self.goal == "peers":
            best = self.best_peer(targets)
            if best is None:
                return "no peer result"
            good = ours <= best[1] if self.lower_is_better else ours >= best[1]
            return "met" if good else "NOT MET"
        assert isinstance(self.goal, float)
        return "met" if ours < self.goal else "NOT MET"

    def goal_text(self) -> str:
        if self.goal == "peers":
            return "≤ best peer" if self.lower_is_better else "≥ best peer"
        if isinstance(self.goal, float):
            return f"< {self.goal:g} {self.unit}"
        return ""


class Results:
    def __init__(self, targets: dict[str, Target]) -> None:
        self.targets = targets
        self.rows: dict[str, dict[str, Row]] = {}
        self.errors: dict[str, dict[str, list[str]]] = {}
        self.background: dict[str, dict[str, list[float]]] = {}

    def add(self, scenario: str, target: str, metrics: list[Metric], *, background: float | None = None) -> None:
        """Record one repetition; ``background``: CPUs other processes kept busy meanwhile."""
        if background is not None:
            self.background.setdefault(scenario, {}).setdefault(target, []).append(round(background, 2))
        rows = self.rows.setdefault(scenario, {})
        for metric in metrics:
            row = rows.get(metric.key)
            if row is None:
                row = rows[metric.key] = Row(metric.key, metric.label, metric.unit, metric.lower_is_better, metric.goal)
            row.values.setdefault(target, []).append(metric.value if metric.value is not None else float("nan"))
            notes = row.notes.setdefault(target, [])
            notes.extend(note for note in metric.notes if note not in notes)

    def error(self, scenario: str, target: str, message: str) -> None:
        self.errors.setdefault(scenario, {}).setdefault(target, []).append(message)

    def order(self) -> list[str]:
        names = [name for name in self.targets if name != COLLABCODE]
        return [COLLABCODE, *names] if COLLABCODE in self.targets else names

    # --------------------------------------------------------------------------- output

    def table(self, scenario: str) -> Table:
        table = Table(title=f"{scenario}", title_justify="left", show_lines=False)
        table.add_column("figure")
        for name in self.order():
            table.add_column(self.targets[name].label, justify="right")
        table.add_column("best peer", justify="right")
        table.add_column("collabcode / best peer", justify="right")
        table.add_column("goal")
        for row in self.rows.get(scenario, {}).values():
            cells = [f"{row.label} [{row.unit}]"]
            for name in self.order():
                cells.append(_fmt(row.value(name)) if name in row.values else "-")
            best = row.best_peer(self.targets)
            cells.append(f"{_fmt(best[1])} ({self.targets[best[0]].label})" if best else "-")
            ratio = row.ratio(self.targets)
            cells.append(f"{ratio:.2f}" if ratio is not None else "-")
            verdict = row.verdict(self.targets)
            cells.append(f"{row.goal_text()} {verdict}".strip())
            table.add_row(*cells)
        return table

    def print(self, console: Console) -> None:
        for scenario in self.rows:
            console.print(self.table(scenario))
            self.print_notes(console, scenario)
            console.print()

    def print_notes(self, console: Console, scenario: str) -> None:
        for row in self.rows.get(scenario, {}).values():
            for name, notes in row.notes.items():
                for note in notes:
                    console.print(f"  [dim]{self.targets[name].label}, {row.key}: {note}[/]")
        for name, errors in self.errors.get(scenario, {}).items():
            for message in errors:
                console.print(f"  [red]{self.targets[name].label}: {message}[/]")
        if self.background.get(scenario):
            console.print(f"  [dim]{self.background_text(scenario)}[/]")

    def background_text(self, scenario: str) -> str:
        parts = [
            f"{self.targets[name].label} {', '.join(f'{value:.1f}' for value in values)}"
            for name, values in self.background.get(scenario, {}).items()
        ]
        return "CPUs kept busy by other processes meanwhile (per repetition): " + "; ".join(parts)

    def markdown(self) -> str:
        lines: list[str] = []
        names = self.order()
        for scenario, rows in self.rows.items():
            lines.append(f"#### {scenario}")
            lines.append("")
            header = ["figure", *(self.targets[n].label for n in names), "collabcode / best peer", "goal"]
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + " --- |" * len(header))
            for row in rows.values():
                cells = [f"{row.label} ({row.unit})"]
                cells.extend(_fmt(row.value(n)) if n in row.values else "-" for n in names)
                ratio = row.ratio(self.targets)
                cells.append(f"{ratio:.2f}" if ratio is not None else "-")
                cells.append(f"{row.goal_text()} {row.verdict(self.targets)}".strip())
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
            for row in rows.values():
                for name, notes in row.notes.items():
                    lines.extend(f"- {self.targets[name].label}, {row.key}: {note}" for note in notes)
            for name, errors in self.errors.get(scenario, {}).items():
                lines.extend(f"- {self.targets[name].label}: error: {message}" for message in errors)
            if self.background.get(scenario):
                lines.append(f"- {self.background_text(scenario)}")
            lines.append("")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            scenario: {
                key: {
                    "label": row.label,
                    "unit": row.unit,
                    "lower_is_better": row.lower_is_better,
                    "goal": row.goal,
                    "values": row.values,
                    "median": {name: row.value(name) for name in row.values},
                    "ratio_collabcode_best_peer": row.ratio(self.targets),
                    "verdict": row.verdict(self.targets),
                    "notes": row.notes,
                }
                for key, row in rows.items()
            }
            for scenario, rows in self.rows.items()
        } | {"errors": self.errors, "background_cpus": self.background}


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def machine(targets: dict[str, Target]) -> dict[str, Any]:
    """The machine and software the figures come from."""
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                info["ram_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    node = shutil.which("node")
    if node:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            info["node"] = subprocess.run(
                [node, "--version"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
    info["versions"] = {name: target.version() for name, target in targets.items()}
    from importlib.metadata import version

    for dist in ("websockets", "uvicorn", "pycrdt", "uvloop"):
        with contextlib.suppress(Exception):
            info["versions"][dist] = version(dist)
    info["loadavg"] = os.getloadavg()
    info["argv"] = " ".join(sys.argv)
    return info
