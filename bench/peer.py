"""The peer, side by side: the same door → alert rule as a Node-RED flow, measured the same way.

Run: ``make bench`` (or ``python -m bench.peer``). Needs Node.js and npm: the first run installs
Node-RED and the SQLite node (versions pinned in bench/nodered/package-lock.json) with ``npm ci``
into bench/nodered/node_modules, once. Without node or npm it says so and is skipped.

bench/nodered/flow.json has two variants of the rule, one per tab: door event on isogate's
native door topic → breach during isolation (outside a visit window)? → alert on the officer's
topic; the second tab first stores each event as a row in SQLite (WAL, synchronous NORMAL, as
isogate's store). Each variant runs alone, on a broker of its own (the repo's mosquitto.conf),
with a persistent session (clean session off), and gets:
- the backlog drain of bench/backlog.py (the same 20,000 door events as isogate and the bare
  client), timed from its first alert to its last on the officer's topic, with its CPU (/proc)
  and peak RSS;
- the paced latency of bench/latency.py (close, 5 ms, open → alert), without the
  acknowledgement step isogate's cycle has (the flow has no acknowledgements).
Both beside isogate's figures of the same run (measured once, by bench.throughput and
bench.latency) with the ratio isogate / Node-RED. Node-RED's MQTT client acknowledges on
receipt, so its backlog waits in its memory rather than at the broker; isogate acknowledges
after commit. TCP_NODELAY is set on its connection, as isogate sets it (settings.js).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import latency, throughput
from bench._harness import bench_site
from bench.backlog import HOUSEHOLDS, QUICK_N, Drain, N, drain_backlog, openings
from bench.figures import Figure, UnavailableError
from bench.latency import Paced, is_new_alert, native_doors, paced
from simulators.broker import Mosquitto, free_port
from simulators.link import SimLink

NODERED = Path(__file__).resolve().parent / "nodered"
BASE_TOPIC = "isogate"
OFFICER_TOPIC = f"{BASE_TOPIC}/alerts/to/p1"
VARIANTS = {"plain": "Node-RED, nothing stored", "stored": "Node-RED, each event stored (SQLite)"}
MIN_NODE = (18, 5)  # node-red 4.1's engines; 5.x wants 22.9


def node_problem() -> str | None:
    """Why Node-RED cannot run here, or None."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Node.js ≥ {MIN_NODE[0]}.{MIN_NODE[1]} is needed)"
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    version = tuple(int(x) for x in out.stdout.strip().lstrip("v").split(".")[:2])
    if version < MIN_NODE:
        return f"node {out.stdout.strip()} is too old (≥ {MIN_NODE[0]}.{MIN_NODE[1]} is needed)"
    return None


def installed() -> bool:
    """Whether Node-RED and a built sqlite3 binding are in bench/nodered/node_modules."""
    modules = NODERED / "node_modules"
    return (modules / "node-red" / "red.js").exists() and any(
        (modules / "sqlite3").glob("**/node_sqlite3.node")
    )


def install() -> None:
    """``npm ci`` into bench/nodered/node_modules, once (sqlite3 may build from source)."""
    if installed():
        return
    print(
        "installing Node-RED into bench/nodered/node_modules with npm ci (once; "
        "a few minutes where sqlite3 builds from source)",
        flush=True,
    )
    log = NODERED / "node_modules.log"
    with log.open("w") as out:
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=NODERED,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not installed():
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise UnavailableError(f"npm ci failed in bench/nodered (see {log.name}):\n{tail}")


def site_json() -> dict[str, Any]:
    """The benchmark community (bench._harness.bench_site) as the flow reads it."""
    site = bench_site(HOUSEHOLDS, isolated=True)
    devices, households = {}, {}
    for hh in site.households:
        for d in hh.devices:
            if d.kind == "door":
                devices[d.id] = hh.id
        iso = hh.isolation
        households[hh.id] = {
            "id": hh.id,
            "address": hh.address,
            "officer": hh.officer,
            "isolation": [iso.start.timestamp(), iso.end.timestamp()] if iso else None,
            "visits": [[v.start.timestamp(), v.end.timestamp()] for v in hh.visits],
        }
    return {"alert_base": f"{BASE_TOPIC}/alerts", "devices": devices, "households": households}


def flows(variant: str) -> list[dict[str, Any]]:
    """flow.json with every tab but the variant's disabled."""
    nodes: list[dict[str, Any]] = json.loads((NODERED / "flow.json").read_text())
    for node in nodes:
        if node["type"] == "tab":
            node["disabled"] = node["id"] != variant
    return nodes


SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, received REAL NOT NULL,"
    " topic TEXT NOT NULL, device TEXT NOT NULL, kind TEXT, seq INTEGER, body TEXT NOT NULL)"
)


class NodeRed:
    """Node-RED running one variant of the flow against a broker (a bench.backlog.Drainer)."""

    def __init__(self, variant: str, broker: Mosquitto, workdir: Path) -> None:
        self.variant = variant
        self.port = broker.port
        self.base_topic = BASE_TOPIC
        self.startup_cpu = 0.0
        self.db = workdir / "events.db"
        self.user_dir = workdir / "nodered"
        self.user_dir.mkdir(parents=True)
        (self.user_dir / "flows.json").write_text(json.dumps(flows(variant)))
        (workdir / "site.json").write_text(json.dumps(site_json(), ensure_ascii=False))
        with sqlite3.connect(self.db) as db:  # the flow creates it too; here before any event
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)
        self.env = {
            **os.environ,
            "ISOGATE_PEER_HTTP_PORT": str(free_port()),
            "ISOGATE_PEER_MQTT_PORT": str(broker.port),
            "ISOGATE_PEER_DB": str(self.db),
            "ISOGATE_PEER_SITE": str(workdir / "site.json"),
        }
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []
        self._connected = threading.Event()
        self._alerts: list[float] = []
        self._observer: SimLink | None = None

    @property
    def pid(self) -> int:
        """The node process."""
        assert self.proc is not None
        return self.proc.pid

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.append(line.rstrip())
            if "Connected to broker" in line:
                self._connected.set()

    def _launch(self) -> None:
        red = NODERED / "node_modules" / "node-red" / "red.js"
        settings = NODERED / "settings.js"
        self.proc = subprocess.Popen(
            ["node", str(red), "--settings", str(settings), "--userDir", str(self.user_dir)],
            cwd=NODERED,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    async def first_start(self) -> None:
        """Start with nothing queued: its session and subscription are made; note its CPU."""
        await self.start()
        await asyncio.sleep(0.5)  # the SUBSCRIBE right after CONNACK reaches the broker
        self.startup_cpu = self.cpu_seconds()

    async def start(self) -> None:
        """Count alerts on the officer's topic; start Node-RED; wait until it has connected."""
        self._alerts = []
        self._observer = SimLink("127.0.0.1", self.port).__enter__()
        self._observer.client.on_message = lambda *_a: self._alerts.append(time.perf_counter())
        self._observer.client.subscribe(OFFICER_TOPIC, qos=0)
        self._connected.clear()
        self._launch()
        if not await asyncio.to_thread(self._connected.wait, 60):
            self.stop()
            raise RuntimeError("Node-RED did not connect:\n" + "\n".join(self.log[-20:]))

    def stop(self) -> None:
        """SIGTERM (Node-RED closes its flows and disconnects; the session stays)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._observer is not None:
            self._observer.__exit__(None, None, None)
            self._observer = None

    def cpu_seconds(self) -> float:
        """user + system CPU seconds of the node process, from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stored(self) -> int:
        """Rows in the events table."""
        with sqlite3.connect(self.db) as db:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])

    async def wait_drained(self, n: int, timeout: float) -> tuple[float, int]:
        """Until every opening's alert arrived (and, stored, every event is a row).

        The span runs from the first alert to the last; the count is the events done: the rows
        stored, or (nothing stored) the events behind the alerts that arrived.
        """
        want = openings(n)
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            rows = self.stored() if self.variant == "stored" else n
            if len(self._alerts) >= want and rows >= n:
                break
            await asyncio.sleep(0.05)
        alerts = self._alerts[:]
        span = alerts[-1] - alerts[0] if len(alerts) > 1 else 0.0
        done = self.stored() if self.variant == "stored" else round(n * len(alerts) / want)
        return span, done


@contextmanager
def running(variant: str) -> Iterator[tuple[NodeRed, Mosquitto]]:
    """A broker of its own and Node-RED prepared for the variant (not yet started)."""
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "broker") as broker:
        peer = NodeRed(variant, broker, Path(tmp))
        try:
            yield peer, broker
        finally:
            peer.stop()


async def measure(variant: str, n: int, paced_n: int) -> tuple[Drain, Paced]:
    """The variant's backlog drain, then its paced latency, in one Node-RED process."""
    with running(variant) as (peer, broker):
        await peer.first_start()
        drain = await drain_backlog(peer, n)
        cycles = await asyncio.to_thread(
            paced,
            broker.port,
            native_doors(BASE_TOPIC),
            paced_n,
            listen=OFFICER_TOPIC,
            is_alert=is_new_alert,
            cpu=peer.cpu_seconds,
        )
        if drain.count < n:
            print(f"  {VARIANTS[variant]}: only {drain.count:,} of {n:,} events done in time")
    return drain, cycles


def variant_figures(variant: str, d: Drain, p: Paced, iso: Drain, iso_p: Paced) -> list[Figure]:
    """A variant's figures, and isogate's beside them (limit = Node-RED's, ratio isogate/peer)."""
    g = f"peer: {VARIANTS[variant]}"
    versus = "limit: Node-RED's; ratio: isogate ÷ Node-RED"
    return [
        Figure(g, "backlog drain", d.rate, "events/s", note=f"{d.count:,} in {d.seconds:.2f} s"),
        Figure(g, "CPU per event (backlog)", d.cpu_us, "µs/event", note="node process"),
        Figure(g, "peak RSS", d.peak_rss_mib, "MiB"),
        Figure(g, "latency p50", p.p50, "ms", note=f"{len(p.latencies_ms):,} paced breaches"),
        Figure(g, "latency p99", p.pct(0.99), "ms"),
        Figure(g, "latency max", p.latencies_ms[-1], "ms"),
        Figure(
            g, "isogate: backlog drain (breaches)", iso.rate, "events/s", limit=d.rate, note=versus
        ),
        Figure(g, "isogate: CPU per event (breaches)", iso.cpu_us, "µs/event", limit=d.cpu_us),
        Figure(g, "isogate: latency p99", iso_p.pct(0.99), "ms", limit=p.pct(0.99)),
    ]


async def figures(quick: bool = False) -> list[Figure]:
    """Both variants, beside isogate's backlog (breaches) and paced latency of this run."""
    problem = node_problem()
    if problem is not None:
        raise UnavailableError(problem)
    await asyncio.to_thread(install)
    n = QUICK_N if quick else N
    paced_n = latency.QUICK_N if quick else latency.N
    iso = await throughput.isogate_backlog(True, n)
    _, iso_p = await latency.isogate_paced(paced_n)
    out = []
    for variant in VARIANTS:
        d, p = await measure(variant, n, paced_n)
        out += variant_figures(variant, d, p, iso, iso_p)
    return out


async def main() -> None:
    try:
        found = await figures()
    except UnavailableError as e:
        print(f"skipped: {e}")
        return
    for f in found:
        limit = f"   Node-RED {f.limit:,.2f}, ratio {f.value / f.limit:.2f}" if f.limit else ""
        print(f"{f.group} — {f.name}: {f.value:,.2f} {f.unit}{limit}")


if __name__ == "__main__":
    asyncio.run(main())
