"""BLE thermometers through OpenMQTTGateway and Theengs Gateway: payload to event."""

from __future__ import annotations

import json

import pytest

from devices import ble
from devices.events import DeviceRef, HeartbeatEvent, Ignored, Protocol, Rejected, TemperatureEvent
from simulators.ble import BleThermometer, GatewayStyle

OMG_BASE = "home"

# OpenMQTTGateway (ESP32) relaying a MiaoMiaoCe MMC-T201-1 baby thermometer. Values from a public
# recorded advertisement of that device (MAC 00:81:F9:DD:6F:C1: 36.872 °C, battery 81 %, -60 dBm);
# field set as the gateway's decoder emits it. Topic MAC is upper case without colons.
OMG_T201_TOPIC = "home/OMG_ESP32_BLE/BTtoMQTT/0081F9DD6FC1"
OMG_T201_TEMP = (
    b'{"id":"00:81:F9:DD:6F:C1","mac_type":0,"adv_type":0,"name":"MMC-T201-1","rssi":-60,'
    b'"brand":"Xiaomi/MiaoMiaoCe","model":"Digital Baby Thermometer","model_id":"MMC-T201-1",'
    b'"type":"THB","tempc":36.87,"tempf":98.37,"batt":81}'
)
# The same thermometer with a fever: a reading, not an error.
OMG_T201_FEVER = OMG_T201_TEMP.replace(
    b'"tempc":36.87,"tempf":98.37', b'"tempc":38.6,"tempf":101.48'
)

# OpenMQTTGateway and an LYWSD03MMC room sensor (ATC firmware) bound by mistake as a body
# thermometer: 21.5 °C is the room, a measurement error for this gateway, never a fever.
OMG_LYWSD03_TOPIC = "home/OMG_ESP32_BLE/BTtoMQTT/A4C138000001"
OMG_LYWSD03_ROOM_TEMP = (
    b'{"id":"A4:C1:38:00:00:01","mac_type":0,"name":"ATC_000001","model":"LYWSD03MMC",'
    b'"model_id":"LYWSD03MMC","tempc":21.5,"hum":55,"batt":88,"rssi":-97}'
)

# OpenMQTTGateway's documentation example of an undecoded beacon: mixed-case MAC in the topic,
# lower-case id, no sensor fields.
OMG_RAW_BEACON_TOPIC = "home/OpenMQTTGateway/BTtoMQTT/C7FaaD132C00"
OMG_RAW_BEACON = (
    b'{"id":"c7:fa:ad:13:2c:00","rssi":-68,"distance":2.799256,'
    b'"servicedata":"fe0000000000000000000000000000000000000000"}'
)

# OpenMQTTGateway's own status: tempc here is the ESP32 chip, not anybody's body.
OMG_SYSTOMQTT_TOPIC = "home/OMG_ESP32_BLE/SYStoMQTT"
OMG_SYSTOMQTT = b'{"uptime":60405,"version":"v1.6.0","freemem":115572,"tempc":57.77778,"rssi":-39}'

# Theengs Gateway, Mi Jia round sensor advertisement that carries only the battery.
THEENGS_LYWSDCGQ_TOPIC = "home/TheengsGateway/BTtoMQTT/582D3438033C"
THEENGS_LYWSDCGQ_BATT = (
    b'{"id":"58:2D:34:38:03:3C","brand":"Xiaomi","model":"Mi Jia round",'
    b'"model_id":"LYWSDCGQ","type":"THB","batt":62}'
)

# Theengs Gateway, body thermometer whose decoder gave only Fahrenheit: 100.4 °F is 38.0 °C.
THEENGS_T201_TOPIC = "home/TheengsGateway/BTtoMQTT/0081F9DD6FC1"
THEENGS_TEMPF_ONLY = (
    b'{"id":"00:81:F9:DD:6F:C1","rssi":-71,"brand":"Xiaomi/MiaoMiaoCe",'
    b'"model_id":"MMC-T201-1","type":"THB","tempf":100.4,"batt":77}'
)
# Theengs Gateway, the probe slipped onto a warm radiator: 46.2 °C is out of range.
THEENGS_TEMP_OUT_OF_RANGE = (
    b'{"id":"00:81:F9:DD:6F:C1","rssi":-70,"model_id":"MMC-T201-1","type":"THB",'
    b'"tempc":46.2,"tempf":115.16,"batt":76}'
)
# Theengs Gateway with every advertisement on one topic (no MAC in the topic).
THEENGS_SINGLE_TOPIC = "home/TheengsGateway/BTtoMQTT"
# A truncated message, as a flaky Wi-Fi link to the gateway delivers it.
OMG_TRUNCATED = b'{"id":"00:81:F9:DD:6F:C1","mac_type":0,"tempc":3'

T201 = DeviceRef(Protocol.BLE, "00:81:F9:DD:6F:C1")


def test_omg_reading_becomes_a_temperature_event_with_battery() -> None:
    """A thermometer's reading through OpenMQTTGateway is a TemperatureEvent with its battery."""
    assert ble.decode(OMG_BASE, OMG_T201_TOPIC, OMG_T201_TEMP) == [
        TemperatureEvent(device=T201, celsius=36.87, battery=81)
    ]


def test_fever_is_a_reading_not_an_error() -> None:
    """38.6 °C is inside the plausible range: the fever rule, not the decoder, judges it."""
    (event,) = ble.decode(OMG_BASE, OMG_T201_TOPIC, OMG_T201_FEVER)  # type: ignore[misc]
    assert isinstance(event, TemperatureEvent)
    assert event.celsius == 38.6


def test_room_temperature_is_rejected_as_a_measurement_error() -> None:
    """A room sensor's 21.5 °C is rejected with the reason, and the device is still named."""
    result = ble.decode(OMG_BASE, OMG_LYWSD03_TOPIC, OMG_LYWSD03_ROOM_TEMP)
    assert isinstance(result, Rejected)
    assert "outside 30–45 °C" in result.reason
    assert result.device == DeviceRef(Protocol.BLE, "A4:C1:38:00:00:01")


def test_too_hot_reading_is_rejected_not_a_fever() -> None:
    """46.2 °C from a probe on a radiator is a measurement error."""
    result = ble.decode(OMG_BASE, THEENGS_T201_TOPIC, THEENGS_TEMP_OUT_OF_RANGE)
    assert isinstance(result, Rejected)
    assert "46.2" in result.reason
    assert result.device == T201


def test_fahrenheit_only_reading_is_converted_to_celsius() -> None:
    """Theengs' tempf-only message gives 100.4 °F = 38.0 °C."""
    assert ble.decode(OMG_BASE, THEENGS_T201_TOPIC, THEENGS_TEMPF_ONLY) == [
        TemperatureEvent(device=T201, celsius=38.0, battery=77)
    ]


def test_fahrenheit_out_of_range_names_both_units() -> None:
    """A tempf that converts to outside 30–45 °C is rejected with both values in the reason."""
    payload = json.dumps({"id": T201.address, "tempf": 120.0}).encode()
    result = ble.decode(OMG_BASE, THEENGS_T201_TOPIC, payload)
    assert isinstance(result, Rejected)
    assert "120.0 °F" in result.reason
    assert "48.89" in result.reason


def test_battery_only_advertisement_is_a_heartbeat() -> None:
    """No temperature but a battery level: the thermometer is alive."""
    assert ble.decode(OMG_BASE, THEENGS_LYWSDCGQ_TOPIC, THEENGS_LYWSDCGQ_BATT) == [
        HeartbeatEvent(device=DeviceRef(Protocol.BLE, "58:2D:34:38:03:3C"), battery=62)
    ]


def test_battery_low_flag_without_level_reads_as_five_percent() -> None:
    """``batt_low: true`` alone becomes battery 5 %, low under any threshold."""
    payload = b'{"id":"00:81:F9:DD:6F:C1","model_id":"MMC-T201-1","batt_low":true}'
    assert ble.decode(OMG_BASE, OMG_T201_TOPIC, payload) == [
        HeartbeatEvent(device=T201, battery=ble.BATTERY_LOW_PCT)
    ]


def test_mixed_case_topic_and_lower_case_id_name_the_same_device() -> None:
    """The topic's ``C7FaaD132C00`` and the id ``c7:fa:...`` agree; the raw beacon is ignored."""
    result = ble.decode(OMG_BASE, OMG_RAW_BEACON_TOPIC, OMG_RAW_BEACON)
    assert isinstance(result, Ignored)
    with_battery = OMG_RAW_BEACON.replace(b'"rssi"', b'"batt":55,"rssi"')
    assert ble.decode(OMG_BASE, OMG_RAW_BEACON_TOPIC, with_battery) == [
        HeartbeatEvent(device=DeviceRef(Protocol.BLE, "C7:FA:AD:13:2C:00"), battery=55)
    ]


def test_id_that_disagrees_with_the_topic_is_rejected() -> None:
    """A message about one MAC on another MAC's topic is a mis-wired bridge."""
    result = ble.decode(OMG_BASE, OMG_LYWSD03_TOPIC, OMG_T201_TEMP)
    assert isinstance(result, Rejected)
    assert "disagrees" in result.reason


def test_topic_mac_is_used_when_id_is_absent() -> None:
    """Without ``id``, the lower-case MAC in the topic names the device."""
    result = ble.decode(OMG_BASE, "home/gw/BTtoMQTT/0081f9dd6fc1", b'{"tempc":36.5}')
    assert result == [TemperatureEvent(device=T201, celsius=36.5)]


def test_single_topic_gateway_uses_the_id() -> None:
    """On the bare BTtoMQTT topic the id names the device; without an id it is ignored."""
    assert ble.decode(OMG_BASE, THEENGS_SINGLE_TOPIC, OMG_T201_TEMP) == [
        TemperatureEvent(device=T201, celsius=36.87, battery=81)
    ]
    assert isinstance(ble.decode(OMG_BASE, THEENGS_SINGLE_TOPIC, b'{"rssi":-60}'), Ignored)


def test_gateway_status_with_chip_temperature_is_ignored() -> None:
    """SYStoMQTT's tempc is the ESP32's own temperature, never a reading."""
    assert isinstance(ble.decode(OMG_BASE, OMG_SYSTOMQTT_TOPIC, OMG_SYSTOMQTT), Ignored)


@pytest.mark.parametrize(
    ("topic", "payload", "reason_part"),
    [
        pytest.param(OMG_T201_TOPIC, OMG_TRUNCATED, "not JSON", id="truncated"),
        pytest.param(OMG_T201_TOPIC, b"\xff\xfe", "UTF-8", id="not-text"),
        pytest.param(OMG_T201_TOPIC, b"[36.6]", "expected an object", id="array"),
        pytest.param(OMG_T201_TOPIC, b'{"tempc":"36.6"}', "tempc must be a number", id="str"),
        pytest.param(OMG_T201_TOPIC, b'{"tempc":36.6,"batt":101}', "outside 0–100", id="batt"),
        pytest.param(OMG_T201_TOPIC, b'{"id":42,"tempc":36.6}', "not a MAC", id="id-type"),
        pytest.param("home/gw/BTtoMQTT/kitchen", b'{"tempc":36.6}', "not a MAC", id="topic"),
        pytest.param("zigbee2mqtt/x/BTtoMQTT/A", b"{}", "not under home/", id="base"),
    ],
)
def test_bad_input_is_rejected_with_a_reason(topic: str, payload: bytes, reason_part: str) -> None:
    """Malformed payloads and topics are rejected, saying what was wrong."""
    result = ble.decode(OMG_BASE, topic, payload)
    assert isinstance(result, Rejected)
    assert reason_part in result.reason


def test_truncated_message_still_names_the_sender() -> None:
    """A payload that is not JSON keeps the device from the topic, for the rejected list."""
    result = ble.decode(OMG_BASE, OMG_T201_TOPIC, OMG_TRUNCATED)
    assert isinstance(result, Rejected)
    assert result.device == T201


class _RecordingLink:
    """Stands in for the MQTT link where only the simulator's payloads are under test."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
        self.published.append((topic, payload))


@pytest.mark.parametrize("style", list(GatewayStyle))
def test_simulated_thermometer_speaks_what_the_decoder_reads(style: GatewayStyle) -> None:
    """Every kind of simulated message decodes to the event it stands for."""
    link = _RecordingLink()
    therm = BleThermometer(link, style=style, battery=50.0, drain_pct=1.0)  # type: ignore[arg-type]
    device = DeviceRef(Protocol.BLE, therm.mac)
    normal = therm.normal()
    fever = therm.fever(38.9)
    therm.out_of_range()
    therm.garbage()
    therm.battery_only()
    results = [ble.decode(OMG_BASE, topic, body) for topic, body in link.published]
    assert results[0] == [TemperatureEvent(device=device, celsius=normal, battery=49)]
    assert results[1] == [TemperatureEvent(device=device, celsius=fever, battery=48)]
    assert isinstance(results[2], Rejected)
    assert isinstance(results[3], Rejected)
    assert results[4] == [HeartbeatEvent(device=device, battery=47)]


def test_theengs_fahrenheit_only_simulation_round_trips() -> None:
    """A simulated tempf-only message decodes to the Celsius value it was made from."""
    link = _RecordingLink()
    therm = BleThermometer(link, style=GatewayStyle.THEENGS, fahrenheit_only=True)  # type: ignore[arg-type]
    therm.fever(38.5)
    (topic, body) = link.published[0]
    assert b"tempc" not in body
    (event,) = ble.decode(OMG_BASE, topic, body)  # type: ignore[misc]
    assert event.celsius == pytest.approx(38.5, abs=0.01)
