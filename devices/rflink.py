"""433 MHz door contacts through an RFLink-compatible receiver on a serial port (SPEC §2.5).

Wire format: ASCII lines at 57600 baud, ending in CR LF, fields separated and ended by ``;``:
- ``20;2D;EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;``: ``20`` (receiver to host), a packet counter
  (two hex digits), the radio protocol, then ``KEY=value`` fields. Some sensors add ``BAT=LOW``.
- ``20;00;Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R48;`` (banner at boot), ``20;01;OK;``
  (ack), ``20;02;PONG;``, ``20;03;VER=1.1;REV=48;BUILD=..;``, ``20;04;CMD UNKNOWN;``,
  ``20;05;DEBUG;..`` and ``RFDEBUG=ON`` lines are the receiver talking about itself: ignored.
- A device's address is ``<protocol>:<ID>`` (``EV1527:0a1b2c``); the ID keeps the case it was sent
  in, but addresses compare case-insensitively (``devices.events.address_key``). An address longer
  than ``MAX_ADDRESS`` is rejected: no radio protocol has one, and the store could not hold it.

Cheap EV1527 contacts send each frame several times; ``RepeatFilter`` collapses the copies.

What a code means (``interpret``): a device in the site file has ``open_cmd`` (default ``ON``) and
``codes``, a map from a code to ``open`` | ``closed`` | ``tamper`` | ``battery_low``. Code keys:
- ``"<SWITCH>/<CMD>"``, e.g. ``"01/ON"``: that switch with that command (checked first);
- ``"<CMD>"``, e.g. ``"OFF"``: that command from any switch;
- ``"<SWITCH>"``, e.g. ``"0e"``: that switch with any command (sensors that send a different
  data code per state, all with ``CMD=ON``).
Keys compare case-insensitively; switches compare as hex numbers (``"1"`` is ``"01"``). When no
code names ``open`` or ``closed``, ``CMD == open_cmd`` means open and its opposite (ON/OFF,
ALLON/ALLOFF, UP/DOWN) means closed. Once ``codes`` names open or closed, only listed codes count
and any other is rejected: a contact whose "closed" code were read as the default "open" would
raise a false breach. Tamper becomes a HeartbeatEvent with ``tamper=True``; battery low a
HeartbeatEvent with ``battery=5`` (below any sane ``low_battery_pct``, the radio gives no level).

Open-only sensors (one code, sent on opening) need nothing here: they decode to "open", and the
door rule counts them closed again after the device's ``open_hold_s``.

``devices.rflink_serial.SerialReceiver`` is the I/O side: it owns the port and yields raw lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from devices.events import (
    MAX_ADDRESS,
    Decoded,
    DeviceRef,
    DoorEvent,
    Event,
    HeartbeatEvent,
    Ignored,
    Protocol,
    Rejected,
    address_key,
)

BAUDRATE = 57600
BATTERY_LOW_PCT = 5
_log = logging.getLogger("isogate.rflink")

_SELF_TALK_WORDS = frozenset({"OK", "PONG", "CMD UNKNOWN", "DEBUG", "STATUS"})
_SELF_TALK_PREFIXES = ("Nodo RadioFrequencyLink", "VER=", "RFDEBUG=", "RFUDEBUG=", "QRFDEBUG=")
_KEY = re.compile(r"[A-Za-z0-9_()]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_OPPOSITES = {frozenset(pair) for pair in (("ON", "OFF"), ("ALLON", "ALLOFF"), ("UP", "DOWN"))}


class RFSignal(StrEnum):
    """What one radio code of a contact means (the same values as the site file's DoorSignal)."""

    OPEN = "open"
    CLOSED = "closed"
    TAMPER = "tamper"
    BATTERY_LOW = "battery_low"


@dataclass(frozen=True, slots=True)
class RFLinkPacket:
    """One received radio packet: ``20;<counter>;<protocol>;<fields>;``."""

    counter: int
    protocol: str
    fields: tuple[tuple[str, str], ...]  # KEY=value pairs in line order, keys upper-cased

    def get(self, key: str) -> str | None:
        """A field's value by key (case-insensitive), or None."""
        wanted = key.upper()
        return next((v for k, v in self.fields if k == wanted), None)

    @property
    def id(self) -> str:
        """The transmitter's ID as sent (``parse_line`` guarantees it is present)."""
        return self.get("ID") or ""

    @property
    def address(self) -> str:
        """``<protocol>:<ID>``, the device's address in the site file."""
        return f"{self.protocol}:{self.id}"

    @property
    def code(self) -> str:
        """``<SWITCH>/<CMD>`` as sent (either may be empty): what ``RepeatFilter`` compares."""
        return f"{self.get('SWITCH') or ''}/{self.get('CMD') or ''}"


def parse_line(line: str) -> RFLinkPacket | Ignored | Rejected:
    """Parse one line from the receiver (without or with its CR LF).

    Args:
        line: the text of one line; undecodable bytes arrive as U+FFFD and are rejected.

    Returns:
        The packet, Ignored for the receiver's own messages, or Rejected with the reason.
    """
    text = line.strip("\r\n")
    if not text.strip():
        return Ignored("empty line")
    if not _PRINTABLE.fullmatch(text):
        return Rejected(f"line {text[:60]!r} has bytes that are not printable ASCII")
    if not text.endswith(";"):
        return Rejected(f"line {text[:60]!r} does not end with ';' (truncated?)")
    parts = text[:-1].split(";")
    if parts[0] == "11" or parts[0] == "10":
        return Ignored("echo of a command sent to the receiver")
    if parts[0] != "20" or len(parts) < 3:
        return Rejected(f"line {text[:60]!r} is not an RFLink '20;..;' message")
    if not re.fullmatch(r"[0-9A-Fa-f]{2}", parts[1]):
        return Rejected(f"packet counter {parts[1][:10]!r} is not two hex digits")
    name = parts[2]
    if name in _SELF_TALK_WORDS or name.startswith(_SELF_TALK_PREFIXES):
        return Ignored(f"receiver message {name[:40]!r}")
    if not name or "=" in name:
        return Rejected(f"line {text[:60]!r} has no protocol name")
    fields: list[tuple[str, str]] = []
    for part in parts[3:]:
        key, eq, value = part.partition("=")
        if not eq or not _KEY.fullmatch(key):
            return Rejected(f"field {part[:40]!r} is not KEY=value")
        if any(k == key.upper() for k, _ in fields):
            return Rejected(f"field {key[:20]} appears twice")
        fields.append((key.upper(), value))
    packet = RFLinkPacket(int(parts[1], 16), name, tuple(fields))
    if not packet.id or not packet.id.isalnum():
        return Rejected(f"{name[:40]} packet without a usable ID")
    if len(packet.address) > MAX_ADDRESS:
        return Rejected(
            f"address of {len(packet.address)} characters is over the {MAX_ADDRESS}-character limit"
        )
    return packet


def _switch_key(text: str) -> str:
    try:
        return format(int(text, 16), "X")
    except ValueError:
        return text.upper()


def signal_of(
    packet: RFLinkPacket, *, open_cmd: str = "ON", codes: Mapping[str, str] | None = None
) -> RFSignal | None:
    """What a packet means for a contact configured with ``open_cmd`` and ``codes``.

    Args:
        packet: a parsed packet.
        open_cmd: the CMD that means open when ``codes`` names neither open nor closed.
        codes: code → signal; key forms as the module docstring lists them.

    Returns:
        The signal, or None when the packet's code means nothing for this device.

    Raises:
        ValueError: a value in ``codes`` is not a signal (a configuration error, not bad input).
    """
    pairs: dict[tuple[str, str], RFSignal] = {}
    bare: dict[str, RFSignal] = {}
    for key, value in (codes or {}).items():
        sw, slash, word = key.upper().partition("/")
        if slash:
            pairs[(_switch_key(sw), word)] = RFSignal(value)
        else:
            bare[sw] = RFSignal(value)
    switch, cmd = _switch_key(packet.get("SWITCH") or ""), (packet.get("CMD") or "").upper()
    for found in (
        pairs.get((switch, cmd)),
        bare.get(cmd) if cmd else None,
        next((s for k, s in bare.items() if switch and _switch_key(k) == switch), None),
    ):
        if found is not None:
            return found
    if {RFSignal.OPEN, RFSignal.CLOSED} & {*pairs.values(), *bare.values()}:
        return None  # the device's codes say which codes are door codes: no default guessing
    if cmd == open_cmd.upper():
        return RFSignal.OPEN
    if frozenset((cmd, open_cmd.upper())) in _OPPOSITES:
        return RFSignal.CLOSED
    return None


def interpret(
    packet: RFLinkPacket, *, open_cmd: str = "ON", codes: Mapping[str, str] | None = None
) -> Decoded:
    """Turn a packet from a bound contact into events.

    Args:
        packet: a parsed packet (already through ``RepeatFilter``).
        open_cmd: the device's ``open_cmd``.
        codes: the device's ``codes`` (values may be the site's DoorSignal, a str enum).

    Returns:
        One DoorEvent or HeartbeatEvent for ``DeviceRef(Protocol.RFLINK, packet.address)``, or
        Rejected when the code means nothing for this device.
    """
    device = DeviceRef(Protocol.RFLINK, packet.address)
    signal = signal_of(packet, open_cmd=open_cmd, codes=codes)
    battery = BATTERY_LOW_PCT if (packet.get("BAT") or "").upper() == "LOW" else None
    event: Event
    if signal is RFSignal.OPEN or signal is RFSignal.CLOSED:
        event = DoorEvent(device=device, open=signal is RFSignal.OPEN, battery=battery)
    elif signal is RFSignal.TAMPER:
        event = HeartbeatEvent(device=device, tamper=True, battery=battery)
    elif signal is RFSignal.BATTERY_LOW:
        event = HeartbeatEvent(device=device, battery=BATTERY_LOW_PCT)
    else:
        return Rejected(f"code {packet.code} means nothing for this contact", device)
    return [event]


class RepeatFilter:
    """Collapses the repeated copies of one radio frame.

    A code is a repeat when the same address sent the same code less than ``window_s`` before;
    the window slides with every copy, so a long burst stays one event. A different code from the
    same address (closed right after open) always passes.
    """

    _PRUNE_AT = 512  # addresses remembered before stale ones are dropped (radio noise makes IDs)

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_s = window_s
        self._last: dict[str, tuple[str, float]] = {}

    def accept(self, address: str, code: str, t: float) -> bool:
        """Whether a frame received at monotonic time ``t`` is new (True) or a repeat (False)."""
        key = address_key(Protocol.RFLINK, address)
        previous = self._last.get(key)
        self._last[key] = (code, t)
        if len(self._last) > self._PRUNE_AT:
            self._last = {k: v for k, v in self._last.items() if t - v[1] < self.window_s}
        if previous is None:
            return True
        last_code, last_t = previous
        return not (last_code == code and 0 <= t - last_t < self.window_s)
