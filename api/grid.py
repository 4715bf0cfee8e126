"""One household's row of the watcher's grid, from what the gateway tracks (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from api.models import DeviceBrief, HouseholdRow
from gateway.store.records import Alert, DeviceStatus
from rules.alerts import Severity
from rules.site import DeviceKind, Household

_RANK = list(Severity)  # critical first


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def grid_row(
    hh: Household,
    states: Mapping[str, DeviceStatus],
    snapshot: str | None,
    unresolved: list[Alert],
) -> HouseholdRow:
    """The grid's row of a household.

    Args:
        hh: The household as the site sets it up.
        states: Devices' last known state by device id (those never heard are absent).
        snapshot: The snapshot link of its latest alert that has one.
        unresolved: Its unresolved alerts, acknowledged ones included.
    """
    doors = [states[d.id] for d in hh.devices if d.kind is DeviceKind.DOOR and d.id in states]
    heard_doors = [s for s in doors if s.door_open is not None]
    changed = [s.door_changed_at for s in heard_doors if s.door_changed_at is not None]
    readings = [
        (s.last_reading_at, s.last_celsius)
        for d in hh.devices
        if d.kind is DeviceKind.THERMOMETER and (s := states.get(d.id)) is not None
        if s.last_reading_at is not None and s.last_celsius is not None
    ]
    latest = max(readings, default=None)
    return HouseholdRow(
        id=hh.id,
        address=hh.address,
        residents=[r.name for r in hh.residents],
        door_open=any(s.door_open for s in heard_doors) if heard_doors else None,
        door_at=_iso(max(changed, default=None)),
        last_celsius=latest[1] if latest else None,
        last_celsius_at=_iso(latest[0]) if latest else None,
        devices=[
            DeviceBrief(
                id=d.id,
                kind=d.kind.value,
                online=s.online if (s := states.get(d.id)) else None,
                battery=s.battery if s else None,
                last_seen=_iso(s.last_seen) if s else None,
            )
            for d in hh.devices
        ],
        snapshot=snapshot,
        open_alerts=len(unresolved),
        worst_severity=min((a.severity for a in unresolved), key=_RANK.index, default=None),
    )
