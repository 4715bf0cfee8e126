"""zigbee2mqtt contact sensors decoded from recorded payloads."""

from __future__ import annotations

from devices import zigbee2mqtt
from devices.events import DoorEvent, HeartbeatEvent, Ignored, Rejected, StatusEvent

# Aqara MCCGQ11LM as zigbee2mqtt 1.x publishes it: contact false = magnet away = door OPEN.
Z2M_AQARA_OPEN = b'{"battery":91,"contact":false,"device_temperature":22,"linkquality":120,"power_outage_count":4,"voltage":3005}'  # noqa: E501
Z2M_AQARA_CLOSED = b'{"battery":91,"contact":true,"linkquality":116,"voltage":3005}'
# Right after pairing the state has no contact yet (zigbee2mqtt sends what it knows).
Z2M_AQARA_NO_CONTACT_YET = b'{"battery":null,"contact":null,"linkquality":87,"voltage":null}'
Z2M_TAMPERED = b'{"contact":true,"tamper":true,"battery_low":false,"battery":64}'
Z2M_AVAILABILITY_JSON_OFFLINE = b'{"state":"offline"}'
Z2M_AVAILABILITY_LEGACY_ONLINE = b"online"
Z2M_BATTERY_WRONG = b'{"contact":false,"battery":"high"}'


def decode(topic: str, payload: bytes):
    return zigbee2mqtt.decode("zigbee2mqtt", topic, payload)


def test_contact_false_means_the_door_is_open():
    """contact: false → DoorEvent(open=True) with battery."""
    [event] = decode("zigbee2mqtt/h1_door", Z2M_AQARA_OPEN)
    assert isinstance(event, DoorEvent)
    assert event.open is True
    assert event.battery == 91
    assert event.device.address == "h1_door"


def test_contact_true_means_closed():
    """contact: true → DoorEvent(open=False)."""
    [event] = decode("zigbee2mqtt/h1_door", Z2M_AQARA_CLOSED)
    assert event.open is False


def test_friendly_name_with_slashes_is_kept_whole():
    """A friendly name like 'floor3/unit2/501 door' is the device address."""
    [event] = decode("zigbee2mqtt/floor3/unit2/501 door", Z2M_AQARA_OPEN)
    assert event.device.address == "floor3/unit2/501 door"


def test_null_contact_before_first_report_is_only_a_heartbeat():
    """Fields null until the first report: no door event is made up."""
    [event] = decode("zigbee2mqtt/h1_door", Z2M_AQARA_NO_CONTACT_YET)
    assert isinstance(event, HeartbeatEvent)
    assert event.battery is None


def test_tamper_flag_is_carried():
    """tamper: true reaches the rules on the event."""
    [event] = decode("zigbee2mqtt/h1_door", Z2M_TAMPERED)
    assert event.tamper is True


def test_availability_json_and_plain_string():
    """Both availability forms decode to a StatusEvent, never a door event."""
    [off] = decode("zigbee2mqtt/h1_door/availability", Z2M_AVAILABILITY_JSON_OFFLINE)
    [on] = decode("zigbee2mqtt/floor3/501/availability", Z2M_AVAILABILITY_LEGACY_ONLINE)
    assert isinstance(off, StatusEvent) and off.online is False
    assert isinstance(on, StatusEvent) and on.online is True
    assert on.device.address == "floor3/501"


def test_bridge_traffic_and_commands_are_ignored():
    """zigbee2mqtt/bridge/... and .../set are not device states."""
    assert isinstance(decode("zigbee2mqtt/bridge/state", b'{"state":"online"}'), Ignored)
    assert isinstance(decode("zigbee2mqtt/h1_door/set", b'{"x":1}'), Ignored)


def test_bad_battery_and_garbage_are_rejected_with_reason():
    """Wrong types and non-JSON say what is wrong and who sent it."""
    bad = decode("zigbee2mqtt/h1_door", Z2M_BATTERY_WRONG)
    assert isinstance(bad, Rejected) and "battery" in bad.reason
    assert bad.device is not None and bad.device.address == "h1_door"
    junk = decode("zigbee2mqtt/h1_door", b"\xff\xfe")
    assert isinstance(junk, Rejected) and "UTF-8" in junk.reason
    arr = decode("zigbee2mqtt/h1_door", b"[1,2]")
    assert isinstance(arr, Rejected) and "expected an object" in arr.reason
    assert isinstance(decode("zigbee2mqtt/h1_door/availability", b"maybe"), Rejected)
