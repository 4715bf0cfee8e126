"""The raw limit: a bare paho-mqtt subscriber draining the same door-event backlog.

Run: ``python -m bench.raw`` (``make bench`` measures it beside isogate, on the same broker).
The subscriber is what a gateway's ingest could be with nothing but the client library: its
own process, a persistent session (clean_session off, fixed client id), QoS 1 with manual
acknowledgement (``manual_ack=True``, ``client.ack(mid, qos)`` after the JSON of each message is
parsed), no storage and no rules. Its figures are the limit isogate's drain is read against:
- the publisher's rate, queueing the backlog into the broker with no subscriber online;
- the drain rate, from the first message received to the last one acknowledged;
- its CPU per message (process time, connect to last acknowledgement; imports excluded);
- live (:func:`live`): the same publisher while the subscriber is online, from the first
  publish to the last message acknowledged. The publisher, the broker and the subscriber then
  share the machine, as they do when the gateway is the subscriber: this, not the rate into a
  broker nobody reads, is the live rate isogate's is read against.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.backlog import QUICK_N, Drain, N, publish_all
from bench.figures import Figure
from simulators.broker import Mosquitto
from simulators.process import REPO

# Same length and shape as the gateway's "isogate", so the messages are the same size, but a
# topic the gateway on the same broker does not subscribe to.
RAW_BASE = "isoraw_"
GROUP = "ingest limit: bare paho subscriber, manual ack"


def _client(client_id: str, *, clean: bool = False) -> mqtt.Client:
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean,
        protocol=mqtt.MQTTv311,
        manual_ack=True,
    )


def _visit(port: int, client: mqtt.Client, done: threading.Event, waits_for: str) -> None:
    """Connect, wait until ``done`` is set (by the client's callbacks), go offline."""
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not done.wait(10):
            raise TimeoutError(f"no {waits_for} from 127.0.0.1:{port}")
    finally:
        client.disconnect()
        client.loop_stop()


def open_session(port: int, client_id: str, topic_filter: str) -> None:
    """Create the persistent session and its QoS 1 subscription, then go offline."""
    client = _client(client_id)
    subscribed = threading.Event()
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(topic_filter, qos=1)
    _visit(port, client, subscribed, "SUBACK")


def forget_session(port: int, client_id: str) -> None:
    """End a persistent session at the broker (connect with a clean session, disconnect), so
    that later rounds' messages are not queued for it."""
    client = _client(client_id, clean=True)
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    _visit(port, client, connected, "CONNACK")


def drain(port: int, client_id: str, n: int, *, live: bool = False) -> dict[str, float]:
    """Reconnect to the session and drain n messages (runs in its own process).

    ``live``: print ``ready`` once connected (the publisher starts then) and report when the
    last message was done as ``last``, on the machine's monotonic clock.
    """
    client = _client(client_id)
    if live:
        client.on_connect = lambda *_a: print("ready", flush=True)
    marks: dict[str, float] = {}
    count = 0

    def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal count
        if count == 0:
            marks["first"] = time.perf_counter()
        json.loads(msg.payload)
        c.ack(msg.mid, msg.qos)
        count += 1
        if count == n:
            marks["last"], marks["cpu1"] = time.perf_counter(), time.process_time()
            c.disconnect()

    client.on_message = on_message
    marks["cpu0"] = time.process_time()
    client.connect("127.0.0.1", port)
    client.loop_forever()
    return {
        "count": count,
        "seconds": marks["last"] - marks["first"],
        "cpu_s": marks["cpu1"] - marks["cpu0"],
        "last": marks["last"],
    }


def _subscriber(port: int, client_id: str, n: int, *, live: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "bench.raw", "--drain", str(n), "--port", str(port)]
    return [*cmd, "--client-id", client_id, *(["--live"] if live else [])]


def drain_in_process(port: int, client_id: str, n: int, timeout: float = 300) -> dict[str, float]:
    """Run :func:`drain` as its own Python process (its CPU alone, as a gateway's would be)."""
    out = subprocess.run(
        _subscriber(port, client_id, n),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(port: int, n: int = N) -> Drain:
    """Queue the backlog for a fresh session on this broker and drain it with the bare client."""
    client_id = f"raw-{uuid.uuid4().hex[:8]}"
    open_session(port, client_id, f"{RAW_BASE}/dev/+/event")
    rate = publish_all(port, RAW_BASE, n)
    got = drain_in_process(port, client_id, n)
    forget_session(port, client_id)
    return Drain(int(got["count"]), got["seconds"], got["cpu_s"], rate)


def live(port: int, n: int = N, timeout: float = 300) -> Drain:
    """The bare client online in its own process while the publisher sends n messages:
    first publish to the last one acknowledged (``perf_counter`` is the machine's monotonic
    clock on Linux, the same in both processes)."""
    client_id = f"raw-{uuid.uuid4().hex[:8]}"
    open_session(port, client_id, f"{RAW_BASE}/dev/+/event")
    proc = subprocess.Popen(
        _subscriber(port, client_id, n, live=True), cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare subscriber did not connect")
        t0 = time.perf_counter()
        rate = publish_all(port, RAW_BASE, n)
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        forget_session(port, client_id)
    if proc.returncode != 0:
        raise RuntimeError(f"the bare subscriber exited with {proc.returncode}")
    got = json.loads(out.strip().splitlines()[-1])
    return Drain(int(got["count"]), got["last"] - t0, got["cpu_s"], rate)


def limit_figures(d: Drain, n: int) -> list[Figure]:
    """The three limit figures of a measured bare drain."""
    what = f"{n:,} native door events, QoS 1"
    return [
        Figure(
            GROUP,
            "publisher → broker, nobody subscribed",
            d.publish_rate,
            "msg/s",
            note=what,
        ),
        Figure(GROUP, "backlog drain", d.rate, "msg/s", note=what),
        Figure(GROUP, "CPU per message", d.cpu_us, "µs/msg", note="process time"),
    ]


async def figures(quick: bool = False) -> list[Figure]:
    """Measure the limit on a broker of its own (``make bench`` measures it in bench.throughput,
    on the broker isogate uses)."""
    n = QUICK_N if quick else N
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp) / "broker") as broker:
        d = await asyncio.to_thread(measure, broker.port, n)
    return limit_figures(d, n)


def main() -> None:
    """Print the limit (or, with ``--drain``, be the subscriber process and print JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drain", type=int, help="be the subscriber: drain this many")
    parser.add_argument("--port", type=int)
    parser.add_argument("--client-id")
    parser.add_argument("--live", action="store_true", help="say ready once connected")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} messages")
    args = parser.parse_args()
    if args.drain:
        print(json.dumps(drain(args.port, args.client_id, args.drain, live=args.live)))
        return
    for f in asyncio.run(figures(args.quick)):
        print(f"{f.name}: {f.value:,.0f} {f.unit}")


if __name__ == "__main__":
    main()
