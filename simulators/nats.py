"""NATS nodes with MQTT and JetStream for tests and ``make cluster``: real ``nats-server``
processes on free loopback ports (or given ones), each with its own store in a work dir.

The node configuration is the one ``deploy/nats`` ships (:func:`isogate.nats_config.render_node`);
an ``accounts`` file (``isogate broker-config --nats``) turns the site's logins on, else the
nodes take anonymous MQTT clients (tests).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from isogate.nats_config import NodePorts, mqtt_urls, render_node
from isogate.nats_streams import Prepared, prepare_when_ready
from simulators.broker import free_port, wait_port

# Anonymous clients land in a JetStream-enabled account (MQTT needs JetStream).
ANONYMOUS = """accounts { ISOGATE: { jetstream: enabled, users: [{user: anonymous}] } }
no_auth_user: anonymous
"""


def nats_available() -> bool:
    """Whether a nats-server binary is installed."""
    return shutil.which("nats-server") is not None or Path("/usr/sbin/nats-server").exists()


def _binary() -> str:
    found = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if found is None:
        raise FileNotFoundError("nats-server is not installed")
    return found


def mqtt_ready(port: int, login: tuple[str, str] | None = None, timeout: float = 60.0) -> None:
    """Block until a persistent MQTT session can be opened on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _session_opens(port, login):
            return
        time.sleep(0.3)
    raise TimeoutError(f"no MQTT session on 127.0.0.1:{port} after {timeout}s")


def _session_opens(port: int, login: tuple[str, str] | None) -> bool:
    answered = threading.Event()
    accepted: list[bool] = []
    probe = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"ready-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
        clean_session=False,  # a session is what needs JetStream
    )
    if login is not None:
        probe.username_pw_set(*login)
    probe.on_connect = lambda *a: (accepted.append(not a[3].is_failure), answered.set())
    try:
        probe.connect("127.0.0.1", port, keepalive=10)
        probe.loop_start()
        answered.wait(5)
    except OSError:
        return False
    finally:
        probe.disconnect()
        probe.loop_stop()
    return bool(accepted and accepted[0])


class NatsCluster:
    """``size`` nodes clustered on loopback (one node alone is not clustered)."""

    def __init__(
        self,
        workdir: Path,
        size: int = 3,
        *,
        ports: tuple[NodePorts, ...] | None = None,
        accounts: Path | None = None,
        login: tuple[str, str] | None = None,
        setup: tuple[str, str] | None = None,
    ) -> None:
        """Write each node's configuration into ``workdir``; nothing runs until ``start``.

        Args:
            workdir: the configurations, JetStream stores and logs.
            size: how many nodes.
            ports: their ports; free ones by default.
            accounts: an ``accounts.conf`` to use; anonymous clients by default.
            login: a user and password of ``accounts``, to see that a node takes sessions.
            setup: the setup login of ``accounts`` (:mod:`isogate.nats_streams`); none for
                anonymous clients.
        """
        self.login, self.setup = login, setup
        self.prepared: Prepared | None = None
        """What the last start found or made of the message stream."""
        self.binary = _binary()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.ports = ports or tuple(
            NodePorts(free_port(), free_port(), free_port(), free_port()) for _ in range(size)
        )
        include = workdir / "accounts.conf"
        if accounts is None:
            include.write_text(ANONYMOUS)
        elif accounts.resolve() != include.resolve():
            shutil.copyfile(accounts, include)
        peers = self.ports if len(self.ports) > 1 else ()
        for i, me in enumerate(self.ports, 1):
            conf = render_node(f"node-{i}", me, peers, str(workdir / f"node-{i}"), include.name)
            (workdir / f"node-{i}.conf").write_text(conf)
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * len(self.ports)

    def urls(self, user: str | None = None, password: str = "") -> str:
        """``ISOGATE_MQTT_URL`` for every node, comma-separated."""
        return mqtt_urls(self.ports, user, password)

    def url(self, node: int) -> str:
        """One node's MQTT URL (``node`` counts from 0)."""
        return f"mqtt://127.0.0.1:{self.ports[node].mqtt}"

    def start(self, node: int | None = None) -> NatsCluster:
        """Start one node (or every node) and wait until its MQTT listener accepts."""
        for i in range(len(self.ports)) if node is None else [node]:
            log = (self.workdir / f"node-{i + 1}.log").open("ab")
            self.procs[i] = subprocess.Popen(
                [self.binary, "-c", str(self.workdir / f"node-{i + 1}.conf")],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if node is None:
            # Before any MQTT session: NATS would make its message stream itself, less safely.
            wait_port(self.ports[0].client, timeout=30)
            user, password = self.setup or (None, None)
            self.prepared = prepare_when_ready(
                f"nats://127.0.0.1:{self.ports[0].client}", len(self.ports), user, password
            )
        for i in range(len(self.ports)) if node is None else [node]:
            wait_port(self.ports[i].mqtt, timeout=30)
            # MQTT sessions work once JetStream has a meta leader (a few seconds in a cluster).
            mqtt_ready(self.ports[i].mqtt, self.login)
        return self

    def kill(self, node: int) -> None:
        """Crash one node (SIGKILL)."""
        proc = self.procs[node]
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        self.procs[node] = None

    def stop(self) -> None:
        """Stop every node (SIGTERM: a clean JetStream shutdown)."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for i, proc in enumerate(self.procs):
            if proc is not None:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            self.procs[i] = None

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
