"""One cluster scenario's world: three NATS nodes, two gateways (``ISOGATE_HA``) on a PostgreSQL
of our own, each gateway reaching it through a proxy of its own, and everyone listening.

The PostgreSQL server is the suite's (:class:`simulators.postgres.PostgresServer`, never the
machine's shared one); each scenario gets a fresh database in it, fresh NATS nodes and fresh
gateways, so that one fault's traces never count in another's figures. The gateways are kept
running as a service manager would: one that exits (a lost lease exits 75) is started again.

The devices, the police apps and the alert listener use the third node; the gateways try the
first two first (gateway 1: nodes 1, 2, 3; gateway 2: nodes 2, 1, 3), so a node the active
gateway is on can be killed without cutting the observers off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.faults.community import site_doc
from bench.faults.observers import AlertListener, OfficerApp, Officers
from bench.faults.scene import Options
from gateway.clock import SystemClock
from gateway.ingest.arrival import digest
from gateway.site.stored import save_site
from gateway.store import Store
from isogate.settings import Settings
from rules.site import Site
from simulators.broker import free_port
from simulators.door import DoorSensor
from simulators.link import SimLink
from simulators.modem import ModemSimulator
from simulators.nats import NatsCluster
from simulators.postgres import PostgresServer
from simulators.process import start_gateway
from simulators.tcp_proxy import TcpProxy
from simulators.webhook_receiver import WebhookReceiver

log = logging.getLogger("bench.cluster_faults")

START_TIMEOUT_S = 90.0
RESTART_AFTER_S = 0.5  # a service manager's pause before it starts an exited gateway again
OBSERVER_NODE = 2
CONNECTED = re.compile(rb"connected to broker [\d.]+:(\d+)")


@dataclass
class Member:
    """One gateway of the pair: its settings, its process, its proxy to PostgreSQL."""

    number: int  # 1 or 2
    settings: Settings
    proxy: TcpProxy
    proc: subprocess.Popen[bytes]
    role: str = "starting"
    exits: list[tuple[float, int]] = field(default_factory=list)  # (wall time, status)
    killing: bool = False

    @property
    def log(self) -> Path:
        """Its log file (all its lives, appended)."""
        return self.settings.data_dir / "gateway.log"

    def broker_port(self) -> int | None:
        """The MQTT port of the node it last connected to, from its log."""
        found = CONNECTED.findall(self.log.read_bytes()) if self.log.exists() else []
        return int(found[-1]) if found else None


class ClusterScene:
    """Everything one scenario runs against; an async context manager."""

    def __init__(self, name: str, opts: Options, pg: PostgresServer) -> None:
        self.name = name
        self.opts = opts
        self.pg = pg
        self.database = f"faults_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
        self.t0 = time.monotonic()
        self._stack = contextlib.AsyncExitStack()
        self.hooks: dict[str, WebhookReceiver] = {}
        self.modem: ModemSimulator | None = None
        self.officers = Officers()
        self.listener: AlertListener
        self.nats: NatsCluster
        self.members: list[Member] = []
        self.events: list[str] = []  # role changes and exits, with seconds since the load began
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def base_topic(self) -> str:
        """The gateways' base topic."""
        return self.members[0].settings.base_topic

    @property
    def officer_count(self) -> int:
        """How many officers (each with a police app)."""
        return self.opts.load.officers

    @property
    def observer_port(self) -> int:
        """The MQTT port the devices and the observers use."""
        return self.nats.ports[OBSERVER_NODE].mqtt

    def since_start(self) -> float:
        """Seconds since the load began."""
        return time.monotonic() - self.t0

    async def at(self, t: float) -> None:
        """Sleep until ``t`` seconds into the load."""
        await asyncio.sleep(max(0.0, t - self.since_start()))

    def note(self, what: str) -> None:
        """Record a change (role, exit) with its moment."""
        self.events.append(f"{self.since_start():.1f} s {what}")

    async def __aenter__(self) -> ClusterScene:
        await self._stack.__aenter__()
        try:
            await self._build(self._stack)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _build(self, stack: contextlib.AsyncExitStack) -> None:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cfaults-")))
        await _create_database(self.pg, self.database)
        stack.push_async_callback(_drop_database, self.pg, self.database)
        self.nats = NatsCluster(tmp / "nats", size=3)
        await asyncio.to_thread(self.nats.start)
        stack.callback(self.nats.stop)
        hook = stack.enter_context(WebhookReceiver())
        self.hooks["hook"] = hook
        channels: list[dict[str, Any]] = [
            {"id": "hook", "kind": "webhook", "url": hook.url("/hook"), "types": ["door_breach"]}
        ]
        tag = uuid.uuid4().hex[:6]
        orders = ([0, 1, 2], [1, 0, 2])
        pending: list[tuple[Settings, TcpProxy]] = []
        for number, order in enumerate(orders, 1):
            proxy = stack.enter_context(TcpProxy(self.pg.port))
            settings = Settings(
                mqtt_url=",".join(self.nats.url(i) for i in order),
                database_url=(
                    f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{self.database}"
                ),
                data_dir=tmp / f"gw-{number}",
                http_port=free_port(),
                client_id=f"cfaults-{tag}",
                ha=True,
                # A channel that comes back is tried again within seconds, not minutes.
                retry_base_s=0.5,
                retry_cap_s=5.0,
            )
            pending.append((settings, proxy))
        await self._load_site(channels)
        self.members = [
            Member(n, settings, proxy, _start(settings))
            for n, (settings, proxy) in enumerate(pending, 1)
        ]
        stack.callback(self._stop_members)
        if self.opts.logs is not None:
            stack.callback(self._keep_logs, self.opts.logs)
        base, port = self.base_topic, self.observer_port
        for k in range(1, self.opts.load.officers + 1):
            person = f"p{k:02d}"
            self.officers.apps[person] = stack.enter_context(
                OfficerApp(person, port=port, base=base)
            )
        self.listener = stack.enter_context(AlertListener(port, base))
        self._supervisor = asyncio.create_task(self._supervise(), name="cfaults.supervise")
        stack.push_async_callback(self._stop_supervisor)
        await self.active(START_TIMEOUT_S)

    async def _load_site(self, channels: list[dict[str, Any]]) -> None:
        load, now = self.opts.load, SystemClock().now()
        async with Store.open(self.pg.url(self.database)) as store:
            site = Site.model_validate(site_doc(load.households, load.officers, now, channels))
            await save_site(store, site, "cluster-faults", now)

    async def warm_up(self, timeout: float = 60) -> None:
        """Wait until the active gateway stores what a native and a zigbee2mqtt door send.

        A new MQTT session's subscriptions are in place some seconds after its CONNACK on NATS
        (each is a replicated JetStream consumer): a message published before is for nobody.
        That is the session's first start, not a fault; the load begins after it. The probes
        carry no number, so they never match a counted message.
        """
        s = self.members[0].settings
        doors = [
            DoorSensor(None, "h0001_door", "zigbee2mqtt", z2m_base=s.z2m_base_topic),  # type: ignore[arg-type]
            DoorSensor(None, "door-h0002", "native", base_topic=s.base_topic),  # type: ignore[arg-type]
        ]
        waiting = set(range(len(doors)))
        with SimLink("127.0.0.1", self.observer_port) as link:
            async with asyncio.timeout(timeout):
                while waiting:
                    sent: dict[int, str] = {}
                    for i in waiting:
                        topic, body = doors[i].message(False, ts=time.time())
                        await asyncio.to_thread(link.publish, topic, body)
                        sent[i] = digest(topic, body)
                    await asyncio.sleep(1.0)
                    stored = await _stored(self.pg, self.database, list(sent.values()))
                    waiting = {i for i in waiting if sent[i] not in stored}
            await self._officers_listen(link, timeout)

    async def _officers_listen(self, link: SimLink, timeout: float) -> None:
        """Wait until every police app gets what is published on its topic: the apps' sessions
        are as new as the gateway's (an alert published before is for nobody, which once
        looked like an alert lost by a takeover). Each probe is other bytes, never an alert
        (the apps set it aside as a bad payload), so none counts as a copy sent twice."""
        waiting = dict(self.officers.apps)
        n = 0
        async with asyncio.timeout(timeout):
            while waiting:
                for person, app in waiting.items():
                    n += 1
                    await asyncio.to_thread(link.publish, app.topic, f"probe {person} {n}")
                await asyncio.sleep(0.5)
                waiting = {p: a for p, a in waiting.items() if not a.bad_payloads}

    # --- the pair -------------------------------------------------------------------------------

    async def active(self, timeout: float = 60, *, not_pid: int | None = None) -> Member:
        """The active gateway, once one is active and healthy (and not the process ``not_pid``:
        after a fault, either gateway may take over, the one struck started again too)."""
        async with asyncio.timeout(timeout):
            while True:
                for m in self.members:
                    if m.proc.pid != not_pid and m.role == "active" and m.proc.poll() is None:
                        return m
                await asyncio.sleep(0.05)

    def kill(self, m: Member) -> None:
        """SIGKILL a gateway (the supervisor starts it again, as a standby)."""
        m.killing = True
        m.proc.kill()
        m.proc.wait(10)

    async def _supervise(self) -> None:
        try:
            await self._supervise_forever()
        except Exception as exc:
            log.exception("the supervisor broke")
            self.note(f"the supervisor broke: {exc!r}")
            raise

    async def _supervise_forever(self) -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=1.0) as client:
            while True:
                for m in self.members:
                    code = m.proc.poll()
                    if code is not None:
                        self._set_role(m, "down")
                        m.exits.append((time.time(), code))
                        why = "SIGKILL" if m.killing else f"status {code}"
                        self.note(f"gateway {m.number} exited ({why}); started again")
                        await asyncio.sleep(RESTART_AFTER_S)
                        m.killing = False
                        m.proc = _start(m.settings)
                        continue
                    self._set_role(m, await _role(client, m.settings.http_port))
                await asyncio.sleep(0.1)

    def _set_role(self, m: Member, role: str) -> None:
        if role != m.role:
            m.role = role
            self.note(f"gateway {m.number}: {role}")

    async def _stop_supervisor(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)

    def _stop_members(self) -> None:
        for m in self.members:
            if m.proc.poll() is None:
                m.proc.terminate()
        for m in self.members:
            try:
                m.proc.wait(30)
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait(10)

    def _keep_logs(self, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        for m in self.members:
            if m.log.exists():
                shutil.copyfile(m.log, where / f"{self.name}-gateway-{m.number}.log")
        for i in range(3):
            node_log = self.nats.workdir / f"node-{i + 1}.log"
            if node_log.exists():
                shutil.copyfile(node_log, where / f"{self.name}-nats-{i + 1}.log")
            _keep_jsz(self.nats.ports[i].monitor, where / f"{self.name}-jsz-{i + 1}.json")
        for person, app in self.officers.apps.items():
            (where / f"{self.name}-app-{person}.log").write_text("\n".join(app.trace) + "\n")


def _keep_jsz(port: int, path: Path) -> None:
    """A node's JetStream view (streams and consumers, with their delivered and acknowledged
    sequences): where a message the broker took stopped on its way to a session."""
    url = f"http://127.0.0.1:{port}/jsz?accounts=true&streams=true&consumers=true&config=true"
    try:
        path.write_bytes(httpx.get(url, timeout=5, trust_env=False).content)
    except httpx.HTTPError as exc:
        path.write_text(f"{url}: {exc!r}\n")


def _start(settings: Settings) -> subprocess.Popen[bytes]:
    # INFO: the log says which broker node the gateway connected to.
    return start_gateway(settings, "INFO")


async def _role(client: httpx.AsyncClient, port: int) -> str:
    """``active`` (and healthy), ``standby``, ``lost``, or ``unhealthy`` / ``no answer``."""
    try:
        body = (await client.get(f"http://127.0.0.1:{port}/healthz")).json()
    except (httpx.HTTPError, ValueError):
        return "no answer"
    role = str(body.get("role") or "single")
    if role == "active" and not body.get("ok"):
        return "active, unhealthy"
    return role


async def _stored(pg: PostgresServer, database: str, digests: list[str]) -> set[str]:
    import asyncpg  # type: ignore[import-untyped]  # the postgres extra, untyped

    conn = await asyncpg.connect(pg.dsn(database), timeout=10)
    try:
        rows = await conn.fetch("SELECT digest FROM events WHERE digest = ANY($1)", digests)
    finally:
        await conn.close()
    return {r[0] for r in rows}


async def _create_database(pg: PostgresServer, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(pg.dsn(), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _drop_database(pg: PostgresServer, name: str) -> None:
    import asyncpg

    with contextlib.suppress(OSError, asyncpg.PostgresError):
        admin = await asyncpg.connect(pg.dsn(), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
