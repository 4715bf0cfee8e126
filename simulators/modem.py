"""A GSM modem on a pseudo-terminal: the text-mode SMS dialogue of 3GPP TS 27.005, for real.

The gateway opens ``ModemSimulator.path``, a stable symlink to the pty's slave side (like a
``/dev/serial/by-id`` link), so that a modem that is unplugged and plugged again reappears at
the same path although the pty behind it is new. The simulator runs on its own thread.

Behaviours: echo until ``ATE0``; ``OK`` to the commands a sender uses; ``"\\r\\n> "`` after
``AT+CMGS``, then text until Ctrl-Z (send) or ESC (abort); ``+CMGS: <mr>`` and ``OK``. String
arguments and text are UCS2 hex once ``AT+CSCS="UCS2"`` is set. Faults on command: the next
sends answer ``+CMS ERROR: <code>``; the modem stops answering; it answers the prompt but never
the text; it vanishes (the pty closes) and comes back.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import tempfile
import threading
import time
import tty
from dataclasses import dataclass

from simulators._lifetime import StartStop

CTRL_Z = 0x1A
ESC = 0x1B
_CMGS = re.compile(r'^AT\+CMGS="([^"]*)"', re.IGNORECASE)
_CSCS = re.compile(r'^AT\+CSCS="([^"]*)"', re.IGNORECASE)
_CSMP = re.compile(r"^AT\+CSMP=(\d+),(\d+),(\d+),(\d+)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReceivedSms:
    """One message the modem was asked to send, decoded."""

    number: str
    text: str
    number_raw: str
    text_raw: str
    reference: int


def _decode(raw: str, charset: str) -> str:
    if charset != "UCS2":
        return raw
    return bytes.fromhex(raw).decode("utf-16-be")


class ModemSimulator(StartStop):
    """A simulated GSM modem; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(self, *, name: str = "ttyGSM0") -> None:
        """Prepare the simulator; nothing runs until ``start``.

        Args:
            name: The file name of the stable link under a private temporary directory.
        """
        self._dir = tempfile.mkdtemp(prefix="modem-")
        self.path = os.path.join(self._dir, name)
        """Where the gateway opens the modem (a symlink to the current pty slave)."""
        self.sent: list[ReceivedSms] = []
        """Every message sent, in order."""
        self.log: list[str] = []
        """Every command line received, plus ``<text:HEX>``/``<abort:HEX>`` for message bodies."""
        self.aborted = 0
        """How many messages were abandoned with ESC."""
        self.plugged_in = 0
        """How many times the modem appeared (start and every replug)."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._master: int | None = None
        self._slave: int | None = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._running = False
        self._fail: list[int] = []
        self._muted = False
        self._hang_after_prompt = False
        self._lose_prompt = False
        self._reset_state()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> ModemSimulator:
        """Plug the modem in and start answering."""
        self._running = True
        self.replug()
        self._thread = threading.Thread(target=self._run, name="modem-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread, close the pty and remove the link."""
        if self._thread is None:
            return
        self._running = False
        self._wake()
        self._thread.join(timeout=5)
        self._thread = None
        self.unplug()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        # Closed descriptors' numbers get reused: never write to them again.
        self._wake_r = self._wake_w = -1
        shutil.rmtree(self._dir, ignore_errors=True)

    def unplug(self) -> None:
        """The modem vanishes: its pty closes (readers see an error) and the link disappears."""
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        self._wake()

    def replug(self) -> None:
        """The modem (re)appears on a new pty behind the same link, in its power-on state."""
        self.unplug()
        master, slave = os.openpty()
        # Raw: no line discipline between the gateway and the modem, as on a real serial port.
        tty.setraw(slave)
        tmp = f"{self.path}.new"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        with self._lock:
            # The slave stays open here so the master never reads EIO while nobody has the port.
            self._master, self._slave = master, slave
            self._reset_state()
            os.replace(tmp, self.path)
            self.plugged_in += 1
        self._wake()

    def _wake(self) -> None:
        # The reader thread must notice a new or closed pty without waiting for its timeout.
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    # -- faults --------------------------------------------------------------------------

    def fail_next(self, count: int = 1, code: int = 38, *, after: int = 0) -> None:
        """Refuse ``count`` messages with ``+CMS ERROR: code``, once ``after`` more went out.

        Args:
            count: How many messages to refuse.
            code: The ``+CMS ERROR`` code (38: network out of order).
            after: How many messages to let through first (to fail a later part).
        """
        with self._lock:
            self._fail.extend([0] * after + [code] * count)

    def mute(self, on: bool = True) -> None:
        """Stop (or resume) answering anything; input is read and dropped."""
        with self._lock:
            self._muted = on

    def hang_after_prompt(self, on: bool = True) -> None:
        """Give the ``>`` prompt but never answer the text (only ESC gets a reply)."""
        with self._lock:
            self._hang_after_prompt = on

    def lose_prompt(self, on: bool = True) -> None:
        """Enter text entry after ``AT+CMGS`` without sending the ``>`` prompt (a garbled line)."""
        with self._lock:
            self._lose_prompt = on

    # -- waiting (for tests) -------------------------------------------------------------

    def wait_for_sms(self, count: int, timeout: float = 5.0) -> list[ReceivedSms]:
        """Block until at least ``count`` messages were sent; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.sent) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.sent)} SMS sent, expected {count}")
                self._changed.wait(left)
            return list(self.sent)

    # -- the modem -----------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._echo = True
        self._text_mode = False
        self._charset = "GSM"
        self._dcs = 0
        self._line = bytearray()
        self._body: bytearray | None = None
        self._number = ""
        self._number_raw = ""
        self._reference = 0

    def _run(self) -> None:
        while self._running:
            master = self._master
            watch = [self._wake_r] + ([master] if master is not None else [])
            try:
                readable, _, _ = select.select(watch, [], [], 0.5)
            except (OSError, ValueError):
                continue  # the pty was closed by unplug() while we waited on it
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
            if master is None or master not in readable:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:
                continue  # unplugged under our feet
            with self._changed:
                if master == self._master:
                    for byte in data:
                        self._feed(byte)
                    self._changed.notify_all()

    def _reply(self, text: str) -> None:
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.write(self._master, text.encode("ascii"))

    def _feed(self, byte: int) -> None:
        if self._muted:
            return
        if self._body is not None:
            self._feed_body(byte)
            return
        if self._echo:
            self._reply(chr(byte))
        if byte == 0x0D:
            line = self._line.decode("ascii", errors="replace").strip()
            self._line.clear()
            if line:
                self.log.append(line)
                self._command(line)
        elif byte == 0x08:
            del self._line[-1:]
        elif byte >= 0x20:
            # V.250: other control characters in a command line are ignored (a stray ESC too).
            self._line.append(byte)

    def _command(self, line: str) -> None:
        upper = line.upper()
        if upper in ("AT", "AT+CMEE=1", "AT+CMEE=0"):
            self._reply("\r\nOK\r\n")
        elif upper in ("ATE0", "ATE1"):
            self._echo = upper == "ATE1"
            self._reply("\r\nOK\r\n")
        elif upper in ("AT+CMGF=0", "AT+CMGF=1"):
            self._text_mode = upper.endswith("1")
            self._reply("\r\nOK\r\n")
        elif match := _CSCS.match(line):
            name = match.group(1)
            if self._charset == "UCS2" and re.fullmatch(r"[0-9A-Fa-f]+", name):
                name = _decode(name, "UCS2")
            if name.upper() not in ("GSM", "IRA", "UCS2"):
                self._reply("\r\n+CME ERROR: 4\r\n")
                return
            self._charset = name.upper()
            self._reply("\r\nOK\r\n")
        elif match := _CSMP.match(line):
            self._dcs = int(match.group(4))
            self._reply("\r\nOK\r\n")
        elif match := _CMGS.match(line):
            if not self._text_mode:
                self._reply("\r\n+CMS ERROR: 302\r\n")  # operation not allowed
                return
            try:
                self._number = _decode(match.group(1), self._charset)
            except ValueError:
                self._reply("\r\n+CMS ERROR: 305\r\n")  # invalid text mode parameter
                return
            self._number_raw = match.group(1)
            self._body = bytearray()
            if not self._lose_prompt:
                self._reply("\r\n> ")
        else:
            self._reply("\r\nERROR\r\n")

    def _feed_body(self, byte: int) -> None:
        assert self._body is not None
        if byte == ESC:
            self.log.append(f"<abort:{self._body.decode('ascii', errors='replace')}>")
            self._body = None
            self.aborted += 1
            self._reply("\r\nOK\r\n")
            return
        if byte != CTRL_Z:
            if self._echo:
                self._reply(chr(byte))
            if byte not in (0x0D, 0x0A):
                self._body.append(byte)
            return
        raw = self._body.decode("ascii", errors="replace")
        self._body = None
        self.log.append(f"<text:{raw}>")
        if self._hang_after_prompt:
            return
        code = self._fail.pop(0) if self._fail else 0  # 0: this one goes through
        if code:
            self._reply(f"\r\n+CMS ERROR: {code}\r\n")
            return
        charset = self._charset if self._dcs == 8 else "GSM"
        try:
            text = _decode(raw, charset)
        except ValueError:
            self._reply("\r\n+CMS ERROR: 305\r\n")
            return
        self._reference = (self._reference + 1) % 256
        self.sent.append(ReceivedSms(self._number, text, self._number_raw, raw, self._reference))
        self._reply(f"\r\n+CMGS: {self._reference}\r\n\r\nOK\r\n")
