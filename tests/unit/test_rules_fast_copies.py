"""The hot path's hand-written copies of rule states are ``dataclasses.replace``, field for field.

Each copy names every field in order, for speed; a field added to the state and not to its copy
would be dropped silently. These compare the copies with ``replace`` on states where every field
holds a value other than its default.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

from rules.door import DoorState, with_seq
from rules.health import DeviceHealth, Link, seen_again

T = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _not_defaults(cls: type, values: dict[str, object]) -> None:
    """Every field of ``cls`` is given, and differs from its default."""
    assert {f.name for f in fields(cls)} == set(values)
    for f in fields(cls):
        assert values[f.name] != f.default, f.name


def test_a_door_state_with_its_report_number_is_replace():
    values: dict[str, object] = {
        "open": True,
        "changed_at": T,
        "left_open_raised": True,
        "moved_at": T + timedelta(seconds=1),
        "debounce_from": T - timedelta(seconds=1),
        "seq": 7,
    }
    _not_defaults(DoorState, values)
    state = DoorState(**values)  # type: ignore[arg-type]
    assert with_seq(state, 8) == replace(state, seq=8)


def test_a_device_heard_again_is_replace():
    values: dict[str, object] = {
        "watched_since": T,
        "last_seen": T + timedelta(minutes=1),
        "link": Link.ONLINE,
        "link_since": T + timedelta(seconds=5),
        "offline_raised": True,
        "battery": 12,
        "low_battery_raised": True,
        "tamper": True,
        "tamper_raised": True,
        "fault": "only bad frames",
    }
    _not_defaults(DeviceHealth, values)
    state = DeviceHealth(**values)  # type: ignore[arg-type]
    later = T + timedelta(minutes=2)
    assert seen_again(state, later) == replace(state, last_seen=later, fault=None)
