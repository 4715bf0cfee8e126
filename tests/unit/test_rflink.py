"""RFLink lines: parsing, what a code means for a contact, and collapsing radio repeats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.events import (
    DeviceRef,
    DoorEvent,
    HeartbeatEvent,
    Ignored,
    Protocol,
    Rejected,
    address_key,
)
from devices.rflink import (
    RepeatFilter,
    RFLinkPacket,
    RFSignal,
    interpret,
    parse_line,
    signal_of,
)
from rules.site import DoorSignal

# EV1527 contact, the SPEC's example: 20 = from the receiver, 2D = packet counter.
RFLINK_EV1527_OPEN = "20;2D;EV1527;ID=0a1b2c;SWITCH=01;CMD=ON;\r\n"
RFLINK_EV1527_CLOSE = "20;2E;EV1527;ID=0a1b2c;SWITCH=01;CMD=OFF;\r\n"
# EV1527 contact that sends a data code per state (all CMD=ON): 0a open, 0e closed, 07 tamper.
RFLINK_EV1527_CODE_0A = "20;3B;EV1527;ID=295FD59;SWITCH=0a;CMD=ON;"
RFLINK_EV1527_CODE_0E = "20;3C;EV1527;ID=295FD59;SWITCH=0E;CMD=ON;"
RFLINK_EV1527_CODE_05 = "20;3D;EV1527;ID=295FD59;SWITCH=05;CMD=ON;"
# A contact that reports its battery inside the packet.
RFLINK_KAKU_BAT_LOW = "20;1A;Kaku;ID=41;SWITCH=1;CMD=OFF;BAT=LOW;"
# A NewKaku remote's button, the protocol name in mixed case.
RFLINK_NEWKAKU_ON = "20;01;NewKaku;ID=005ef68a;SWITCH=1;CMD=ON;"
# The receiver's own messages.
RFLINK_BANNER = "20;00;Nodo RadioFrequencyLink - RFLink Gateway V1.1 - R48;"
RFLINK_OK = "20;01;OK;"
RFLINK_PONG = "20;02;PONG;"
RFLINK_VERSION = "20;03;VER=1.1;REV=48;BUILD=01;"
RFLINK_DEBUG = "20;04;DEBUG;Pulses=50;Pulses(uSec)=1200,2550,1230;"
RFLINK_CMD_UNKNOWN = "20;05;CMD UNKNOWN;"
RFLINK_RFDEBUG = "20;06;RFDEBUG=ON;"
RFLINK_LOOPBACK = "11;20;45;EV1527;ID=295FD59;SWITCH=3;CMD=ON;"

ADDRESS = "EV1527:0a1b2c"
DEVICE = DeviceRef(Protocol.RFLINK, ADDRESS)
CODE_STYLE = {"0a": "open", "0e": "closed", "07": "tamper", "06": "battery_low"}


def _packet(line: str) -> RFLinkPacket:
    packet = parse_line(line)
    assert isinstance(packet, RFLinkPacket), packet
    return packet


def test_ev1527_line_parses_to_a_packet_with_its_address() -> None:
    """The SPEC's example line: protocol, ID as sent, switch and command."""
    packet = _packet(RFLINK_EV1527_OPEN)
    assert (packet.counter, packet.protocol, packet.id) == (0x2D, "EV1527", "0a1b2c")
    assert (packet.address, packet.code) == (ADDRESS, "01/ON")
    assert packet.get("cmd") == "ON"


def test_id_case_is_kept_but_addresses_compare_case_insensitively() -> None:
    """``295FD59`` stays upper case; its key equals the lower-case spelling's."""
    packet = _packet(RFLINK_EV1527_CODE_0A)
    assert packet.address == "EV1527:295FD59"
    key = address_key(Protocol.RFLINK, packet.address)
    assert key == address_key(Protocol.RFLINK, "ev1527:295fd59")


# A transmitter ID of 200 characters: no radio protocol has one; the store's column holds 128.
RFLINK_LONG_ID = "20;2F;EV1527;ID=" + "a" * 200 + ";SWITCH=01;CMD=ON;"


def test_an_address_longer_than_the_store_holds_is_rejected() -> None:
    """A 200-character ID is refused with the limit in the reason, never made a device."""
    parsed = parse_line(RFLINK_LONG_ID)
    assert isinstance(parsed, Rejected)
    assert "128-character limit" in parsed.reason


@pytest.mark.parametrize(
    "line",
    [
        RFLINK_BANNER,
        RFLINK_OK,
        RFLINK_PONG,
        RFLINK_VERSION,
        RFLINK_DEBUG,
        RFLINK_CMD_UNKNOWN,
        RFLINK_RFDEBUG,
        RFLINK_LOOPBACK,
        "10;PING;",
        "\r\n",
    ],
)
def test_receiver_talk_is_ignored(line: str) -> None:
    """Banner, acks, version, debug and echoes are not radio packets."""
    assert isinstance(parse_line(line), Ignored)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        pytest.param("20;2D;EV1527;ID=0a1b", "does not end with ';'", id="truncated"),
        pytest.param("20;2D;EV15\ufffd27;ID=0a1b2c;", "not printable", id="undecodable"),
        pytest.param("hello;", "not an RFLink", id="not-rflink"),
        pytest.param("20;ZZ;EV1527;ID=0a1b2c;", "counter", id="counter"),
        pytest.param("20;2D;EV1527;SWITCH=01;CMD=ON;", "without a usable ID", id="no-id"),
        pytest.param("20;2D;EV1527;ID=0a 1b;CMD=ON;", "without a usable ID", id="id-space"),
        pytest.param("20;2D;EV1527;ID=1;ID=2;", "appears twice", id="duplicate"),
        pytest.param("20;2D;EV1527;ID=1;noise;", "not KEY=value", id="no-equals"),
        pytest.param("20;2D;;ID=1;", "no protocol name", id="no-protocol"),
    ],
)
def test_garbage_lines_are_rejected_with_a_reason(line: str, reason: str) -> None:
    """Noise, cut-off lines and malformed fields are rejected, saying what was wrong."""
    result = parse_line(line)
    assert isinstance(result, Rejected)
    assert reason in result.reason


def test_on_opens_and_off_closes_by_default() -> None:
    """With no codes, CMD=ON is open and CMD=OFF closed."""
    assert interpret(_packet(RFLINK_EV1527_OPEN)) == [DoorEvent(device=DEVICE, open=True)]
    assert interpret(_packet(RFLINK_EV1527_CLOSE)) == [DoorEvent(device=DEVICE, open=False)]


def test_open_cmd_off_inverts_a_contact_wired_the_other_way() -> None:
    """``open_cmd: OFF`` makes OFF the opening and ON the closing."""
    assert interpret(_packet(RFLINK_EV1527_CLOSE), open_cmd="off") == [
        DoorEvent(device=DEVICE, open=True)
    ]
    assert interpret(_packet(RFLINK_EV1527_OPEN), open_cmd="OFF") == [
        DoorEvent(device=DEVICE, open=False)
    ]


def test_a_command_that_is_neither_open_nor_its_opposite_is_rejected() -> None:
    """CMD=UP means nothing for a contact whose open_cmd is ON."""
    result = interpret(_packet("20;01;EV1527;ID=0a1b2c;SWITCH=01;CMD=UP;"))
    assert isinstance(result, Rejected)
    assert result.device == DEVICE


def test_per_state_data_codes_decide_the_door_state() -> None:
    """A contact with one data code per state: switch 0a opens, 0E closes (any case)."""
    device = DeviceRef(Protocol.RFLINK, "EV1527:295FD59")
    assert interpret(_packet(RFLINK_EV1527_CODE_0A), codes=CODE_STYLE) == [
        DoorEvent(device=device, open=True)
    ]
    assert interpret(_packet(RFLINK_EV1527_CODE_0E), codes=CODE_STYLE) == [
        DoorEvent(device=device, open=False)
    ]


def test_unknown_code_is_rejected_once_codes_name_the_door_states() -> None:
    """Switch 05 with CMD=ON is not read as the default "open": no false breach."""
    result = interpret(_packet(RFLINK_EV1527_CODE_05), codes=CODE_STYLE)
    assert isinstance(result, Rejected)
    assert "05/ON" in result.reason


def test_tamper_only_codes_keep_the_default_door_meaning() -> None:
    """Codes that only name tamper leave ON/OFF to open_cmd."""
    codes = {"07": "tamper"}
    assert interpret(_packet(RFLINK_EV1527_OPEN), codes=codes) == [
        DoorEvent(device=DEVICE, open=True)
    ]
    tamper = _packet("20;30;EV1527;ID=0a1b2c;SWITCH=07;CMD=ON;")
    assert interpret(tamper, codes=codes) == [HeartbeatEvent(device=DEVICE, tamper=True)]


def test_battery_low_code_is_a_heartbeat_at_five_percent() -> None:
    """The battery-low code carries no level: it becomes battery 5 %."""
    packet = _packet("20;31;EV1527;ID=0a1b2c;SWITCH=06;CMD=ON;")
    assert interpret(packet, codes={"06": DoorSignal.BATTERY_LOW}) == [
        HeartbeatEvent(device=DEVICE, battery=5)
    ]


def test_bat_low_field_rides_along_with_the_door_event() -> None:
    """``BAT=LOW`` in the packet sets battery 5 % on the door event."""
    assert interpret(_packet(RFLINK_KAKU_BAT_LOW)) == [
        DoorEvent(device=DeviceRef(Protocol.RFLINK, "Kaku:41"), open=False, battery=5)
    ]


def test_switch_and_command_key_wins_over_a_bare_command() -> None:
    """``07/ON`` is more specific than ``ON``; switch ``1`` matches ``01``."""
    codes = {"ON": "open", "OFF": "closed", "07/on": "tamper", "1/OFF": "closed"}
    assert signal_of(_packet("20;01;EV1527;ID=0a1b2c;SWITCH=07;CMD=ON;"), codes=codes) == (
        RFSignal.TAMPER
    )
    assert signal_of(_packet(RFLINK_EV1527_OPEN), codes=codes) is RFSignal.OPEN
    assert signal_of(_packet(RFLINK_EV1527_CLOSE), codes=codes) is RFSignal.CLOSED


def test_open_only_sensor_reports_only_openings() -> None:
    """A one-code sensor decodes to "open" each time; the door rule's hold closes it."""
    assert interpret(_packet(RFLINK_NEWKAKU_ON)) == [
        DoorEvent(device=DeviceRef(Protocol.RFLINK, "NewKaku:005ef68a"), open=True)
    ]


def test_a_code_that_is_not_a_signal_is_a_configuration_error() -> None:
    """A misspelt signal in the codes raises ValueError rather than passing silently."""
    with pytest.raises(ValueError, match="opne"):
        signal_of(_packet(RFLINK_EV1527_OPEN), codes={"ON": "opne"})


def test_repeated_frames_within_the_window_are_one_event() -> None:
    """Three copies 50 ms apart pass once; the same code after a quiet second passes again."""
    flt = RepeatFilter(window_s=1.0)
    assert [flt.accept(ADDRESS, "01/ON", t) for t in (10.0, 10.05, 10.1)] == [True, False, False]
    assert flt.accept(ADDRESS, "01/ON", 11.2)


def test_a_long_burst_stays_one_event_because_the_window_slides() -> None:
    """Copies every 0.6 s for three seconds never leave a one-second gap."""
    flt = RepeatFilter(window_s=1.0)
    accepted = [flt.accept(ADDRESS, "01/ON", 0.6 * i) for i in range(6)]
    assert accepted == [True, False, False, False, False, False]


def test_a_different_code_passes_at_once() -> None:
    """Open then closed within 100 ms are two events, and open again is a third."""
    flt = RepeatFilter()
    assert flt.accept(ADDRESS, "01/ON", 1.0)
    assert flt.accept(ADDRESS, "01/OFF", 1.05)
    assert flt.accept(ADDRESS, "01/ON", 1.1)


def test_repeats_are_matched_by_address_case_insensitively() -> None:
    """``EV1527:0A1B2C`` is the same transmitter; another ID is not."""
    flt = RepeatFilter()
    assert flt.accept(ADDRESS, "01/ON", 1.0)
    assert not flt.accept("EV1527:0A1B2C", "01/ON", 1.1)
    assert flt.accept("EV1527:ffffff", "01/ON", 1.1)


def test_radio_noise_does_not_make_the_filter_forget_a_recent_frame() -> None:
    """Hundreds of noise IDs trigger pruning of stale entries only."""
    flt = RepeatFilter()
    assert flt.accept(ADDRESS, "01/ON", 100.0)
    for i in range(700):
        flt.accept(f"EV1527:{i:06x}", "01/ON", 100.0 + i / 10_000)
    assert not flt.accept(ADDRESS, "01/ON", 100.5)


@given(st.lists(st.tuples(st.sampled_from(["01/ON", "01/OFF"]), st.floats(0, 3)), max_size=30))
def test_filter_passes_exactly_new_codes_and_codes_after_a_gap(
    frames: list[tuple[str, float]],
) -> None:
    """For any burst: a frame passes iff its code differs from the last or a window has passed."""
    flt = RepeatFilter(window_s=1.0)
    t, last = 0.0, None
    for code, gap in frames:
        t += gap
        expected = last is None or last[0] != code or t - last[1] >= 1.0
        assert flt.accept(ADDRESS, code, t) == expected
        last = (code, t)
