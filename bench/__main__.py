"""``python -m bench`` (``make bench``): every benchmark's figures in one table, and as JSON.

Runs ``figures()`` of each benchmark module in turn (``figures(quick=True)`` with ``--quick``
where the module has a quick mode), prints one table and writes it to
``bench/results/<UTC date-time>.json`` and ``bench/results/latest.json``. A module that is not
there (yet) is skipped with a line saying so; one that raises is reported and the rest go on
(the exit status is then 1). A target that does not hold is shown as FAIL and does not change
the exit status: the table reports, it does not gate.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import pkgutil
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from types import ModuleType

from rich.console import Console

import bench
from bench.figures import Figure, UnavailableError
from bench.table import Run, console_for_output, show, write

# The order of the table. bench.throughput measures the bare client's limit (bench.raw) on its
# own broker, so raw is not run again on its own unless asked for with --only; bench.peer comes
# after throughput and latency and reuses isogate's figures measured there.
KNOWN = (
    "throughput",
    "latency",
    "peer",
    "store",
    "reading",
    "rss",
    "camera",
    "idle",
    "report",
    "scale",
    "hotpath",
)
DISCOVERED_PREFIXES = ("hotpath",)  # hotpath.py, hotpath_ingest.py, … whichever exist


def modules(only: list[str] | None) -> list[str]:
    """The module names to run, in table order: the known ones and any ``hotpath*`` present."""
    if only:
        return only
    present = sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith(DISCOVERED_PREFIXES) and m.name not in KNOWN
    )
    names = list(KNOWN)
    at = names.index("hotpath")
    return names[:at] + present + names[at:]


def load(name: str) -> ModuleType | str:
    """The module ``bench.<name>``, or why it cannot be run."""
    try:
        module = importlib.import_module(f"bench.{name}")
    except ImportError as e:
        missing = getattr(e, "name", None) == f"bench.{name}"
        return "not there yet" if missing else f"cannot be imported ({e})"
    if not callable(getattr(module, "figures", None)):
        return "has no figures()"
    return module


async def collect(module: ModuleType, quick: bool) -> tuple[list[Figure], bool]:
    """Its figures; and whether it was asked for its quick mode (False: it has none)."""
    fn = module.figures
    takes_quick = "quick" in inspect.signature(fn).parameters
    figures = await (fn(quick=True) if quick and takes_quick else fn())
    return list(figures), quick and takes_quick


def machine() -> dict[str, object]:
    """What the numbers depend on: cores, the load when the run started, versions."""
    return {
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "system": platform.system(),
    }


async def run_all(names: list[str], quick: bool, console: Console, command: str) -> Run:
    """Run each module's figures() in turn."""
    run = Run(
        started=datetime.now(UTC),
        finished=datetime.now(UTC),
        command=command,
        quick=quick,
        machine=machine(),
    )
    for name in names:
        module = load(name)
        if isinstance(module, str):
            run.skipped[f"bench.{name}"] = module
            console.print(f"[yellow]skipped bench.{name}: {module}[/yellow]")
            continue
        console.print(f"[bold]bench.{name}[/bold] …")
        t0 = time.perf_counter()
        try:
            figures, was_quick = await collect(module, quick)
        except UnavailableError as e:
            run.skipped[f"bench.{name}"] = str(e)
            console.print(f"[yellow]skipped bench.{name}: {e}[/yellow]")
            continue
        except Exception as e:
            run.failed[f"bench.{name}"] = f"{type(e).__name__}: {e}"
            console.print(f"[red]bench.{name} failed[/red]")
            console.print(traceback.format_exc(), markup=False, highlight=False)
            continue
        run.figures += figures
        if quick and not was_quick:
            console.print(f"  bench.{name} has no quick mode: ran in full")
        console.print(f"  {len(figures)} figures in {time.perf_counter() - t0:.0f} s")
    run.finished = datetime.now(UTC)
    run.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return run


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run, print, write."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        help=f"comma-separated module names (default: {', '.join(KNOWN)}; also raw)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a quick look")
    parser.add_argument("--no-write", action="store_true", help="print only; write no JSON")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    console = console_for_output()
    command = " ".join(["python -m bench", *argv])
    run = asyncio.run(run_all(modules(args.only), args.quick, console, command))
    show(run, console)
    if not args.no_write and run.figures:
        stamped, latest = write(run)
        console.print(f"written: {stamped.name} and {latest.name} in bench/results/")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
