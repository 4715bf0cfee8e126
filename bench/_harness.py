"""A mosquitto, a gateway process and the demo community, for the benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.clock import SystemClock
from gateway.site.stored import save_site
from gateway.store import Store
from isogate.demo import demo_site
from isogate.settings import Settings
from rules.site import Site
from simulators.broker import Mosquitto, free_port
from simulators.community import camera_id, door_of, household_id, spread
from simulators.link import SimLink
from simulators.process import start_gateway, wait_healthy


@dataclass
class Rig:
    """What a benchmark drives."""

    broker: Mosquitto
    settings: Settings
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        """The gateway process."""
        return self.proc.pid

    def stop(self) -> None:
        """Stop the gateway (SIGTERM); its broker session keeps queueing."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    async def start(self) -> None:
        """Start the gateway again and wait until it is healthy."""
        self.proc = start_gateway(self.settings)
        await wait_healthy(self.settings.http_port)

    def cpu_seconds(self) -> float:
        """user + system CPU seconds the gateway process has used."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_site(
    households: int, *, isolated: bool, isolated_share: float = 1.0, camera_share: float = 0.0
) -> Site:
    """The demo community with no debounce (doors cycle fast here); isolation on or off.

    With ``isolated``, the evenly spread ``isolated_share`` of the households is inside its
    isolation period (all of them by default) and the others' ended long ago; ``camera_share``
    of them have a door camera sending frames over MQTT (as :mod:`simulators.loadgen` assumes).
    """
    doc = demo_site(households).model_dump(mode="json", exclude_none=True)
    doc["policy"]["door_debounce_s"] = 0
    for i, hh in enumerate(doc["households"], start=1):
        if not (isolated and spread(i, isolated_share)):
            hh["isolation"] = {"start": "2020-01-01T00:00+08:00", "end": "2020-01-02T00:00+08:00"}
        if spread(i, camera_share):
            hh["devices"].append({"id": camera_id(i), "kind": "camera", "protocol": "mqtt"})
    return Site.model_validate(doc)


@contextlib.asynccontextmanager
async def rig(
    households: int = 20, *, isolated: bool = True, healthy_within: float = 30.0
) -> AsyncIterator[Rig]:
    """Start mosquitto (repo config) and ``isogate run``; load the community.

    ``healthy_within``: how long the gateway may take to load the site and answer healthy.
    """
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "broker") as broker:
        settings = Settings(
            mqtt_url=broker.url,
            data_dir=Path(tmp) / "data",
            http_port=free_port(),
            client_id="isogate-bench",
        )
        async with Store.open(settings.db_url) as store:
            await save_site(
                store, bench_site(households, isolated=isolated), "bench", SystemClock().now()
            )
        r = Rig(broker, settings, start_gateway(settings))
        try:
            await wait_healthy(settings.http_port, timeout=healthy_within)
            yield r
        finally:
            if r.proc.poll() is None:
                r.stop()


def door_topic(settings: Settings, n: int) -> tuple[str, bool]:
    """The topic of household n's door in the demo community, and whether it is native."""
    protocol, address = door_of(n)
    if protocol == "zigbee2mqtt":
        return f"{settings.z2m_base_topic}/{address}", False
    return f"{settings.base_topic}/dev/{address}/event", True


def paced_breaches(
    r: Rig,
    households: Sequence[int],
    count: int,
    *,
    pace_s: float = 0.0,
    timeout: float = 20.0,
    give_up: int = 3,
) -> tuple[list[float], int, float]:
    """Door breaches at ``households`` in turn, each acknowledged by the officer (p1) so that
    the next is a new alert, at most one every ``pace_s``.

    Publisher and officer are paho clients with TCP_NODELAY in this process; a breach's latency
    runs from its opening's publish to the officer's receipt of the alert. Alerts of other
    households (a load generator's breaches, escalations) are let by.

    Returns:
        The latencies (ms), how many breaches brought no alert within ``timeout`` (after
        ``give_up`` such in a row the rest are not tried and count as such), and the gateway's
        CPU seconds meanwhile.
    """
    s = r.settings
    got: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()

    def wait_for(test: Callable[[dict[str, Any]], bool]) -> tuple[float, dict[str, Any]] | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                at, alert = got.get(timeout=left)
            except queue.Empty:
                return None
            if test(alert):
                return at, alert
        return None

    with (
        SimLink("127.0.0.1", r.broker.port) as pub,
        SimLink("127.0.0.1", r.broker.port) as officer,
    ):
        officer.client.on_message = lambda _c, _u, m: got.put(
            (time.perf_counter(), json.loads(m.payload))
        )
        officer.client.subscribe(f"{s.base_topic}/alerts/to/p1", qos=1)
        time.sleep(0.3)
        lat: list[float] = []
        lost = in_row = 0
        cpu0 = r.cpu_seconds()
        for i in range(count):
            started = time.monotonic()
            n = households[i % len(households)]
            hid, (topic, native) = household_id(n), door_topic(s, n)
            close = {"type": "door", "open": False} if native else {"contact": True}
            opened = {"type": "door", "open": True} if native else {"contact": False}
            pub.publish(topic, json.dumps(close))
            time.sleep(0.005)
            t0 = time.perf_counter()
            pub.publish(topic, json.dumps(opened), wait=False)
            seen = wait_for(
                lambda a, hid=hid: (
                    a.get("household") == hid
                    and a.get("type") == "door_breach"
                    and a.get("status") == "open"
                )
            )
            if seen is None:
                lost, in_row = lost + 1, in_row + 1
                if in_row >= give_up:
                    lost += count - i - 1  # the gateway is behind: the rest would wait as long
                    break
                continue
            in_row = 0
            t1, alert = seen
            lat.append((t1 - t0) * 1000)
            officer.publish(f"{s.base_topic}/ack/p1/{alert['id']}", b"")
            wait_for(lambda a, id_=alert["id"]: a["id"] == id_ and a["status"] == "acknowledged")
            time.sleep(max(0.0, pace_s - (time.monotonic() - started)))
        cpu = r.cpu_seconds() - cpu0
    return lat, lost, cpu


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0–1) of sorted values by the nearest rank; None when there are none."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]
