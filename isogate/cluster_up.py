"""``make cluster``: three NATS nodes, PostgreSQL and two gateways on loopback, to try it.

Uses the PostgreSQL that answers on 127.0.0.1:5432 (database ``isogate_cluster``, created when
missing), loads the demo community when no site is stored, writes the NATS logins from the site
(``isogate broker-config --nats``), starts the nodes of ``deploy/nats`` and two ``isogate run``
with ``ISOGATE_HA=1``, prints where everything is and each change of role; a gateway that exits
(a lost lease exits 75) is started again, as a service manager would. Ctrl-C stops all.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import sys
from pathlib import Path

import httpx

from gateway.clock import SystemClock
from gateway.site.stored import save_site, stored_site
from gateway.store import Store
from isogate.broker_config import Topics
from isogate.demo import demo_site
from isogate.nats_config import LOOPBACK_NODES, SETUP, mqtt_urls, password_of, write_nats_files
from isogate.settings import Settings
from simulators.nats import NatsCluster, nats_available
from simulators.process import start_gateway

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
DATABASE = "isogate_cluster"
HTTP_PORTS = (8101, 8102)
WORK = Path("data/cluster")


async def _database() -> str:
    import asyncpg  # type: ignore[import-untyped]  # the postgres extra, untyped

    admin = await asyncpg.connect(ADMIN, timeout=5)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}"


async def _prepare(url: str) -> tuple[str, Topics, str]:
    """The site (the demo's when none is stored), an admin token, the NATS logins."""
    now = SystemClock().now()
    token = secrets.token_urlsafe(18)
    async with Store.open(url) as store:
        revision, site = await stored_site(store)
        if site is None:
            await save_site(store, demo_site(20), "cluster", now)
            revision, site = await stored_site(store)
        await store.add_user(f"cluster-{secrets.token_hex(3)}", "admin", token, now)
    assert site is not None
    s = Settings()
    topics = Topics(s.base_topic, s.z2m_base_topic, s.omg_base_topic, s.frigate_base_topic)
    write_nats_files(WORK / "nats", site, topics, revision=revision)
    return token, topics, password_of(WORK / "nats")


async def _role(port: int) -> str:
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            body = (await client.get(f"http://127.0.0.1:{port}/healthz")).json()
        return f"{body['role']} (epoch {body['epoch']})"
    except (httpx.HTTPError, ValueError, KeyError):
        return "not answering"


async def run() -> None:
    """Start everything, watch the gateways until cancelled, stop everything."""
    if not nats_available():
        sys.exit("nats-server is not installed (apt-get install nats-server)")
    try:
        url = await _database()
    except (OSError, ImportError) as exc:
        sys.exit(f"no PostgreSQL on 127.0.0.1:5432 ({exc})")
    token, _topics, password = await _prepare(url)
    nodes = NatsCluster(
        (WORK / "nats").resolve(),
        ports=LOOPBACK_NODES,
        accounts=WORK / "nats" / "accounts.conf",
        login=("gateway", password),
        setup=(SETUP.user, password_of(WORK / "nats", SETUP.user)),
    )
    print("starting 3 NATS nodes (JetStream elects its leader in a few seconds)…", flush=True)
    await asyncio.to_thread(nodes.start)
    gateways = [
        Settings(
            mqtt_url=mqtt_urls(LOOPBACK_NODES, "gateway", password),
            database_url=url,
            data_dir=(WORK / f"gw-{i + 1}").resolve(),
            http_port=port,
            client_id="isogate-cluster",
            ha=True,
            log_level="INFO",
        )
        for i, port in enumerate(HTTP_PORTS)
    ]
    procs = [start_gateway(s, s.log_level) for s in gateways]
    try:
        _tell(nodes, gateways, procs, url, token)
        await _watch(gateways, procs)
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        nodes.stop()
        print("cluster stopped")


def _tell(
    nodes: NatsCluster,
    gateways: list[Settings],
    procs: list[subprocess.Popen[bytes]],
    url: str,
    token: str,
) -> None:
    for i, p in enumerate(nodes.ports, 1):
        print(
            f"NATS node-{i}: mqtt://127.0.0.1:{p.mqtt}  (monitoring http://127.0.0.1:{p.monitor}/)"
        )
    if nodes.prepared is not None:
        print(f"NATS: {nodes.prepared.words()}")
    print(f"PostgreSQL: {url}")
    for i, (s, proc) in enumerate(zip(gateways, procs, strict=True), 1):
        print(f"gateway {i} (pid {proc.pid}): http://127.0.0.1:{s.http_port}/  log {s.data_dir}/")
    print(f"logins: {WORK / 'nats' / 'credentials.txt'}; console token: {token}")
    print("kill -9 the active gateway's pid, or a node's, to watch the takeover; Ctrl-C stops all")


async def _watch(gateways: list[Settings], procs: list[subprocess.Popen[bytes]]) -> None:
    roles = [""] * len(gateways)
    while True:
        await asyncio.sleep(1)
        for i, s in enumerate(gateways):
            code = procs[i].poll()
            if code is not None:
                why = " (lease lost)" if code == 75 else ""
                print(f"gateway {i + 1} exited with {code}{why}; starting it again")
                procs[i] = start_gateway(s, s.log_level)
                print(f"gateway {i + 1}: pid {procs[i].pid}")
            role = await _role(s.http_port)
            if role != roles[i]:
                print(f"gateway {i + 1}: {role}", flush=True)
                roles[i] = role


def main() -> None:
    """Entry point of ``python -m isogate.cluster_up``."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
