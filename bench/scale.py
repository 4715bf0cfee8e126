"""The gateway at 1,000, 10,000 and 50,000 households: load time, memory, breach latency, CPU.

Run: ``make bench`` (or ``python -m bench.scale [--sizes 1000,10000]``). For each size, in a
fresh data dir with its own mosquitto:

1. **load**: the operator's path. The demo community scaled (``bench_site``: 20 % of households
   inside their isolation period, 0.1 % with a door camera) is written as a YAML site file;
   ``isogate load site.yaml`` stores it, then ``isogate run`` starts. The figure is the time from
   the load command to a healthy ``/healthz`` (the gateway compiles the site before it answers).
   The site's daily report is due from midnight, so the gateway makes it (and runs the retention
   purge) as it starts: the memory figures include them at any time of day;
2. **under load**: the load generator (:mod:`simulators.loadgen`: door heartbeats every 60 s,
   random openings, readings twice a day, camera frames at 1/s) runs; after a warm-up, paced
   door breaches (one a second) at isolated households the generator leaves alone, each
   acknowledged by the officer (``bench._harness.paced_breaches``). Latency is from the
   opening's publish to the officer's receipt of the alert. The largest size runs once more
   with a reading window ending meanwhile (``--window-ends``): the tick after it raises a
   missed_reading alert for every isolated resident without a reading in it (10,000 and more
   at 50,000 households), the busiest moment of a day;
3. the gateway's CPU over the breach phase (process CPU time from /proc, % of one core) and its
   peak RSS (VmHWM) at the end: the main process's, any worker process's (none today: camera
   analysis runs in threads), and their sum, which is the figure read against the target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bench._harness import Rig, bench_site, paced_breaches, percentile
from bench.figures import Figure, at_most
from bench.rss import family, memory, seen
from isogate.settings import Settings
from simulators.broker import Mosquitto, free_port
from simulators.community import spread
from simulators.loadgen import LoadGen, LoadPlan
from simulators.process import REPO, start_gateway, wait_healthy

SIZES = (1_000, 10_000, 50_000)
ISOLATED = 0.2
# A camera's frames cost the gateway a JPEG decode and its pre-roll (~2 MB at 1 frame/s): 1 %
# of 50,000 households is 500 frames/s, more than two cores analyse beside everything else. The
# figures use 0.1 % (10 cameras at 10,000 households, 50 at 50,000); --camera-share sets it.
CAMERAS = 0.001
BREACHES = 120
WARMUP_S = 15.0
PROBES = 20
# The targets per size: load time (s), peak RSS (MiB), breach p99 (ms).
LOAD_TARGET = {50_000: 15.0}
RSS_TARGET = {10_000: 150.0, 50_000: 400.0}
P99_TARGET = {10_000: 20.0, 50_000: 50.0}
WINDOW_END_AFTER_S = 45.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def site_file(
    path: Path, households: int, isolated: float, cameras: float, window_ends: bool = False
) -> Path:
    """The scaled demo community as a YAML site file, as an operator would load it."""
    site = bench_site(households, isolated=True, isolated_share=isolated, camera_share=cameras)
    # The day's report (and the retention purge after it) is due from local midnight: the
    # gateway makes it as it starts, so every run's memory figures include it, whatever the
    # time of day the bench runs at.
    assert site.policy is not None
    site.policy.daily_report_at = "00:00"
    if window_ends:
        # A reading window ends while the paced breaches run: every isolated resident without
        # a reading in it is then a missed_reading alert, all raised in one tick, as at 10:00
        # and 21:00 every day (the gateway was started within the window, so nobody's reading
        # is in it: the worst such moment).
        end = window_end(datetime.now(ZoneInfo(site.timezone)))
        windows = [f"{end - timedelta(hours=4):%H:%M}-{end:%H:%M}", "17:00-21:00"]
        site.policy = type(site.policy).model_validate(
            {**site.policy.model_dump(mode="json"), "reading_windows": windows}
        )
    # As an operator writes it (SPEC §4): what differs from the defaults, nothing more.
    doc = site.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    path.write_text(yaml.dump(doc, allow_unicode=True, sort_keys=False, Dumper=yaml.CSafeDumper))
    return path


def window_end(now: datetime) -> datetime:
    """The first whole minute at least ``WINDOW_END_AFTER_S`` from ``now``: from writing the
    site file, loading it, starting and the warm-up take 20–40 s, and the breaches 120 s."""
    later = now + timedelta(seconds=WINDOW_END_AFTER_S + 59)
    return later.replace(second=0, microsecond=0)


def probes(households: int, share: float, count: int = PROBES) -> list[int]:
    """Isolated households spread over the site, for the paced breaches."""
    isolated = [i for i in range(1, households + 1) if spread(i, share)]
    step = max(1, len(isolated) // count)
    return isolated[::step][:count]


async def measure(
    households: int,
    *,
    breaches: int = BREACHES,
    cameras: float = CAMERAS,
    isolated: float = ISOLATED,
    warmup_s: float = WARMUP_S,
    window_ends: bool = False,
) -> list[Figure]:
    """Every figure of one size; with ``window_ends``, a reading window ends during the
    breaches (a group of its own)."""
    group = f"scale @ {households:,} households"
    if window_ends:
        group += ", a reading window ending"
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "broker") as broker:
        settings = Settings(
            mqtt_url=broker.url,
            data_dir=Path(tmp) / "data",
            http_port=free_port(),
            client_id="isogate-scale",
        )
        path = site_file(Path(tmp) / "site.yaml", households, isolated, cameras, window_ends)
        env = {**os.environ, "ISOGATE_DATA_DIR": str(settings.data_dir)}
        cpu0, t0 = _children_cpu(), time.perf_counter()
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "isogate", "load", str(path)],
            cwd=REPO, env=env, check=True, capture_output=True,
        )  # fmt: skip
        load_s, load_cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        r = Rig(broker, settings, start_gateway(settings))
        try:
            await wait_healthy(settings.http_port, timeout=600)
            ready_s = time.perf_counter() - t0
            start_cpu = r.cpu_seconds()
            await asyncio.sleep(2)
            idle_rss, start_peak = memory(r.pid)
            watched = probes(households, isolated)
            plan = LoadPlan(
                households,
                isolated_share=isolated,
                camera_share=cameras,
                spare=frozenset(watched),
                base_topic=settings.base_topic,
                z2m_base=settings.z2m_base_topic,
                omg_base=settings.omg_base_topic,
            )
            async with LoadGen("127.0.0.1", broker.port, plan) as gen:
                await asyncio.sleep(warmup_s)
                before, w0 = await seen(settings.http_port), time.perf_counter()
                lat, lost, cpu = await asyncio.to_thread(
                    paced_breaches, r, watched, breaches, pace_s=1.0
                )
                wall = time.perf_counter() - w0
                taken = (await seen(settings.http_port) - before) / wall
                tally = gen.counts()
            published = sum(tally.acked.values()) / (time.perf_counter() - gen.started_at)
            rss, _ = memory(r.pid)
            fam = family(r.pid)
        finally:
            if r.proc.poll() is None:
                r.stop()
    lat.sort()
    p99 = percentile(lat, 0.99)
    load_target = LOAD_TARGET.get(households)
    rss_target = RSS_TARGET.get(households)
    p99_target = P99_TARGET.get(households)
    note = f"isogate load {load_s:.1f} s ({load_cpu:.1f} s CPU), start {ready_s - load_s:.1f} s"
    return [
        Figure(
            group,
            "site load: isogate load → gateway healthy",
            ready_s,
            "s",
            target=f"≤ {load_target:g} s" if load_target else None,
            ok=at_most(ready_s, load_target) if load_target else None,
            note=note + f" ({start_cpu:.1f} s CPU)",
        ),
        Figure(
            group,
            "gateway peak RSS, main + workers",
            fam.total,
            "MiB",
            target=f"≤ {rss_target:g} MiB" if rss_target else None,
            ok=at_most(fam.total, rss_target) if rss_target else None,
            note=f"main {fam.main:.0f} MiB + {fam.count} worker process(es) {fam.children:.0f} MiB",
        ),
        Figure(
            group,
            "gateway main process peak RSS",
            fam.main,
            "MiB",
            note=f"at the end: RSS {rss:.0f} MiB (anon {fam.anon:.0f}, file {fam.file:.0f})",
        ),
        Figure(
            group,
            "gateway RSS, site loaded, before the load",
            idle_rss,
            "MiB",
            note=f"peak until then (site read and compiled) {start_peak:.0f} MiB",
        ),
        Figure(group, "door → officer alert p50", statistics.median(lat) if lat else None, "ms"),
        Figure(
            group,
            "door → officer alert p99",
            p99,
            "ms",
            target=f"≤ {p99_target:g} ms" if p99_target else None,
            ok=(at_most(p99, p99_target) if lost == 0 else False) if p99_target else None,
            note=f"{len(lat)} paced breaches, {lost} without an alert within 20 s",
        ),
        Figure(group, "door → officer alert max", lat[-1] if lat else None, "ms"),
        Figure(
            group,
            "gateway CPU under load",
            100 * cpu / wall,
            "% of a core",
            note=f"generator {published:,.0f} msg/s acknowledged, gateway took {taken:,.0f} msg/s",
        ),
    ]


async def figures(
    sizes: tuple[int, ...] = SIZES, breaches: int = BREACHES, cameras: float = CAMERAS
) -> list[Figure]:
    """Every figure of every size."""
    out: list[Figure] = []
    for n in sizes:
        out += await measure(n, breaches=breaches, cameras=cameras)
    out += await measure(max(sizes), breaches=breaches, cameras=cameras, window_ends=True)
    return out


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--breaches", type=int, default=BREACHES)
    parser.add_argument("--camera-share", type=float, default=CAMERAS)
    parser.add_argument(
        "--window-ends", action="store_true", help="a reading window ends during the breaches"
    )
    args = parser.parse_args(argv)
    for n in (int(s) for s in args.sizes.split(",")):
        figs = await measure(
            n, breaches=args.breaches, cameras=args.camera_share, window_ends=args.window_ends
        )
        _print(figs)


def _print(figs: list[Figure]) -> None:
    group = None
    for f in figs:
        if f.group != group:
            group = f.group
            print(group, flush=True)
        value = "—" if f.value is None else f"{f.value:,.1f} {f.unit}"
        verdict = "" if f.ok is None else ("  ok" if f.ok else "  MISSED")
        target = f"  (target {f.target}{verdict})" if f.target else ""
        print(f"  {f.name:<44} {value:>14}{target}  {f.note}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
