"""The RFLink receiver's serial port: opened, read line by line, reopened when it goes away.

The lines it yields are parsed by :mod:`devices.rflink`; this module owns only the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import serial  # type: ignore[import-untyped]  # pyserial ships no type hints
import serial_asyncio_fast

from devices.rflink import BAUDRATE

_log = logging.getLogger("isogate.rflink")


class _StreamPort:
    """A device path or ``socket://`` through the event loop's file descriptor watching."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self) -> bytes:
        return await self._reader.read(1024)  # b"" at end of file

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self._writer.wait_closed()


class _PolledPort:
    """URL handlers without a file descriptor (``loop://``, ``rfc2217://``): read in a thread."""

    def __init__(self, port: serial.SerialBase) -> None:
        self._port = port

    async def read(self) -> bytes:
        while True:
            data: bytes = await asyncio.to_thread(self._port.read, 1024)
            if data:
                return data

    def write(self, data: bytes) -> None:
        self._port.write(data)

    async def close(self) -> None:
        await asyncio.to_thread(self._port.close)


class SerialReceiver:
    """The RFLink receiver's serial port, reopened whenever it disappears.

    Use as ``async with SerialReceiver("/dev/serial/by-id/...") as rx: async for line, t in
    rx.lines(): ...``. The port is a device path or a pyserial URL (``socket://host:port``,
    ``loop://``; an unknown scheme raises ValueError on entry). A port that cannot be opened at
    start is retried by ``lines()``, like one that is unplugged later, with capped full-jitter
    backoff; each state change is logged once. ``monotonic`` and ``sleep`` may be a test clock's.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = BAUDRATE,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_line: int = 1024,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._max_line = max_line
        self._monotonic, self._sleep = monotonic, sleep
        self._rng = rng or random.Random()
        self._io: _StreamPort | _PolledPort | None = None
        self._opened = asyncio.Event()
        self._failures = 0  # opens failed or ports lost since the last line: the backoff step
        self._outage_logged = False  # log the loss once, not every failed reopen

    async def __aenter__(self) -> SerialReceiver:
        await self._try_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._drop()

    @property
    def is_open(self) -> bool:
        """Whether the port is open right now."""
        return self._io is not None

    async def wait_open(self) -> None:
        """Return once the port is open (at once if it is)."""
        await self._opened.wait()

    def send(self, line: str) -> None:
        """Send one command line (``10;PING;``) to the receiver; CR LF is added.

        Raises:
            ConnectionError: the port is not open.
        """
        if self._io is None:
            raise ConnectionError(f"RFLink port {self.port} is not open")
        self._io.write(line.encode("ascii") + b"\r\n")

    async def lines(self) -> AsyncIterator[tuple[str, float]]:
        """Yield ``(line, monotonic receipt time)`` for every line, forever.

        Lines come without CR LF; bytes that are not ASCII become U+FFFD so that the parser
        rejects the line. A partial line cut off by an unplug is yielded too, for the same reason.
        """
        buffer = b""
        while True:
            while self._io is None:
                await self._sleep(self._delay())
                await self._try_open()
            try:
                chunk = await self._io.read()
            except (OSError, ConnectionError) as exc:  # SerialException is an OSError
                chunk, reason = b"", f"{type(exc).__name__}: {exc}"
            else:
                reason = "end of file"
            if not chunk:
                if buffer:
                    yield buffer.decode("ascii", errors="replace"), self._monotonic()
                buffer = b""
                await self._lost(reason)
                continue
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            if len(buffer) > self._max_line:
                _log.warning("rflink: dropped %d bytes without a line end", len(buffer))
                buffer = b""
            for raw in complete:
                self._failures = 0
                yield raw.rstrip(b"\r").decode("ascii", errors="replace"), self._monotonic()

    def _delay(self) -> float:
        initial, cap = self._backoff
        return self._rng.uniform(0.0, min(cap, initial * 2.0 ** min(self._failures, 30)))

    async def _try_open(self) -> None:
        try:
            self._io = await self._open()
        except (OSError, ConnectionError) as exc:  # includes SerialException
            self._failures += 1
            if not self._outage_logged:
                _log.warning("rflink: receiver %s unavailable (%s); retrying", self.port, exc)
                self._outage_logged = True
            else:
                _log.debug("rflink: receiver %s still unavailable (%s)", self.port, exc)
            return
        if self._outage_logged:
            _log.warning("rflink: receiver %s recovered", self.port)
            self._outage_logged = False
        else:
            _log.info("rflink: receiver %s open at %d baud", self.port, self.baudrate)
        self._opened.set()

    async def _open(self) -> _StreamPort | _PolledPort:
        if "://" not in self.port or self.port.startswith("socket://"):
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self.baudrate
            )
            return _StreamPort(reader, writer)
        port = await asyncio.to_thread(
            serial.serial_for_url, self.port, baudrate=self.baudrate, timeout=0.05
        )
        return _PolledPort(port)

    async def _lost(self, reason: str) -> None:
        await self._drop()
        self._failures += 1
        if not self._outage_logged:
            _log.warning("rflink: receiver %s lost (%s); reopening", self.port, reason)
            self._outage_logged = True

    async def _drop(self) -> None:
        io, self._io = self._io, None
        self._opened.clear()
        if io is not None:
            await io.close()
