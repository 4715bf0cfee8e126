"""The benchmark runner's table and JSON: fake figures in, text and files out (nothing timed)."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bench.__main__ import load, modules, run_all
from bench.figures import Figure, UnavailableError, at_least, at_most
from bench.table import Run, as_json, number, ratio, render, rows, write

STARTED = datetime(2026, 11, 24, 3, 4, 5, tzinfo=UTC)
DRAIN = Figure(
    "ingest",
    "backlog drain",
    10_385.4,
    "events/s",
    limit=20_000.0,
    target="≥ 80 % of limit",
    ok=at_least(10_385.4, 0.8 * 20_000),
    note="20,000 in 1.93 s",
)
P99 = Figure("latency", "isogate p99", 4.2, "ms", limit=1.6, target="≤ 5 ms", ok=at_most(4.2, 5))
NOTHING = Figure("latency", "peer p99", None, "ms")


def a_run(*figures: Figure) -> Run:
    return Run(STARTED, STARTED, "python -m bench --quick", True, list(figures))


def text_of(run: Run) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(render(run))
    return out.getvalue()


def test_ratio_is_value_over_limit_only_where_both_were_measured() -> None:
    """A ratio needs a value and a non-zero limit."""
    assert ratio(DRAIN) == pytest.approx(10_385.4 / 20_000)
    assert ratio(NOTHING) is None
    assert ratio(Figure("g", "f", 3.0, "ms", limit=0.0)) is None


def test_numbers_are_grouped_and_short() -> None:
    """Thousands grouped, about three significant digits, a dash for nothing measured."""
    assert [number(v) for v in (10_385.4, 123.4, 45.67, 4.2, 0.054, 3.0, 0.0, None)] == [
        "10,385",
        "123",
        "45.7",
        "4.20",
        "0.05",
        "3",
        "0",
        "—",
    ]


def test_rows_carry_limit_ratio_target_and_verdict() -> None:
    """Each figure is one row: its limit, the ratio to it, the target and FAIL where it misses."""
    drain, p99, nothing = rows([DRAIN, P99, NOTHING])
    assert drain[:8] == (
        "ingest",
        "backlog drain",
        "10,385",
        "events/s",
        "20,000",
        "0.52×",
        "≥ 80 % of limit",
        "FAIL",
    )
    assert p99[5:8] == ("2.62×", "≤ 5 ms", "ok")
    assert nothing[2:8] == ("—", "ms", "", "", "", "")


def test_the_table_names_each_group_once() -> None:
    """A group heads its section; its other rows leave the cell empty."""
    text = text_of(a_run(DRAIN, P99, NOTHING))
    assert text.count("latency") == 1
    assert "isogate p99" in text and "peer p99" in text and "FAIL" in text


def test_json_has_every_figure_with_ratio_and_verdict(tmp_path: Path) -> None:
    """The stamped file and latest.json hold the same run, figures in table order."""
    run = a_run(DRAIN, P99)
    run.skipped["bench.idle"] = "not there yet"
    stamped, latest = write(run, tmp_path)
    assert stamped.name == "2026-11-24T03-04-05Z.json"
    assert stamped.read_text() == latest.read_text()
    doc = json.loads(latest.read_text())
    assert doc["command"] == "python -m bench --quick" and doc["quick"] is True
    assert doc["skipped"] == {"bench.idle": "not there yet"}
    assert [f["name"] for f in doc["figures"]] == ["backlog drain", "isogate p99"]
    first = doc["figures"][0]
    assert first["limit"] == 20_000.0 and first["verdict"] == "FAIL"
    assert first["ratio"] == pytest.approx(0.519, abs=1e-3)
    assert as_json(run)["figures"][1]["verdict"] == "ok"


def test_a_module_not_there_yet_is_skipped() -> None:
    """A known module that does not exist is a reason, not an error."""
    assert load("no_such_benchmark") == "not there yet"
    assert "throughput" in modules(None) and modules(["raw"]) == ["raw"]


def test_the_runner_collects_figures_skips_and_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quick mode reaches a module that has one; an unavailable tool skips; an error is kept."""
    seen: list[bool] = []

    async def quick_figures(quick: bool = False) -> list[Figure]:
        seen.append(quick)
        return [DRAIN]

    async def unavailable() -> list[Figure]:
        raise UnavailableError("node is not installed")

    async def broken() -> list[Figure]:
        raise ValueError("bad")

    for name, fn in (("fake_a", quick_figures), ("fake_b", unavailable), ("fake_c", broken)):
        module = types.ModuleType(f"bench.{name}")
        module.figures = fn  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"bench.{name}", module)
    console = Console(file=io.StringIO())
    run = asyncio.run(run_all(["fake_a", "fake_b", "fake_c", "gone"], True, console, "cmd"))
    assert seen == [True]
    assert run.figures == [DRAIN]
    assert run.skipped == {"bench.fake_b": "node is not installed", "bench.gone": "not there yet"}
    assert run.failed == {"bench.fake_c": "ValueError: bad"}
