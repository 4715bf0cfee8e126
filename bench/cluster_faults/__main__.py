"""``python -m bench.cluster_faults``: run the cluster fault suite, print one table, write its
JSON.

Exit status 1 when any scenario lost an event or an alert, or took longer than the limit to
alert again after its fault; 2 when this machine cannot run it (no nats-server, no PostgreSQL
server programs); 0 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from rich.console import Console

from bench.cluster_faults.count import ClusterTally
from bench.cluster_faults.report import show, write
from bench.cluster_faults.scenarios import run, scenarios
from bench.faults.community import Load
from bench.faults.scene import Options
from simulators.nats import nats_available
from simulators.postgres import PostgresServer, postgres_available


async def main(argv: list[str] | None = None) -> int:
    """Run the suite; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_faults", description=__doc__)
    names = [s.name for s in scenarios()]
    default = Load()
    parser.add_argument("--only", nargs="+", choices=names, help="run only these scenarios")
    parser.add_argument("--quick", action="store_true", help="200 households, 25 s of load")
    parser.add_argument("--households", type=int, default=default.households)
    parser.add_argument("--seconds", type=float, default=40.0, help="load per scenario (base)")
    parser.add_argument("--heartbeat-s", type=float, default=default.heartbeat_s)
    parser.add_argument("--breach-every-s", type=float, default=default.breach_every_s)
    parser.add_argument("--takeover-limit-s", type=float, default=10.0)
    parser.add_argument("--logs", type=Path, help="keep each scenario's gateway and NATS logs")
    args = parser.parse_args(argv)
    if args.quick:
        args.households, args.seconds = 200, 25.0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    missing = None if nats_available() else "nats-server is not installed"
    missing = missing or postgres_available()
    if missing:
        print(f"cannot run the cluster fault suite here: {missing}", file=sys.stderr)
        return 2
    opts = Options(
        load=Load(
            households=args.households,
            heartbeat_s=args.heartbeat_s,
            breach_every_s=args.breach_every_s,
        ),
        sms=False,
        logs=args.logs,
    )
    console = Console(width=max(Console().width, 180))
    tallies: list[ClusterTally] = []
    t0 = time.monotonic()
    with PostgresServer() as pg:
        for sc in scenarios(args.seconds):
            if args.only and sc.name not in args.only:
                continue
            console.print(f"[bold]{sc.title}[/] ({sc.seconds:.0f} s of load) …")
            t = await run(sc, opts, pg, args.takeover_limit_s)
            tallies.append(t)
            console.print(f"  {'PASS' if t.ok else 'FAIL'}: {t.counts.error or t.counts.note}")
    show(tallies, opts, console)
    path = write(tallies, opts, time.monotonic() - t0)
    console.print(f"written to {path.relative_to(path.parents[2])}")
    return 0 if all(t.ok for t in tallies) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
