"""BLE thermometers reported through OpenMQTTGateway or Theengs Gateway (SPEC §2.3).

Wire format, base topic ``home`` by default (both gateways default to it):
- ``home/<gateway_name>/BTtoMQTT/<MAC_WITHOUT_COLONS>``: one advertisement as a JSON object, e.g.
  ``{"id": "A4:C1:38:00:00:01", "rssi": -67, "brand": "Xiaomi", "model_id": "LYWSD03MMC",
  "tempc": 36.8, "tempf": 98.24, "hum": 45, "batt": 80, "volt": 2.9}``. The topic's MAC may be in
  any case (OpenMQTTGateway writes ``C7FaaD132C00``) and ``id`` may be lower case.
- ``home/<gateway_name>/BTtoMQTT`` (no MAC): the same objects on one topic, when a gateway is set
  to publish that way; the device is then known only from ``id``.
- Anything else under ``home/<gateway_name>/`` (``LWT``, ``SYStoMQTT``, ``version``) is the
  gateway's own traffic: ``SYStoMQTT`` even carries a ``tempc``, the ESP32's chip temperature.

Meaning:
- ``tempc`` (°C) is a reading; without it, ``tempf`` (°F) is converted. A reading outside 30–45 °C
  is a measurement error and is rejected, never a fever.
- No temperature but ``batt`` (0–100 %), or a message the gateway's decoder recognised
  (``model_id``), is a heartbeat: the thermometer is alive. ``batt_low: true`` without ``batt``
  is reported as battery 5 %, the same convention as the RFLink decoder.
- A raw advertisement (only ``rssi``, ``manufacturerdata``, ...) from a device the gateway could not
  decode says nothing about a thermometer and is ignored.
- ``id`` wins over the topic's MAC; both present and different is rejected (a mis-wired bridge).
"""

from __future__ import annotations

from typing import Any

from devices._common import (
    PayloadError,
    body_temperature,
    json_object,
    number,
    opt_battery,
    opt_bool,
)
from devices.events import (
    Decoded,
    DeviceRef,
    HeartbeatEvent,
    Ignored,
    Protocol,
    Rejected,
    TemperatureEvent,
    is_mac,
    normalize_mac,
)

__all__ = ["BT_SUBTOPIC", "decode", "is_mac", "normalize_mac"]

BT_SUBTOPIC = "BTtoMQTT"
BATTERY_LOW_PCT = 5  # what a bare "battery low" flag becomes: at or below any sane alert threshold


def decode(omg_base: str, topic: str, payload: bytes) -> Decoded:
    """Decode one message under ``<omg_base>/``.

    Args:
        omg_base: the gateways' base topic, ``home`` unless configured otherwise.
        topic: the MQTT topic the message came on.
        payload: the raw message body.

    Returns:
        One TemperatureEvent or HeartbeatEvent for the thermometer, or why there is none.
    """
    prefix = omg_base + "/"
    if not topic.startswith(prefix):
        return Rejected(f"topic {topic!r} is not under {prefix}")
    parts = topic[len(prefix) :].split("/")
    if BT_SUBTOPIC not in parts[1:]:
        return Ignored("gateway traffic that is not a BLE advertisement")
    at = parts.index(BT_SUBTOPIC, 1)
    tail = parts[at + 1 :]
    if len(tail) > 1:
        return Ignored(f"{BT_SUBTOPIC} subtopic {'/'.join(tail)[:40]!r} is not an advertisement")
    topic_mac = tail[0] if tail else None
    if topic_mac is not None and not is_mac(topic_mac):
        return Rejected(f"topic ends in {topic_mac[:40]!r}, not a MAC address")
    try:
        obj = json_object(payload)
    except PayloadError as exc:
        device = DeviceRef(Protocol.BLE, normalize_mac(topic_mac)) if topic_mac else None
        return Rejected(str(exc), device)
    return _advertisement(topic_mac, obj)


def _advertisement(topic_mac: str | None, obj: dict[str, Any]) -> Decoded:
    topic_device = DeviceRef(Protocol.BLE, normalize_mac(topic_mac)) if topic_mac else None
    sender = obj.get("id")
    if sender is None:
        if topic_device is None:
            return Ignored(f"advertisement on the bare {BT_SUBTOPIC} topic without an id")
        device = topic_device
    elif not isinstance(sender, str) or not is_mac(sender):
        return Rejected(f"id {sender!r:.40} is not a MAC address", topic_device)
    else:
        device = DeviceRef(Protocol.BLE, normalize_mac(sender))
        if topic_device is not None and topic_device != device:
            return Rejected(
                f"id {device.address} disagrees with the topic's MAC {topic_device.address}", device
            )
    try:
        return _reading(device, obj)
    except PayloadError as exc:
        return Rejected(str(exc), device)


def _reading(device: DeviceRef, obj: dict[str, Any]) -> Decoded:
    battery = opt_battery(obj, "batt")
    if battery is None and opt_bool(obj, "batt_low"):
        battery = BATTERY_LOW_PCT
    if obj.get("tempc") is not None:
        celsius = body_temperature(obj["tempc"], "tempc")
        return [TemperatureEvent(device=device, celsius=celsius, battery=battery)]
    if obj.get("tempf") is not None:
        return [
            TemperatureEvent(device=device, celsius=_from_fahrenheit(obj["tempf"]), battery=battery)
        ]
    if battery is not None or obj.get("model_id") is not None:
        return [HeartbeatEvent(device=device, battery=battery)]
    return Ignored("raw advertisement without a temperature or battery")


def _from_fahrenheit(value: object) -> float:
    fahrenheit = number(value, "tempf")
    # Theengs computes tempf from tempc with full float noise; two decimals is the sensor's truth.
    celsius = round((fahrenheit - 32.0) * 5.0 / 9.0, 2)
    return body_temperature(celsius, f"tempf {value} °F →")
