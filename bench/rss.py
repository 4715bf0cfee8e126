"""Memory under hostile input and an outage: the gateway's RSS, measured from /proc.

Run: ``make bench`` (or ``python -m bench.rss``). One gateway process, the demo community:
1. at rest after start;
2. after 100,000 garbage messages at QoS 1 (bad JSON, deep nesting, huge integers, unbound
   devices, thirty 8 MB payloads), all of them counted by the gateway's metrics;
3. a 60 s broker outage while door events keep coming (a publisher that reconnects), and after
   the backlog is drained.
Each line gives the current RSS and the peak (VmHWM) so far. ``--quick``: 20,000 garbage
messages, five large ones, a 10 s outage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._harness import Rig, door_topic, rig
from bench.figures import Figure
from simulators.link import SimLink

GROUP = "gateway memory: hostile input and a broker outage"


@dataclass(frozen=True, slots=True)
class Plan:
    """How much garbage, how many 8 MB payloads among it, how long the outage."""

    garbage: int = 100_000
    big: int = 30
    outage_s: float = 60.0


QUICK = Plan(20_000, 5, 10.0)
# Far over what the gateway takes from a device (64 KiB), just under what the broker carries
# (message_size_limit 8 MiB in config/mosquitto.conf): a larger one never reaches the gateway,
# so it would never be counted.
BIG_BYTES = 8_000_000


def _status(pid: int) -> dict[str, str]:
    return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())


def _mib(fields: dict[str, str], name: str) -> float:
    return int(fields[name].split()[0]) / 1024


def memory(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) of a process in MiB."""
    fields = _status(pid)
    return _mib(fields, "VmRSS"), _mib(fields, "VmHWM")


def children(pid: int) -> list[int]:
    """Every living descendant of a process (its workers, theirs, …)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                out += [int(child), *children(int(child))]
    return out


@dataclass(frozen=True)
class Family:
    """Peak RSS (VmHWM, MiB) of a process and of its living descendants, and what it is made of.

    A worker process's memory is the gateway's as much as its own: the figure to read against a
    target is ``total``, never ``main`` alone. The peaks of different processes need not fall
    at the same moment, so ``total`` is an upper bound of the peak of their sum.
    """

    main: float
    children: float
    count: int
    anon: float
    file: float

    @property
    def total(self) -> float:
        """Main and children's peaks added."""
        return self.main + self.children


def family(pid: int) -> Family:
    """The peaks of a process and its descendants, and the process's RSS split anon/file."""
    fields = _status(pid)
    peaks = []
    for child in children(pid):
        with contextlib.suppress(OSError, KeyError):
            peaks.append(_mib(_status(child), "VmHWM"))
    return Family(
        _mib(fields, "VmHWM"),
        sum(peaks),
        len(peaks),
        _mib(fields, "RssAnon"),
        _mib(fields, "RssFile"),
    )


def garbage(base: str, z2m: str, plan: Plan) -> Iterator[tuple[str, bytes]]:
    """plan.garbage messages of every kind the gateway must refuse, the last plan.big large."""
    kinds = [
        lambda i: (f"{base}/dev/nobody-{i % 1000}/event", b"{not json"),
        lambda i: (f"{z2m}/x{i % 100}/availability", b"[" * 5000),
        lambda i: (f"{base}/dev/door-h02/event", b'{"type": "door", "seq": ' + b"9" * 5000 + b"}"),
        lambda i: (f"{base}/dev/dev-{i}/event", b'{"type": "heartbeat"}'),
        lambda i: (f"{base}/ack/p1/{i}", b'{"by": 1}'),
    ]
    for i in range(plan.garbage - plan.big):
        yield kinds[i % len(kinds)](i)
    for i in range(plan.big):
        yield f"{base}/dev/door-h02/event", b"x" * BIG_BYTES + str(i).encode()


async def seen(port: int) -> float:
    """How many messages the gateway has taken in, by its metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("isogate_messages_total{")
    )


def keep_publishing(r: Rig, stop: threading.Event, sent: list[int]) -> None:
    """Door events at about 200/s until told to stop, riding out the broker's absence."""
    link = SimLink("127.0.0.1", r.broker.port)
    with link:
        i = 0
        while not stop.is_set():
            topic, native = door_topic(r.settings, 2 + (i % 10) * 2)
            body = json.dumps({"type": "door", "open": i % 2 == 0}) if native else "{}"
            try:
                link.publish(topic, body, wait=False)
                sent[0] += 1
            except Exception:  # the broker is away: paho queues or refuses; go on
                pass
            i += 1
            time.sleep(0.005)


async def measure(plan: Plan) -> tuple[list[tuple[str, float, float]], float]:
    """(stage, RSS, peak) rows, and how many of the garbage messages the gateway counted."""
    async with rig(20) as r:
        s = r.settings
        rows = [("at rest", *memory(r.pid))]
        before = await seen(s.http_port)
        t0 = time.perf_counter()
        with SimLink("127.0.0.1", r.broker.port) as pub:
            junk = garbage(s.base_topic, s.z2m_base_topic, plan)
            await asyncio.to_thread(pub.publish_many, junk, 500)
        while await seen(s.http_port) - before < plan.garbage and time.perf_counter() - t0 < 600:
            await asyncio.sleep(0.2)
        took = time.perf_counter() - t0
        counted = await seen(s.http_port) - before
        rows.append(
            (
                f"after {plan.garbage:,} garbage ({counted:,.0f} counted, {took:.0f} s)",
                *memory(r.pid),
            )
        )
        stop, sent = threading.Event(), [0]
        publisher = threading.Thread(target=keep_publishing, args=(r, stop, sent), daemon=True)
        publisher.start()
        await asyncio.sleep(10)
        rows.append(("under load (200 door events/s)", *memory(r.pid)))
        r.broker.stop()
        await asyncio.sleep(plan.outage_s)
        rows.append((f"after {plan.outage_s:.0f} s without the broker", *memory(r.pid)))
        r.broker.start()
        await asyncio.sleep(20)
        stop.set()
        publisher.join(10)
        rows.append(("20 s after the broker came back", *memory(r.pid)))
    return rows, counted


async def figures(quick: bool = False) -> list[Figure]:
    """RSS at each stage, the peak over all of them, and the garbage the metrics counted."""
    plan = QUICK if quick else Plan()
    rows, counted = await measure(plan)
    out = [Figure(GROUP, f"RSS {what}", rss, "MiB") for what, rss, _ in rows]
    out.append(Figure(GROUP, "peak RSS (VmHWM)", max(peak for *_, peak in rows), "MiB"))
    out.append(
        Figure(
            GROUP,
            "garbage messages counted",
            counted,
            "msgs",
            target=f"all {plan.garbage:,}",
            ok=counted >= plan.garbage,
            note="by the gateway's metrics (isogate_messages_total)",
        )
    )
    return out


async def main(plan: Plan) -> None:
    rows, _ = await measure(plan)
    print("gateway memory (MiB)            RSS    peak")
    for what, rss, peak in rows:
        print(f"  {what:<52} {rss:7.1f} {peak:7.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="less garbage, a shorter outage")
    asyncio.run(main(QUICK if parser.parse_args().quick else Plan()))
