"""Reading the broker's packets: paho's path per packet against the gateway's batch take.

Run: ``python -m bench.reading`` (``make bench`` runs it too). The same N QoS 1 PUBLISH packets
of the door-event backlog (bench/backlog.py), already read into the gateway's buffered socket,
are handed on as their fields two ways, in turn, ``ROUNDS`` times each; the fastest of each is
kept (process CPU time per message):
- paho's path: ``loop_read`` per packet, as the gateway read every packet before
  (:meth:`gateway.ingest.client.BufferedClient._packet_read` and paho's dispatch);
- the batch take: :meth:`gateway.ingest.client.BufferedClient.take_publishes`, as the session
  reads them now.
No socket, broker or gateway: what the figure isolates is the Python work per message.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from paho.mqtt.enums import CallbackAPIVersion

from bench.backlog import door_events
from bench.figures import Figure
from gateway.ingest.client import BufferedClient
from gateway.ingest.wire import BufferedSocket
from tests.samples import publish_packet

N = 200_000
QUICK_N = 20_000
ROUNDS = 3
GROUP = "MQTT reading: QoS 1 door events already read ahead"


class _Backlog:
    """A socket whose reads return the packets in chunks, then would block."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._data):
            raise BlockingIOError
        chunk = self._data[self._at : self._at + size]
        self._at += len(chunk)
        return chunk

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass


def _packets(n: int) -> bytes:
    return b"".join(
        publish_packet(topic, body.encode(), mid=i % 65535 + 1)
        for i, (topic, body) in enumerate(door_events("isogate", n))
    )


def per_message(data: bytes, n: int, batch: bool) -> float:
    """CPU µs a message, from the buffered packets to their fields handed on."""
    client = BufferedClient(callback_api_version=CallbackAPIVersion.VERSION2, manual_ack=True)
    got: list[tuple[str, bytes, int, int, bool]] = []
    client.on_received = lambda *fields: got.append(fields)
    sock = BufferedSocket(_Backlog(data))
    client._sock = sock
    t0 = time.process_time()
    if batch:
        while taken := client.take_publishes(256):
            for fields in taken:
                client.on_received(*fields)
    else:
        while len(got) < n:
            client.loop_read()
    seconds = time.process_time() - t0
    if len(got) != n:
        raise RuntimeError(f"{len(got)} of {n} messages read")
    return seconds / n * 1e6


def measure(n: int) -> tuple[float, float]:
    """(paho's path, the batch take): the fastest of ``ROUNDS`` each, in µs a message."""
    data = _packets(n)
    paho, batch = [], []
    for _ in range(ROUNDS):
        paho.append(per_message(data, n, batch=False))
        batch.append(per_message(data, n, batch=True))
    return min(paho), min(batch)


async def figures(quick: bool = False) -> list[Figure]:
    """Both paths' CPU per message; the ratio says how many times cheaper the take is."""
    n = QUICK_N if quick else N
    paho, batch = await asyncio.to_thread(measure, n)
    note = f"{n:,} packets; fastest of {ROUNDS}"
    return [
        Figure(GROUP, "paho's path (loop_read per packet)", paho, "µs/msg", note=note),
        Figure(GROUP, "batch take (take_publishes)", batch, "µs/msg", limit=paho, note=note),
    ]


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for f in asyncio.run(figures(args.quick)):
        print(f"{f.group} — {f.name}: {f.value:.2f} {f.unit}  {f.note}")


if __name__ == "__main__":
    main()
