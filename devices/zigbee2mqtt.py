"""zigbee2mqtt contact sensors, e.g. the Aqara MCCGQ11LM door/window sensor (SPEC §2.2).

Wire format, base topic ``zigbee2mqtt`` by default:
- ``zigbee2mqtt/<friendly_name>``: the device state as a JSON object, e.g.
  ``{"contact": false, "battery": 91, "voltage": 3005, "linkquality": 120}``. ``contact: false``
  means the magnet is away: the door is OPEN. Fields are missing or null until the device first
  reports them. Friendly names may contain ``/``.
- ``zigbee2mqtt/<friendly_name>/availability``: ``{"state": "online"}`` (zigbee2mqtt ≥ 1.30) or the
  plain string ``online`` / ``offline`` (older releases).
- ``zigbee2mqtt/bridge/...`` is the bridge's own traffic; ``.../set`` and ``.../get`` are commands.

Every state message is decoded to a DoorEvent when it carries a contact; whether that is a change
or a repeat (a heartbeat) is for the door rule to say, which knows the last state.
"""

from __future__ import annotations

from devices._common import PayloadError, json_object, opt_battery, opt_bool
from devices.events import (
    Decoded,
    DeviceRef,
    DoorEvent,
    Event,
    HeartbeatEvent,
    Ignored,
    Protocol,
    Rejected,
    StatusEvent,
    device_ref,
)

_COMMANDS = ("set", "get")


def decode(base_topic: str, topic: str, payload: bytes) -> Decoded:
    """Decode one message under ``<base_topic>/``."""
    prefix = base_topic + "/"
    if not topic.startswith(prefix) or len(topic) == len(prefix):
        return Rejected(f"topic {topic[:80]!r} is not under {prefix}")
    name = topic[len(prefix) :]
    if name == "bridge" or name.startswith("bridge/"):
        return Ignored("zigbee2mqtt bridge traffic")
    head, _, last = name.rpartition("/")
    if head and last in _COMMANDS:
        return Ignored(f"zigbee2mqtt {last} command")
    availability = bool(head) and last == "availability"
    device = device_ref(Protocol.ZIGBEE2MQTT, head if availability else name)
    if isinstance(device, Rejected):
        return device
    if availability:
        return _availability(device, payload)
    try:
        return _state(device, payload)
    except PayloadError as exc:
        return Rejected(str(exc), device)


def _availability(device: DeviceRef, payload: bytes) -> Decoded:
    text = payload.decode("utf-8", errors="replace").strip()
    state: object = text
    if text.startswith("{"):
        try:
            state = json_object(payload).get("state")
        except PayloadError as exc:
            return Rejected(f'availability is not JSON {{"state": ...}}: {exc}', device)
    if state in ("online", "offline"):
        return [StatusEvent(device=device, online=state == "online")]
    return Rejected(f"availability must be online or offline, got {str(state)[:40]!r}", device)


def _state(device: DeviceRef, payload: bytes) -> list[Event]:
    obj = json_object(payload)
    contact = opt_bool(obj, "contact")
    battery = opt_battery(obj)
    tamper = opt_bool(obj, "tamper")
    if contact is None:
        return [HeartbeatEvent(device=device, battery=battery, tamper=tamper)]
    return [DoorEvent(device=device, open=not contact, battery=battery, tamper=tamper)]
