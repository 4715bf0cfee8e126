"""The simulated community's numbering: household ``i`` (from 1) and the addresses of its devices.

One place for what the demo's site file binds and what the simulators publish: ``isogate demo``,
the benchmarks' sites and the load generator all count households the same way.
"""

from __future__ import annotations

import math


def household_id(i: int) -> str:
    """``h01`` … ``h99``, ``h100`` …"""
    return f"h{i:02d}"


def door_of(i: int) -> tuple[str, str]:
    """Household i's door sensor as (protocol, address): odd ones are zigbee2mqtt Aqara
    sensors named by their friendly name, even ones native sensors named by their device id."""
    hid = household_id(i)
    return ("zigbee2mqtt", f"{hid}_door") if i % 2 else ("native", f"door-{hid}")


def thermometer_mac(i: int) -> str:
    """Household i's BLE thermometer: the MAC's last three bytes count households (16 M)."""
    return f"A4:C1:38:{i >> 16 & 0xFF:02X}:{i >> 8 & 0xFF:02X}:{i & 0xFF:02X}"


def camera_id(i: int) -> str:
    """Household i's door camera (frames over MQTT), where it has one."""
    return f"cam-{household_id(i)}"


def spread(i: int, share: float) -> bool:
    """Whether household i is one of an evenly spread ``share`` of the community (0–1).

    ``spread(i, 0.2)`` picks every fifth household; the first picked is the first at which the
    running count reaches one, so 1.0 picks all and 0.0 none.
    """
    return math.floor(i * share + 1e-9) != math.floor((i - 1) * share + 1e-9)
