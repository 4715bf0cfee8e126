"""SMS through a GSM modem on a serial port, in text mode with UCS2 (Chinese) text.

The dialogue (3GPP TS 27.005 text mode), one command at a time::

    AT / ATE0 / AT+CMEE=1 / AT+CMGF=1 / AT+CSCS="UCS2" / AT+CSMP=17,167,0,8   -> OK each
    AT+CMGS="<UCS2 hex of the number>"                                        -> "> "
    <UCS2 hex of the text><Ctrl-Z>                        -> +CMGS: <mr>, OK | +CMS ERROR: <n>

After ``AT+CSCS="UCS2"`` every string argument is UCS2 hex, the number too. ``AT+CSMP`` sets
DCS 8 (UCS2) and a validity of one day (167). ``AT+CMEE=1`` makes errors numeric so that they
can be classified.

The port is an async context manager. When it goes away (read or write error, end of file) or the
dialogue loses its footing (a timeout), the port is closed and reopened, with capped full-jitter
backoff, by the next send; a dialogue cut after the ``>`` prompt is first aborted with ESC so the
modem is never left waiting for text, and every opening of the port starts with ESC, for the
dialogue a killed process cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from types import TracebackType
from typing import Self

import serial_asyncio_fast

from gateway.backoff import full_jitter
from gateway.clock import Clock
from gateway.notify.channels.base import DeliveryError

log = logging.getLogger(__name__)

CTRL_Z = b"\x1a"
ESC = b"\x1b"

INIT_COMMANDS = ("AT", "ATE0", "AT+CMEE=1", "AT+CMGF=1", 'AT+CSCS="UCS2"', "AT+CSMP=17,167,0,8")

# +CMS ERROR codes after which a later attempt may succeed (TS 24.011 RP causes and TS 27.005
# §3.2.5): 27 destination out of order, 38 network out of order, 41 temporary failure,
# 42 congestion, 47 resources unavailable, 111 protocol error, 127 interworking, 300 ME failure,
# 301 SMS service reserved, 314 SIM busy, 320 memory failure, 331 no network service,
# 332 network timeout, 500 unknown. Codes 512 and up are the manufacturer's, mostly "busy".
# Everything else (1 unassigned number, 330 SMSC address unknown, 310 no SIM...) is permanent.
RETRYABLE_CMS = frozenset({27, 38, 41, 42, 47, 111, 127, 300, 301, 314, 320, 331, 332, 500})

_ERROR = re.compile(r"^(?:\+CM[SE] ERROR: *(\w+)|ERROR)$")
_CMGS = re.compile(r"^\+CMGS: *(\d+)")
_NUMBER = re.compile(r"^\+?\d{3,20}$")


def ucs2_hex(text: str) -> str:
    """Text as the modem wants it under ``AT+CSCS="UCS2"``: UTF-16BE, upper-case hex."""
    return text.encode("utf-16-be").hex().upper()


def cms_retryable(code: int) -> bool:
    """Whether a ``+CMS ERROR`` code is worth another attempt."""
    return code in RETRYABLE_CMS or code >= 512


class _PortGoneError(Exception):
    """The serial port failed or reached its end."""


class _CommandError(Exception):
    """The modem answered a command with a final error."""

    def __init__(self, command: str, line: str, code: int | None) -> None:
        super().__init__(f"{command!r} answered {line!r}")
        self.command = command
        self.line = line
        self.code = code


def _raise_if_error(command: str, line: str) -> None:
    """Raise ``_CommandError`` when ``line`` is a final error result code."""
    error = _ERROR.match(line)
    if error:
        raw = error.group(1)
        raise _CommandError(command, line, int(raw) if raw and raw.isdigit() else None)


class GsmModem:
    """A GSM modem on a serial port that sends SMS; use as ``async with GsmModem(...)``.

    Sends are serialised by a lock: the AT dialogue has room for one message at a time.
    """

    def __init__(
        self,
        port: str,
        *,
        clock: Clock,
        baudrate: int = 115200,
        command_timeout: float = 5.0,
        prompt_timeout: float = 5.0,
        submit_timeout: float = 60.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        """Configure the modem; the port is opened by ``__aenter__``.

        Args:
            port: A device path (``/dev/ttyUSB2``) or a pyserial URL.
            clock: Waits out the reopen backoff.
            baudrate: Serial speed.
            command_timeout: Seconds for a plain command's final result.
            prompt_timeout: Seconds for the ``>`` prompt after ``AT+CMGS``.
            submit_timeout: Seconds for ``+CMGS`` after Ctrl-Z; the network may be slow.
            backoff_base: First reopen backoff ceiling, in seconds.
            backoff_cap: Largest reopen backoff ceiling, in seconds.
            rng: Source of jitter (seeded in tests).
        """
        self.port = port
        self._clock = clock
        self._baudrate = baudrate
        self._command_timeout = command_timeout
        self._prompt_timeout = prompt_timeout
        self._submit_timeout = submit_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._buf = bytearray()
        self._failures = 0
        self.opened = 0
        """How many times the port was opened and initialised (for health and tests)."""

    @property
    def connected(self) -> bool:
        """Whether the port is open and initialised."""
        return self._writer is not None and not self._writer.transport.is_closing()

    async def __aenter__(self) -> Self:
        # A modem missing at start must not stop the gateway: sends fail (retryable) and reopen.
        async with self._lock:
            try:
                await self._open()
            except DeliveryError as exc:
                log.warning("GSM modem %s not ready at start: %s", self.port, exc)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async with self._lock:
            await self._close()

    async def send_sms(self, number: str, text: str) -> int:
        """Send one single-part SMS.

        Args:
            number: The recipient in international format (``+8613800000002``).
            text: At most 70 UTF-16 units; see ``split_sms``.

        Returns:
            The message reference the network gave it.

        Raises:
            DeliveryError: the modem refused (``cms:<n>``), timed out or went away.
        """
        if not _NUMBER.match(number):
            raise DeliveryError(f"not a phone number: {number!r}", retryable=False, channel="sms")
        async with self._lock:
            if not self.connected:
                await self._reopen()
            try:
                return await self._submit(number, text)
            except _CommandError as exc:
                code = exc.code
                retryable = code is None or cms_retryable(code)
                raise DeliveryError(
                    f"modem refused the message: {exc.line}",
                    retryable=retryable,
                    channel="sms",
                    code=f"cms:{code}" if code is not None else "error",
                ) from exc
            except _PortGoneError as exc:
                await self._lost(f"port lost while sending: {exc}")
                raise DeliveryError(
                    f"modem port lost: {exc}", retryable=True, channel="sms", code="port"
                ) from exc
            except TimeoutError as exc:
                await self._lost("no answer from the modem")
                raise DeliveryError(
                    "modem did not answer in time", retryable=True, channel="sms", code="timeout"
                ) from exc
            except asyncio.CancelledError:
                # Cancelled mid-dialogue (ESC already sent): drop the port without awaiting, so
                # the next send starts on a fresh, re-initialised session.
                self._abandon()
                raise

    async def _reopen(self) -> None:
        delay = full_jitter(self._failures, self._backoff_base, self._backoff_cap, self._rng)
        if delay:
            await self._clock.sleep(delay)
        await self._open()

    async def _open(self) -> None:
        await self._close()
        try:
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self._baudrate
            )
        except OSError as exc:  # pyserial's SerialException is an OSError
            self._failures += 1
            raise DeliveryError(
                f"cannot open {self.port}: {exc}", retryable=True, channel="sms", code="open"
            ) from exc
        self._reader, self._writer = reader, writer
        self._buf.clear()
        try:
            # A process that died between the ``>`` prompt and Ctrl-Z (a SIGKILL, a power cut)
            # left the modem in text entry, where every command is taken as message text: ESC
            # drops that message (its OK is discarded with the rest). In command mode it is
            # ignored.
            self._write(ESC)
            await self._discard_pending(0.2)
            await self._sync()
            for command in INIT_COMMANDS:
                await self._command(command)
        except (_PortGoneError, TimeoutError, _CommandError) as exc:
            await self._lost(f"initialisation failed: {exc!r}")
            raise DeliveryError(
                f"modem initialisation failed: {exc!r}", retryable=True, channel="sms", code="init"
            ) from exc
        self._failures = 0
        self.opened += 1
        log.info("GSM modem %s ready", self.port)

    async def _lost(self, why: str) -> None:
        if self._writer is not None:
            log.warning("GSM modem %s: %s; reopening on the next send", self.port, why)
        self._failures += 1
        await self._close()

    def _abandon(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        self._failures += 1
        if writer is not None:
            writer.close()

    async def _close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is None:
            return
        writer.close()
        # Closing flushes what is queued (an ESC); a dead port raises its error here: ignore it.
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()

    def _write(self, data: bytes) -> None:
        if self._writer is None or self._writer.transport.is_closing():
            raise _PortGoneError("port closed")
        self._writer.write(data)

    async def _read_more(self) -> None:
        assert self._reader is not None
        try:
            chunk = await self._reader.read(1024)
        except OSError as exc:
            raise _PortGoneError(repr(exc)) from exc
        if not chunk:
            raise _PortGoneError("end of file")
        self._buf += chunk

    async def _discard_pending(self, quiet: float) -> None:
        """Drop bytes left from before the port was (re)opened, until ``quiet`` s of silence."""
        while True:
            try:
                async with asyncio.timeout(quiet):
                    await self._read_more()
            except TimeoutError:
                self._buf.clear()
                return

    async def _next(self, *, prompt: bool) -> str:
        """The next line from the modem, or ``">"`` for the text prompt when ``prompt`` is set."""
        while True:
            while self._buf and self._buf[0] in (0x0D, 0x0A):
                del self._buf[0]
            if prompt and self._buf[:1] == b">":
                # The prompt is "> " with no line end; some modems omit the space.
                del self._buf[: 2 if self._buf[1:2] == b" " else 1]
                return ">"
            ends = [i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0]
            if ends:
                end = min(ends)
                line = bytes(self._buf[:end]).decode("ascii", errors="replace").strip()
                del self._buf[: end + 1]
                if line:
                    return line
                continue
            await self._read_more()

    async def _final(self, command: str, *, result: re.Pattern[str] | None = None) -> str | None:
        """Read up to the final result code of ``command``; return the ``result`` line if any."""
        seen: str | None = None
        while True:
            line = await self._next(prompt=False)
            if line == "OK":
                if result is None or seen is not None:
                    return seen
                # An OK before the result line is a stale answer; the real one is still coming.
                continue
            _raise_if_error(command, line)
            if result is not None and result.match(line):
                seen = line
            # Anything else is the echo of the command or an unsolicited result code: skip it.

    async def _sync(self) -> None:
        """Send a bare ``AT`` whose answer, OK or ERROR, only proves the modem's line is empty.

        Whatever the previous session left in the modem's command buffer ends with this line.
        """
        with contextlib.suppress(_CommandError):
            await self._command("AT")

    async def _command(self, command: str) -> None:
        self._write(command.encode("ascii") + b"\r")
        async with asyncio.timeout(self._command_timeout):
            await self._final(command)

    async def _submit(self, number: str, text: str) -> int:
        command = f'AT+CMGS="{ucs2_hex(number)}"'
        self._write(command.encode("ascii") + b"\r")
        try:
            async with asyncio.timeout(self._prompt_timeout):
                while True:
                    line = await self._next(prompt=True)
                    if line == ">":
                        break
                    _raise_if_error(command, line)
            self._write(ucs2_hex(text).encode("ascii") + CTRL_Z)
            async with asyncio.timeout(self._submit_timeout):
                result = await self._final(command, result=_CMGS)
        except (TimeoutError, _PortGoneError, asyncio.CancelledError):
            # Leave no half-typed message behind: ESC makes the modem drop it and leave text entry.
            with contextlib.suppress(_PortGoneError):
                self._write(ESC)
            raise
        match = _CMGS.match(result or "")
        return int(match.group(1)) if match else -1
