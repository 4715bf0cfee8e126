"""One table of figures: printed with rich, written as JSON under ``bench/results/``."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.figures import Figure

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ("group", "figure", "value", "unit", "limit", "ratio", "target", "ok", "note")
WIDTH = 190  # when the output is not a terminal (a log file, CI)


@dataclass
class Run:
    """What one ``python -m bench`` produced: figures, and the modules that gave none."""

    started: datetime
    finished: datetime
    command: str
    quick: bool
    figures: list[Figure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # module → why
    failed: dict[str, str] = field(default_factory=dict)  # module → the error it raised
    machine: dict[str, Any] = field(default_factory=dict)  # cores, load average, versions


def ratio(f: Figure) -> float | None:
    """value ÷ limit, where both were measured and the limit is not zero."""
    if f.value is None or f.limit is None or f.limit == 0:
        return None
    return f.value / f.limit


def number(v: float | None) -> str:
    """A measured value for the table: thousands grouped, about three significant digits."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if float(v).is_integer() or abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def verdict(ok: bool | None) -> str:
    """ok / FAIL / nothing (no target)."""
    return "" if ok is None else ("ok" if ok else "FAIL")


def rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    """The table's rows as text, in the figures' order (one group after another)."""
    out = []
    for f in figures:
        r = ratio(f)
        out.append(
            (
                f.group,
                f.name,
                number(f.value),
                f.unit,
                number(f.limit) if f.limit is not None else "",
                f"{r:.2f}×" if r is not None else "",
                f.target or "",
                verdict(f.ok),
                f.note,
            )
        )
    return out


def render(run: Run) -> Table:
    """The rich table: a section per group, FAIL in red."""
    table = Table(title=f"{run.command} — {run.started:%Y-%m-%d %H:%M} UTC", title_justify="left")
    for name in COLUMNS:
        numeric = name in ("value", "limit", "ratio")
        table.add_column(
            name,
            justify="right" if numeric else "left",
            no_wrap=name not in ("group", "figure", "note"),
            max_width=28 if name == "group" else None,
            style="dim" if name == "note" else None,
        )
    previous = None
    for row in rows(run.figures):
        group = row[0] if row[0] != previous else ""
        if previous is not None and row[0] != previous:
            table.add_section()
        previous = row[0]
        style = "red" if row[COLUMNS.index("ok")] == "FAIL" else None
        table.add_row(group, *row[1:], style=style)
    return table


def console_for_output() -> Console:
    """A console as wide as the terminal, or WIDTH columns when writing to a file or pipe."""
    console = Console()
    return console if console.is_terminal else Console(width=WIDTH)


def show(run: Run, console: Console | None = None) -> None:
    """Print the table, then what was skipped or failed."""
    console = console or console_for_output()
    if run.figures:
        console.print(render(run))
    for module, why in run.skipped.items():
        console.print(f"skipped {module}: {why}")
    for module, err in run.failed.items():
        console.print(f"[red]failed {module}: {err}[/red]")


def as_json(run: Run) -> dict[str, Any]:
    """The run as a JSON object: each figure with its ratio and verdict beside its fields."""
    return {
        "started": run.started.isoformat(timespec="seconds"),
        "finished": run.finished.isoformat(timespec="seconds"),
        "command": run.command,
        "quick": run.quick,
        "machine": run.machine,
        "figures": [
            {**f.as_json(), "ratio": ratio(f), "verdict": verdict(f.ok)} for f in run.figures
        ],
        "skipped": run.skipped,
        "failed": run.failed,
    }


def write(run: Run, results: Path = RESULTS) -> tuple[Path, Path]:
    """Write ``<UTC date-time>.json`` and ``latest.json`` under ``results``; returns both."""
    results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(as_json(run), ensure_ascii=False, indent=1) + "\n"
    stamped = results / f"{run.started:%Y-%m-%dT%H-%M-%SZ}.json"
    latest = results / "latest.json"
    stamped.write_text(text)
    latest.write_text(text)
    return stamped, latest
