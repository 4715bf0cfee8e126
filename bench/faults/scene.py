"""One scenario's world: a mosquitto, the gateway process, the community, everyone listening.

Each scenario gets a fresh one (a new broker, data dir and site), so that one fault's traces
never count in another's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._harness import Rig
from bench.faults.community import Load, site_doc
from bench.faults.injectors import SmallDisk
from bench.faults.observers import AlertListener, OfficerApp, Officers
from bench.rss import memory
from gateway.clock import SystemClock
from gateway.site.stored import save_site
from gateway.store import Store
from isogate.settings import Settings
from rules.site import Site
from simulators.broker import Mosquitto, free_port
from simulators.modem import ModemSimulator
from simulators.process import start_gateway, wait_healthy
from simulators.webhook_receiver import WebhookReceiver

START_TIMEOUT_S = 90.0


@dataclass(frozen=True, slots=True)
class Options:
    """How the suite runs: the load, when faults strike, how long to wait for the backlog."""

    load: Load = field(default_factory=Load)
    fault_at: float = 10.0  # seconds into the load
    drain_s: float = 240.0  # after the load, for everything to be stored and delivered
    disk_size: str = "20m"
    sms: bool = True
    logs: Path | None = None  # keep each scenario's gateway and broker logs and database here


@dataclass
class Watched(Rig):
    """The gateway process, watched: peak RSS, time unhealthy, deaths nobody caused."""

    peak_mib: float = 0.0
    down_s: float = 0.0
    down_parts: dict[str, float] = field(default_factory=dict)  # part → seconds it was down
    deaths: list[str] = field(default_factory=list)
    kills: int = 0
    _killing: bool = False

    def kill(self) -> None:
        """SIGKILL the gateway."""
        self._killing = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    async def start(self) -> None:
        """Start it again and wait until it is healthy."""
        self.proc = start_gateway(self.settings)
        self._killing = False
        await wait_healthy(self.settings.http_port, START_TIMEOUT_S)

    def _sample(self) -> None:
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.peak_mib = max(self.peak_mib, memory(self.pid)[1])

    async def watch(self, period: float = 0.5) -> None:
        """Sample until cancelled."""
        url = f"http://127.0.0.1:{self.settings.http_port}/healthz"
        async with httpx.AsyncClient(trust_env=False, timeout=period * 4) as client:
            while True:
                t0 = time.monotonic()
                self._sample()
                code = self.proc.poll()
                if code is not None and not self._killing and not self.deaths:
                    self.deaths.append(f"gateway exited with status {code}")
                try:
                    answer = await client.get(url)
                    healthy = answer.status_code == 200
                    down = [p["name"] for p in answer.json()["parts"] if not p["ok"]]
                except (httpx.HTTPError, ValueError, KeyError):
                    healthy, down = False, ["no answer"]
                await asyncio.sleep(max(0.0, period - (time.monotonic() - t0)))
                if not healthy:
                    took = time.monotonic() - t0
                    self.down_s += took
                    for part in down:
                        self.down_parts[part] = self.down_parts.get(part, 0.0) + took

    def shut(self) -> None:
        """Stop it for good (SIGTERM, or SIGKILL when it does not stop)."""
        if self.proc.poll() is None:
            self._sample()
            self._killing = True
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.deaths.append("the gateway did not stop on SIGTERM within 60 s")


class Scene:
    """Everything one scenario runs against; an async context manager."""

    def __init__(self, name: str, opts: Options, *, hooks: tuple[str, ...], small_disk: bool):
        self.name = name
        self.opts = opts
        self.hook_names = hooks
        self.small_disk = small_disk
        self.skipped: str | None = None
        self.t0 = time.monotonic()
        self._stack = contextlib.AsyncExitStack()
        self.hooks: dict[str, WebhookReceiver] = {}
        self.modem: ModemSimulator | None = None
        self.disk: SmallDisk | None = None
        self.officers = Officers()
        self.listener: AlertListener
        self.broker: Mosquitto
        self.gateway: Watched
        self.settings: Settings

    @property
    def base_topic(self) -> str:
        """The gateway's base topic."""
        return self.settings.base_topic

    @property
    def officer_count(self) -> int:
        """How many officers (each with a police app)."""
        return self.opts.load.officers

    @property
    def db(self) -> Path:
        """The SQLite file."""
        return self.settings.data_dir / "isogate.db"

    def since_start(self) -> float:
        """Seconds since the load began."""
        return time.monotonic() - self.t0

    async def at(self, t: float) -> None:
        """Sleep until ``t`` seconds into the load."""
        await asyncio.sleep(max(0.0, t - self.since_start()))

    async def __aenter__(self) -> Scene:
        stack = self._stack
        await stack.__aenter__()
        try:
            await self._build(stack)
        except BaseException:
            await stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def _keep_log(self, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        log = self.settings.data_dir / "gateway.log"
        if log.exists():
            shutil.copyfile(log, where / f"{self.name}-gateway.log")
        shutil.copyfile(self.broker.workdir / "mosquitto.log", where / f"{self.name}-mosquitto.log")
        if self.db.exists():
            src = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
            with contextlib.closing(src), sqlite3.connect(where / f"{self.name}.db") as dst:
                src.backup(dst)

    async def _build(self, stack: contextlib.AsyncExitStack) -> None:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="faults-")))
        data = tmp / "data"
        if self.small_disk:
            self.disk = SmallDisk(data, self.opts.disk_size)
            self.skipped = self.disk.mount()
            if self.skipped is not None:
                return
            stack.callback(self.disk.unmount)
        self.broker = stack.enter_context(Mosquitto(tmp / "broker"))
        for name in self.hook_names:
            self.hooks[name] = stack.enter_context(WebhookReceiver())
        channels: list[dict[str, Any]] = [
            {"id": name, "kind": "webhook", "url": hook.url(f"/{name}"), "types": ["door_breach"]}
            for name, hook in self.hooks.items()
        ]
        if self.opts.sms:
            self.modem = stack.enter_context(ModemSimulator())
            channels.append(
                {"id": "sms", "kind": "sms", "roles": ["officer"], "types": ["door_breach"]}
            )
        tag = f"faults-{self.name}"
        self.settings = Settings(
            mqtt_url=self.broker.url,
            data_dir=data,
            http_port=free_port(),
            client_id=tag,
            modem_port=self.modem.path if self.modem else None,
            # A channel that comes back is tried again within seconds, not minutes.
            retry_base_s=0.5,
            retry_cap_s=5.0,
        )
        load = self.opts.load
        now = SystemClock().now()
        async with Store.open(self.settings.db_url) as store:
            site = Site.model_validate(site_doc(load.households, load.officers, now, channels))
            await save_site(store, site, "faults", now)
        base, port = self.settings.base_topic, self.broker.port
        for k in range(1, load.officers + 1):
            person = f"p{k:02d}"
            self.officers.apps[person] = stack.enter_context(
                OfficerApp(person, port=port, base=base)
            )
        self.listener = stack.enter_context(AlertListener(port, base))
        self.gateway = Watched(self.broker, self.settings, start_gateway(self.settings))
        if self.opts.logs is not None:
            stack.callback(self._keep_log, self.opts.logs)
        stack.callback(self.gateway.shut)
        await wait_healthy(self.settings.http_port, START_TIMEOUT_S)
