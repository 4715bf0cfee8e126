"""The 433 MHz link: RFLink receiver lines → arrivals for the pipeline.

The receiver's line parser and the serial port live in ``devices/rflink.py``; what a code means
depends on the bound device (its ``open_cmd`` and ``codes``), which only the gateway knows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from devices.events import DeviceRef, Protocol, Rejected
from devices.rflink import RepeatFilter, RFLinkPacket, interpret, parse_line
from devices.rflink_serial import SerialReceiver
from gateway.backoff import full_jitter
from gateway.ingest.arrival import Arrival
from rules.directory import Directory

log = logging.getLogger("isogate.rflink")

PROCESS_TRIES = 5  # a line is tried this often (about 15 s with backoff) before it is dropped


def arrival_from_line(
    line: str, received_at: datetime, t: float, directory: Directory, repeats: RepeatFilter
) -> Arrival | None:
    """What one receiver line means for the pipeline; None for chatter and repeats."""
    parsed = parse_line(line)
    topic = "rflink"
    payload = line.encode("utf-8", errors="replace")
    if isinstance(parsed, Rejected):
        return Arrival("serial", topic, payload, received_at, decoded=parsed)
    if not isinstance(parsed, RFLinkPacket):
        return None
    if not repeats.accept(parsed.address, parsed.code, t):
        return None  # a cheap contact sends each frame several times
    binding = directory.bound(DeviceRef(Protocol.RFLINK, parsed.address))
    device = binding.device if binding is not None else None
    decoded = interpret(
        parsed,
        open_cmd=device.open_cmd if device else "ON",
        codes=device.codes if device else None,
    )
    return Arrival("serial", f"rflink/{parsed.address}", payload, received_at, decoded=decoded)


async def run_receiver(
    port: str,
    baudrate: int,
    now: Callable[[], datetime],
    directory: Callable[[], Directory],
    process: Callable[[Arrival], Awaitable[None]],
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    """Read the receiver forever (reopening it when it goes away) and feed the pipeline.

    A line whose processing fails (the database away a moment) is tried again with backoff,
    on ``sleep`` (the gateway's clock); the port stays open meanwhile, so the reader goes on.
    """
    repeats = RepeatFilter(window_s=1.0)
    async with SerialReceiver(port, baudrate=baudrate) as rx:
        async for line, t in rx.lines():
            arrival = arrival_from_line(line, now(), t, directory(), repeats)
            if arrival is not None:
                await _process(arrival, process, sleep)


async def _process(
    arrival: Arrival,
    process: Callable[[Arrival], Awaitable[None]],
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    for attempt in range(1, PROCESS_TRIES + 1):
        try:
            await process(arrival)
            return
        except Exception as exc:
            # A serial line has no broker to redeliver it: it is retried here, and given up
            # (loudly, with the line) only after a few tries, so that one bad line cannot
            # stop the receiver.
            if attempt == PROCESS_TRIES:
                log.error(
                    "dropped receiver line %r after %d failed tries: %s",
                    arrival.payload,
                    attempt,
                    exc,
                )
                return
            if attempt == 1:
                log.exception("could not process receiver line %r; retrying", arrival.payload)
            await sleep(full_jitter(attempt, 1.0, 8.0))
