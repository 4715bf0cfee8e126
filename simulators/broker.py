"""Brokers for tests, benchmarks and the demo.

- :class:`Mosquitto`: a real ``mosquitto`` process on a free loopback port, with the repo's
  recommended configuration (``config/mosquitto.conf``) and its own persistence directory;
  open to anonymous clients, or with the access lines ``isogate broker-config`` writes.
- :class:`EmbeddedBroker`: amqtt inside the process, for the demo when no broker is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

REPO_CONF = Path(__file__).resolve().parent.parent / "config" / "mosquitto.conf"


def _ephemeral_ports() -> tuple[int, int]:
    """The range the kernel picks outgoing connections' local ports from."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


_handed_out: set[int] = set()  # at most a few hundred in a test run


def free_port() -> int:
    """A loopback TCP port nobody listens on right now, outside the ephemeral range.

    A port the kernel handed out for listening (bind to 0) comes from the range it also takes
    outgoing connections' local ports from: between choosing it and a server binding it, a
    route or client connection of a sibling process can take it ("address already in use", a
    NATS node that never started). Ports below that range are only ever taken on purpose.
    """
    low, high = _ephemeral_ports()
    first, last = (10000, low - 1) if low > 11000 else (high + 1, 65535)
    for _ in range(200):
        port = random.randint(first, last)
        if port in _handed_out:  # chosen for a server of this process that may not bind yet
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # a crowded range: whatever the kernel gives
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Mosquitto:
    """A mosquitto process of our own: start, stop, kill, restart (its persistence survives)."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        conf: Path = REPO_CONF,
        *,
        access: str | None = None,
    ) -> None:
        """Prepare the broker's configuration; nothing runs until ``start``.

        Args:
            workdir: its configuration, persistence and log.
            port: the loopback port; a free one by default.
            conf: the recommended configuration it starts from.
            access: configuration lines that take the place of the anonymous listener: they
                name the listener (on ``port``), ``allow_anonymous false``, the password and
                ACL files (the ``mosquitto.conf`` of ``isogate broker-config --port``).
        """
        self.binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if self.binary is None:
            raise FileNotFoundError("mosquitto is not installed")
        self.workdir = workdir
        self.port = port or free_port()
        self.conf_path = workdir / "mosquitto.conf"
        workdir.mkdir(parents=True, exist_ok=True)
        if access is None:
            access = f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        self.conf_path.write_text(
            conf.read_text()
            + f"\n{access}\n"
            + f"persistence_location {workdir}/\n"
            + f"log_dest file {workdir}/mosquitto.log\n"
            # Started as root, mosquitto drops to user "mosquitto", which cannot write here.
            + f"user {getpass.getuser()}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The broker's URL for ISOGATE_MQTT_URL."""
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        """Start and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            [str(self.binary), "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        """Stop cleanly (SIGTERM): mosquitto saves its persistence file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """Crash it (SIGKILL): nothing is saved beyond its last autosave."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self, *, crash: bool = False) -> None:
        """Stop (or with ``crash`` kill) and start again on the same port and persistence."""
        if crash:
            self.kill()
        else:
            self.stop()
        self.start()

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


class EmbeddedBroker:
    """amqtt in this process on a free loopback port (the demo's broker; not for load)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._broker: object | None = None

    @property
    def url(self) -> str:
        """The broker's URL."""
        return f"mqtt://127.0.0.1:{self.port}"

    async def __aenter__(self) -> EmbeddedBroker:
        from amqtt.broker import Broker  # imported here: only the demo and fallback need it

        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
                "plugins": {
                    "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
                },
            }
        )
        await broker.start()
        self._broker = broker
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._broker.shutdown(), 5)  # type: ignore[attr-defined]


def mosquitto_available() -> bool:
    """Whether a mosquitto binary is installed."""
    return shutil.which("mosquitto") is not None or os.path.exists("/usr/sbin/mosquitto")
