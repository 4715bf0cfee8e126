"""A mosquitto, a gateway process and the demo community, for the benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from gateway.clock import SystemClock
from gateway.site.stored import save_site
from gateway.store import Store
from isogate.demo import demo_site
from isogate.settings import Settings
from rules.site import Site
from simulators.broker import Mosquitto, free_port
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


def bench_site(households: int, *, isolated: bool) -> Site:
    """The demo community with no debounce (doors cycle fast here); isolation on or off."""
    doc = demo_site(households).model_dump(mode="json", exclude_none=True)
    doc["policy"]["door_debounce_s"] = 0
    for i, hh in enumerate(doc["households"], start=1):
        # The demo's MACs run out at 255 households: three bytes of the number here instead
        # (the same addresses as the demo's below that).
        for dev in hh["devices"]:
            if dev["kind"] == "thermometer":
                dev["address"] = f"A4:C1:38:{i >> 16 & 255:02X}:{i >> 8 & 255:02X}:{i & 255:02X}"
    if not isolated:
        for hh in doc["households"]:
            hh["isolation"] = {"start": "2020-01-01T00:00+08:00", "end": "2020-01-02T00:00+08:00"}
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
    hid = f"h{n:02d}"
    if n % 2:
        return f"{settings.z2m_base_topic}/{hid}_door", False
    return f"{settings.base_topic}/dev/door-{hid}/event", True
