"""The RFLink receiver over a real pseudo-terminal: lines arrive, and survive an unplug."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import pytest

from devices.events import DeviceRef, DoorEvent, HeartbeatEvent, Protocol, Rejected
from devices.rflink import RepeatFilter, RFLinkPacket, interpret, parse_line
from devices.rflink_serial import SerialReceiver
from simulators.rflink import Ev1527Contact, RFLinkSimulator

TIMEOUT_S = 3.0
CONTACT = Ev1527Contact(id="0a1b2c")
DEVICE = DeviceRef(Protocol.RFLINK, CONTACT.address)

Lines = asyncio.Queue[tuple[str, float]]


@contextlib.asynccontextmanager
async def _reading(rx: SerialReceiver) -> AsyncIterator[Lines]:
    """Pump the receiver's lines into a queue for as long as the block runs."""
    queue: Lines = asyncio.Queue()

    async def pump() -> None:
        async for item in rx.lines():
            await queue.put(item)

    task = asyncio.create_task(pump(), name="test.rflink-pump")
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _next(queue: Lines, n: int) -> list[str]:
    return [(await asyncio.wait_for(queue.get(), TIMEOUT_S))[0] for _ in range(n)]


async def _until(predicate: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"no {what} within {TIMEOUT_S} s")


@pytest.fixture
def sim() -> Iterator[RFLinkSimulator]:
    """A plugged-in simulated receiver, unplugged and cleaned up afterwards."""
    with RFLinkSimulator(repeats=3) as simulator:
        yield simulator


def _receiver(port: str) -> SerialReceiver:
    # Short backoff so that a reopen takes milliseconds, not the production half second.
    return SerialReceiver(port, backoff_initial_s=0.02, backoff_max_s=0.1)


async def test_door_burst_on_the_pty_becomes_one_open_event(sim: RFLinkSimulator) -> None:
    """Three copies of an EV1527 frame arrive as lines and end as one DoorEvent."""
    async with _receiver(sim.path) as rx, _reading(rx) as queue:
        assert rx.is_open
        sent = sim.open_door(CONTACT)
        received = await _next(queue, 3)
    assert received == sent
    flt, events = RepeatFilter(), []
    for n, line in enumerate(received):
        packet = parse_line(line)
        assert isinstance(packet, RFLinkPacket)
        if flt.accept(packet.address, packet.code, n * 0.05):
            events.append(interpret(packet, codes=CONTACT.codes()))
    assert events == [[DoorEvent(device=DEVICE, open=True)]]


async def test_tamper_and_battery_low_lines_decode_with_the_contacts_codes(
    sim: RFLinkSimulator,
) -> None:
    """The simulator's tamper and battery-low frames mean what the site's codes say."""
    async with _receiver(sim.path) as rx, _reading(rx) as queue:
        sim.tamper(CONTACT)
        sim.battery_low(CONTACT)
        lines = await _next(queue, 6)
    decoded = [interpret(parse_line(lines[i]), codes=CONTACT.codes()) for i in (0, 3)]  # type: ignore[arg-type]
    assert decoded == [
        [HeartbeatEvent(device=DEVICE, tamper=True)],
        [HeartbeatEvent(device=DEVICE, battery=5)],
    ]


async def test_unplug_and_replug_reopens_the_port_and_logs_once(
    sim: RFLinkSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A pulled plug loses the port; after failed retries the replugged receiver reads again."""
    caplog.set_level(logging.DEBUG, logger="isogate.rflink")
    async with _receiver(sim.path) as rx, _reading(rx) as queue:
        sim.close_door(CONTACT, repeats=1)
        assert await _next(queue, 1) == sim.sent[-1:]
        sim.write(b"20;09;EV1527;ID=0a1b")  # cut off mid-line by the unplug
        await asyncio.sleep(0.05)
        sim.unplug()
        (partial,) = await _next(queue, 1)
        assert isinstance(parse_line(partial), Rejected)
        await _until(lambda: "still unavailable" in caplog.text, "failed reopen")
        assert not rx.is_open
        sim.replug()  # a fresh pty; the kernel may give it the old number
        await asyncio.wait_for(rx.wait_open(), TIMEOUT_S)
        sent = sim.open_door(CONTACT, repeats=1)
        assert await _next(queue, 1) == sent
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("lost" in m for m in warnings) == 1
    assert sum("recovered" in m for m in warnings) == 1
    assert not any("unavailable" in m for m in warnings)  # retries are debug, not warnings


async def test_receiver_absent_at_start_is_opened_when_plugged_in() -> None:
    """A gateway started before the receiver is plugged in keeps trying and then reads."""
    with RFLinkSimulator() as sim:
        sim.unplug()
        async with _receiver(sim.path) as rx, _reading(rx) as queue:
            assert not rx.is_open
            sim.replug()
            await asyncio.wait_for(rx.wait_open(), TIMEOUT_S)
            sent = sim.open_door(CONTACT, repeats=1)
            assert await _next(queue, 1) == sent


async def test_undecodable_bytes_reach_the_parser_as_a_rejected_line(sim: RFLinkSimulator) -> None:
    """Line noise with high bytes is yielded, rejected by the parser, and reading goes on."""
    async with _receiver(sim.path) as rx, _reading(rx) as queue:
        sim.write(b"20;0A;EV\xff\xfe27;ID=0a1b2c;\r\n")
        sent = sim.open_door(CONTACT, repeats=1)
        noise, line = await _next(queue, 2)
    assert isinstance(parse_line(noise), Rejected)
    assert line == sent[0]


async def test_socket_url_reconnects_after_the_peer_closes() -> None:
    """``socket://`` (a receiver behind a serial-to-network bridge) is reopened after EOF."""
    connections = 0

    async def bridge(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(f"20;{connections:02X};EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(bridge, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, _receiver(f"socket://127.0.0.1:{port}") as rx, _reading(rx) as queue:
        first, second = await _next(queue, 2)
    assert first.startswith("20;01;") and second.startswith("20;02;")


async def test_loop_url_reads_back_what_was_sent() -> None:
    """A pyserial URL without a file descriptor (``loop://``) works through a thread."""
    async with _receiver("loop://") as rx, _reading(rx) as queue:
        rx.send("20;01;EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;")
        assert await _next(queue, 1) == ["20;01;EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;"]


async def test_a_line_whose_processing_fails_once_is_retried_and_reading_goes_on(
    sim: RFLinkSimulator,
) -> None:
    """The pipeline refuses the first door frame once: it is tried again, and the next follows."""
    from gateway.ingest.arrival import Arrival
    from gateway.ingest.radio import run_receiver
    from rules.directory import Directory
    from rules.site import Site
    from tests.conftest import site_doc

    directory = Directory.build(Site.model_validate(site_doc()))
    processed: list[str] = []
    faults = 0

    async def process(arrival: Arrival) -> None:
        nonlocal faults
        if faults == 0:
            faults += 1
            raise ConnectionError("database away")
        processed.append(arrival.payload.decode())

    async def no_wait(_s: float) -> None:
        await asyncio.sleep(0)

    reader = asyncio.create_task(
        run_receiver(
            sim.path, 57600, lambda: datetime.now(UTC), lambda: directory, process, no_wait
        )
    )
    try:
        await asyncio.sleep(0.3)  # the port opened
        first = sim.open_door(CONTACT, repeats=1)
        await _until(lambda: len(processed) == 1, "retried line")
        second = sim.close_door(Ev1527Contact(id="0d0e0f"), repeats=1)
        await _until(lambda: len(processed) == 2, "next line")
        assert not reader.done()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    assert faults == 1
    assert processed == [*first, *second]
