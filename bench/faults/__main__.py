"""``python -m bench.faults``: run the fault suite, print one table, write its JSON.

Exit status 1 when any scenario lost, duplicated or crashed; 0 otherwise (a scenario this
machine cannot run, such as mounting a small file system, is skipped and says why).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from rich.console import Console

from bench.faults.community import Load
from bench.faults.count import Tally
from bench.faults.report import show, write
from bench.faults.scenarios import run, scenarios
from bench.faults.scene import Options


async def main(argv: list[str] | None = None) -> int:
    """Run the suite; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    names = [s.name for s in scenarios()]
    default = Load()
    parser.add_argument("--only", nargs="+", choices=names, help="run only these scenarios")
    parser.add_argument("--households", type=int, default=default.households)
    parser.add_argument("--seconds", type=float, default=40.0, help="load per scenario (base)")
    parser.add_argument("--heartbeat-s", type=float, default=default.heartbeat_s)
    parser.add_argument("--breach-every-s", type=float, default=default.breach_every_s)
    parser.add_argument("--disk-size", default="20m", help="the tmpfs of the disk-full scenario")
    parser.add_argument("--no-sms", action="store_true", help="no SMS channel and modem")
    parser.add_argument("--logs", type=Path, help="keep each scenario's gateway and broker log")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    opts = Options(
        load=Load(
            households=args.households,
            heartbeat_s=args.heartbeat_s,
            breach_every_s=args.breach_every_s,
        ),
        disk_size=args.disk_size,
        sms=not args.no_sms,
        logs=args.logs,
    )
    console = Console(width=max(Console().width, 180))
    tallies: list[Tally] = []
    t0 = time.monotonic()
    for sc in scenarios(args.seconds):
        if args.only and sc.name not in args.only:
            continue
        console.print(f"[bold]{sc.title}[/] ({sc.seconds:.0f} s of load) …")
        t = await run(sc, opts)
        tallies.append(t)
        verdict = "skipped" if t.skipped else ("PASS" if t.ok else "FAIL")
        console.print(f"  {verdict}: {t.note or t.skipped or t.error}")
    show(tallies, opts, console)
    path = write(tallies, opts, time.monotonic() - t0)
    console.print(f"written to {path.relative_to(path.parents[2])}")
    return 0 if all(t.ok for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
