"""An RFLink-compatible 433 MHz receiver on a pseudo-terminal, with EV1527 door contacts.

The gateway opens ``sim.path``: a symbolic link to the current pty, the way a USB receiver is
reached through its stable ``/dev/serial/by-id/...`` link. ``unplug()`` closes the pty and removes
the link, as pulling the USB plug does; ``replug()`` makes a new pty (a new tty name) behind the
same link, so a receiver that reopens its configured path finds the device again.

Writes never block: with nobody reading, a full pty buffer drops bytes like a UART overrun
(counted in ``dropped``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
import time
import tty
from dataclasses import dataclass
from pathlib import Path

from simulators._lifetime import StartStop

BANNER = "Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R48"


@dataclass(frozen=True, slots=True)
class Ev1527Contact:
    """A cheap EV1527 door contact: one 20-bit ID, one data code per state.

    The defaults are the common wiring: the same switch with CMD ON on opening and OFF on
    closing; tamper and battery low on their own data codes. ``codes()`` is what the site file
    holds for such a device (no open/closed entries, so ``open_cmd`` decides the door state).
    """

    id: str = "0a1b2c"
    switch: str = "01"
    tamper_switch: str = "07"
    battery_switch: str = "06"

    @property
    def address(self) -> str:
        """The address in the site file."""
        return f"EV1527:{self.id}"

    def codes(self) -> dict[str, str]:
        """The ``codes`` entry of this contact's site-file device."""
        return {self.tamper_switch: "tamper", self.battery_switch: "battery_low"}


class RFLinkSimulator(StartStop):
    """A receiver on a pty. Use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(self, *, repeats: int = 3, link_name: str = "usb-RFLink_433_Gateway-if00") -> None:
        self.repeats = repeats
        self._dir = Path(tempfile.mkdtemp(prefix="rflink-sim-"))
        self.path = str(self._dir / link_name)
        self._master: int | None = None
        self._slave: int | None = None
        self.tty: str | None = None
        self._counter = 0
        self.dropped = 0
        self.sent: list[str] = []

    def start(self) -> str:
        """Plug the receiver in; returns the tty name."""
        return self.replug()

    def stop(self) -> None:
        """Unplug and remove the link's directory."""
        self.unplug()
        shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def plugged(self) -> bool:
        """Whether the receiver is plugged in."""
        return self._master is not None

    def unplug(self) -> None:
        """Pull the plug: the gateway's reads fail and the path vanishes."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None
        self.tty = None

    def replug(self) -> str:
        """Plug in again (a fresh pty behind the same path); returns the new tty name."""
        self.unplug()
        master, slave = os.openpty()
        # Raw mode: no CR/LF translation, no echo, no line editing, as on a real serial port.
        tty.setraw(slave)
        fcntl.fcntl(master, fcntl.F_SETFL, fcntl.fcntl(master, fcntl.F_GETFL) | os.O_NONBLOCK)
        self._master, self._slave = master, slave
        self.tty = os.ttyname(slave)
        os.symlink(self.tty, self.path)
        self._counter = 0
        self.emit(BANNER + ";")
        return self.tty

    def write(self, data: bytes) -> None:
        """Write raw bytes as the receiver would (garbage included).

        Raises:
            ConnectionError: the receiver is unplugged.
        """
        if self._master is None:
            raise ConnectionError("the simulated receiver is unplugged")
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            written = 0
        self.dropped += len(data) - written

    def emit(self, message: str) -> str:
        """Send one ``20;<counter>;<message>`` line; returns the line without CR LF."""
        line = f"20;{self._counter:02X};{message}"
        self._counter = (self._counter + 1) % 256
        self.write(line.encode("ascii") + b"\r\n")
        self.sent.append(line)
        return line

    def frame(
        self, contact: Ev1527Contact, switch: str, cmd: str, *, repeats: int = 1
    ) -> list[str]:
        """One radio frame from ``contact``, received ``repeats`` times."""
        body = f"EV1527;ID={contact.id};SWITCH={switch};CMD={cmd};"
        return [self.emit(body) for _ in range(repeats)]

    def open_door(self, contact: Ev1527Contact, *, repeats: int | None = None) -> list[str]:
        """The contact reports the door opening (repeated, as EV1527 transmitters do)."""
        return self.frame(contact, contact.switch, "ON", repeats=repeats or self.repeats)

    def close_door(self, contact: Ev1527Contact, *, repeats: int | None = None) -> list[str]:
        """The contact reports the door closing."""
        return self.frame(contact, contact.switch, "OFF", repeats=repeats or self.repeats)

    def tamper(self, contact: Ev1527Contact) -> list[str]:
        """The contact's case was opened or it was pulled off the door frame."""
        return self.frame(contact, contact.tamper_switch, "ON", repeats=self.repeats)

    def battery_low(self, contact: Ev1527Contact) -> list[str]:
        """The contact's battery-low code."""
        return self.frame(contact, contact.battery_switch, "ON", repeats=self.repeats)


def main(argv: list[str] | None = None) -> int:
    """Run a receiver with one contact that opens and closes every few seconds."""
    parser = argparse.ArgumentParser(description="Simulated RFLink receiver on a pty")
    parser.add_argument("--id", default="0a1b2c", help="EV1527 ID of the simulated contact")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between events")
    parser.add_argument("--count", type=int, default=0, help="events to send (0: forever)")
    args = parser.parse_args(argv)
    contact = Ev1527Contact(id=args.id)
    with RFLinkSimulator() as sim:
        print(f"RFLink receiver at {sim.path} (tty {sim.tty}); device {contact.address}")
        sent = 0
        while args.count == 0 or sent < args.count:
            time.sleep(args.interval)
            lines = sim.open_door(contact) if sent % 2 == 0 else sim.close_door(contact)
            print(lines[0], flush=True)
            sent += 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
