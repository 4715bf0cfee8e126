"""The suite's one table, its JSON, and its rows as bench figures."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.faults.count import Tally
from bench.faults.scene import Options
from bench.figures import Figure

RESULTS = Path(__file__).resolve().parent.parent / "results" / "faults-latest.json"


def _got(n: int | None, expected: int) -> str:
    if n is None:
        return "–"
    return f"{n:,}" if n == expected else f"[red]{n:,}[/] / {expected:,}"


def event_cells(t: Tally) -> tuple[str, str, str, str]:
    """Events published, stored, lost and stored twice: the first counts of a row, either suite."""
    return (
        f"{t.published:,}",
        _got(t.stored, t.published),
        f"{t.lost:,}" if not t.lost else f"[red]{t.lost:,}[/]",
        f"{t.dup}" + (f" (+{t.dup_resent} resent)" if t.dup_resent else ""),
    )


def alert_cell(t: Tally) -> str:
    """Breaches / alerts raised / alerts acknowledged, a shortfall in red."""
    return f"{t.breaches} / {_got(t.alerts, t.breaches)} / {_got(t.acked, t.alerts)}"


def _channels(t: Tally) -> tuple[str, str, str, str]:
    """Breach alerts delivered: to the officers' apps, on the all-alerts topic, per webhook
    (joined), by SMS."""
    hooks = [
        _got(n, t.breaches) + (f" (+{t.hook_repeats[ch]} again)" if t.hook_repeats.get(ch) else "")
        for ch, n in t.delivered.items()
        if ch.startswith("hook")
    ]
    return (
        _got(t.delivered.get("officer MQTT"), t.breaches),
        _got(t.delivered.get("alerts topic"), t.breaches),
        " · ".join(hooks) or "–",
        _got(t.delivered.get("SMS"), t.breaches),
    )


COLUMNS = [
    ("scenario", "left"),
    ("events\npublished", "right"),
    ("stored", "right"),
    ("lost", "right"),
    ("dup", "right"),
    ("garbage\nsent / rejected", "right"),
    ("breaches / alerts\n/ acked", "right"),
    ("to officer\n(MQTT)", "right"),
    ("alerts\ntopic", "right"),
    ("webhooks", "right"),
    ("SMS", "right"),
    ("alerts sent\ntwice", "right"),
    ("RSS peak\nMiB", "right"),
    ("unhealthy\ns", "right"),
    ("result", "center"),
]


def table(tallies: list[Tally], opts: Options) -> Table:
    """One row per scenario; a count that differs from what was expected shows both."""
    load = opts.load
    tab = Table(
        title=(
            f"isogate under faults: {load.households:,} households, door heartbeats every "
            f"{load.heartbeat_s:g} s, a breach every {load.breach_every_s:g} s"
        ),
        caption=(
            "red a / b: got a, expected b. FAIL on any loss, duplicate or crash; a webhook post "
            "made again carries the same X-Isogate-Delivery-Id (at least once), counted as again."
        ),
    )
    for col, justify in COLUMNS:
        no_wrap = col == "scenario" or col.startswith("breaches")
        tab.add_column(col, justify=justify, no_wrap=no_wrap)  # type: ignore[arg-type]
    for t in tallies:
        if t.skipped:
            tab.add_row(t.title, *["–"] * (len(COLUMNS) - 2), "[yellow]SKIP[/]")
            continue
        dup_alerts = sum(t.dup_alerts.values())
        tab.add_row(
            t.title,
            *event_cells(t),
            f"{t.garbage_sent:,} / {_got(t.garbage_rejected, t.garbage_sent)}"
            if t.garbage_sent
            else "–",
            alert_cell(t),
            *_channels(t),
            f"{dup_alerts}" if not dup_alerts else f"[red]{dup_alerts}[/]",
            f"{t.rss_peak_mib:.0f}",
            f"{t.down_s:.0f}",
            "[green]PASS[/]" if t.ok else "[bold red]FAIL[/]",
        )
    return tab


def show(tallies: list[Tally], opts: Options, console: Console) -> None:
    """Print the table, what each fault did, then every failure in words."""
    console.print(table(tallies, opts))
    for t in tallies:
        down = ", ".join(f"{part} {s:.0f} s" for part, s in t.down_parts.items() if s >= 1)
        down = f" (unhealthy: {down})" if down else ""
        console.print(f"  {t.title}: {t.skipped or t.error or t.note}{down}")
    for t in tallies:
        for failure in t.failures:
            console.print(f"[red]FAIL[/] {t.title}: {failure}")
        for line in t.twice:
            console.print(f"     twice: {line}")


def write(tallies: list[Tally], opts: Options, took_s: float, path: Path = RESULTS) -> Path:
    """Write the run as JSON (``bench/results/faults-latest.json``)."""
    doc = run_doc("make faults", opts, took_s, tallies)
    doc["figures"] = [f.as_json() for f in as_figures(tallies)]
    return write_doc(doc, path)


def run_doc(command: str, opts: Any, took_s: float, tallies: Sequence[Any]) -> dict[str, Any]:
    """A fault run as JSON: when, where, with what options, each scenario and its failures.

    ``opts`` is a dataclass of options; each tally a dataclass with ``ok`` and ``failures``.
    """
    return {
        "command": command,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "options": {k: v for k, v in asdict(opts).items() if k != "logs"},
        "took_s": round(took_s, 1),
        "ok": all(t.ok for t in tallies),
        "scenarios": [{**asdict(t), "ok": t.ok, "failures": t.failures} for t in tallies],
    }


def write_doc(doc: dict[str, Any], path: Path) -> Path:
    """Write a run's JSON document to ``path``; returns the path."""
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
        repeats = sum(t.hook_repeats.values())
        out.append(Figure(group, "webhook posts made again (same delivery id)", repeats, ""))
        out.append(Figure(group, "gateway RSS peak", round(t.rss_peak_mib, 1), "MiB"))
    return out
