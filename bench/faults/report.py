"""The suite's one table, its JSON, and its rows as bench figures."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.faults.count import Tally
from bench.faults.scene import Options
from bench.figures import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "faults-latest.json"


def _pair(a: int, b: int) -> str:
    return f"{a:,} / {b:,}" if a != b else f"{a:,}"


def _deliveries(t: Tally) -> str:
    return "\n".join(f"{ch} {_pair(n, t.breaches)}" for ch, n in t.delivered.items())


def table(tallies: list[Tally], opts: Options) -> Table:
    """One row per scenario; a count beside its expected value where they differ."""
    load = opts.load
    tab = Table(
        title=(
            f"isogate under faults: {load.households:,} households, heartbeats every "
            f"{load.heartbeat_s:g} s, a breach every {load.breach_every_s:g} s"
        ),
        caption="a / b = got / expected; FAIL on any loss, duplicate or crash",
        show_lines=True,
    )
    for col, justify in [
        ("scenario", "left"),
        ("events published", "right"),
        ("stored", "right"),
        ("lost", "right"),
        ("dup", "right"),
        ("garbage sent / rejected", "right"),
        ("alerts expected / stored / acked", "right"),
        ("delivered per channel", "left"),
        ("dup alerts", "right"),
        ("RSS peak MiB", "right"),
        ("fault", "left"),
        ("result", "center"),
    ]:
        tab.add_column(col, justify=justify)  # type: ignore[arg-type]
    for t in tallies:
        if t.skipped:
            tab.add_row(t.title, *["–"] * 9, f"skipped: {t.skipped}", "[yellow]SKIP[/]")
            continue
        dup = f"{t.dup}" + (f" (+{t.dup_resent} resent)" if t.dup_resent else "")
        garbage = f"{t.garbage_sent:,} / {t.garbage_rejected:,}" if t.garbage_sent else "–"
        dup_alerts = sum(t.dup_alerts.values())
        fault = t.note + (f"\n/healthz not 200 for {t.down_s:.0f} s" if t.down_s >= 1 else "")
        tab.add_row(
            t.title,
            f"{t.published:,}",
            f"{t.stored:,}",
            f"{t.lost:,}",
            dup,
            garbage,
            f"{t.breaches} / {t.alerts} / {t.acked}",
            _deliveries(t),
            f"{dup_alerts}" + (f" (+{t.redelivered} DUP)" if t.redelivered else ""),
            f"{t.rss_peak_mib:.0f}",
            fault,
            "[green]PASS[/]" if t.ok else "[bold red]FAIL[/]",
        )
    return tab


def show(tallies: list[Tally], opts: Options, console: Console) -> None:
    """Print the table, then every failure in words."""
    console.print(table(tallies, opts))
    for t in tallies:
        for failure in t.failures:
            console.print(f"[red]FAIL[/] {t.title}: {failure}")


def write(tallies: list[Tally], opts: Options, took_s: float, path: Path = RESULTS) -> Path:
    """Write the run as JSON (``bench/results/faults-latest.json``)."""
    doc: dict[str, Any] = {
        "command": "make faults",
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "options": {k: v for k, v in asdict(opts).items() if k != "logs"},
        "took_s": round(took_s, 1),
        "ok": all(t.ok for t in tallies),
        "scenarios": [{**asdict(t), "ok": t.ok, "failures": t.failures} for t in tallies],
        "figures": [f.as_json() for f in as_figures(tallies)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return path


def as_figures(tallies: list[Tally]) -> list[Figure]:
    """Each scenario's losses, duplicates and peak RSS as bench figures (target: zero)."""
    out: list[Figure] = []
    for t in tallies:
        if t.skipped:
            continue
        group = f"faults: {t.title}"
        lost_alerts = max([t.breaches - n for n in t.delivered.values()] + [t.breaches - t.alerts])
        for name, value in [
            ("events lost", t.lost),
            ("events stored twice", t.dup),
            ("alerts lost (worst channel)", lost_alerts),
            ("alert copies delivered twice", sum(t.dup_alerts.values())),
        ]:
            out.append(Figure(group, name, value, "", target="0", ok=value == 0))
        out.append(Figure(group, "gateway RSS peak", round(t.rss_peak_mib, 1), "MiB"))
    return out
