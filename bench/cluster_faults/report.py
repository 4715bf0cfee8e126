"""The cluster suite's one table and its JSON."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.cluster_faults.count import ClusterTally
from bench.faults.report import _got, alert_cell, event_cells, run_doc, write_doc
from bench.faults.scene import Options

RESULTS = Path(__file__).resolve().parent.parent / "results" / "faults-cluster-latest.json"

COLUMNS = [
    "scenario",
    "events\npublished",
    "stored",
    "lost",
    "dup\nevents",
    "breaches\n/ alerts / acked",
    "to officer\n(MQTT)",
    "alerts\ntopic",
    "webhook",
    "dup alerts: officer\ntopics · all · webhook",
    "takeover s\n(fault → alert)",
    "result",
]


def _takeover(t: ClusterTally) -> str:
    """Per fault: seconds to the first alert after it; a recovery (no takeover) in brackets."""
    parts = []
    for f, took in zip(t.faults, t.takeover_s, strict=False):
        if took is None:
            parts.append("[red]none[/]")
            continue
        text = f"{took:.1f}" if f.takeover else f"({took:.1f})"
        parts.append(f"[red]{text}[/]" if f.takeover and took > t.limit_s else text)
    return " · ".join(parts) or "–"


def table(tallies: list[ClusterTally], opts: Options) -> Table:
    """One row per scenario; a count that differs from what was expected shows both."""
    load = opts.load
    tab = Table(
        title=(
            f"two gateways, 3 NATS nodes, PostgreSQL under faults: {load.households:,} "
            f"households, heartbeats every {load.heartbeat_s:g} s, a breach every "
            f"{load.breach_every_s:g} s"
        ),
        caption=(
            "red a / b: got a, expected b. FAIL on any loss or a takeover over "
            f"{tallies[0].limit_s:g} s"
            if tallies
            else ""
        ),
    )
    for col in COLUMNS:
        tab.add_column(col, justify="left" if col == "scenario" else "right", no_wrap=True)
    for ct in tallies:
        t = ct.counts
        d = t.dup_alerts
        tab.add_row(
            t.title,
            *event_cells(t),
            alert_cell(t),
            _got(t.delivered.get("officer MQTT"), t.breaches),
            _got(t.delivered.get("alerts topic"), t.breaches),
            _got(t.delivered.get("hook"), t.breaches),
            f"{d.get('police apps', 0)} · {d.get('MQTT', 0)} · {d.get('hook', 0)}",
            _takeover(ct),
            "[green]PASS[/]" if ct.ok else "[bold red]FAIL[/]",
        )
    return tab


def show(tallies: list[ClusterTally], opts: Options, console: Console) -> None:
    """Print the table, what each fault did, then every failure in words."""
    console.print(table(tallies, opts))
    for ct in tallies:
        console.print(f"  {ct.counts.title}: {ct.counts.error or ct.counts.note}")
    for ct in tallies:
        for failure in ct.failures:
            console.print(f"[red]FAIL[/] {ct.counts.title}: {failure}")
        for line in ct.lost_sample:
            console.print(f"     lost: {line}")
        for line in ct.counts.twice:
            console.print(f"     twice: {line}")


def write(tallies: list[ClusterTally], opts: Options, took_s: float, path: Path = RESULTS) -> Path:
    """Write the run as JSON (``bench/results/faults-cluster-latest.json``)."""
    return write_doc(run_doc("make faults-cluster", opts, took_s, tallies), path)
