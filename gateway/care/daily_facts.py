"""The facts of one day that the daily report (每日报告) is made from, read from the store.

:func:`gather` reads them with one query per kind of fact, for all households at once (or those
of a user's scope); :func:`by_household` splits them by household once, so that making a row
costs that household's facts, not the whole day's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from gateway.store import Store
from gateway.store.care_records import CareWindow, Release, ServiceRequest, SymptomCheck
from gateway.store.records import Alert
from gateway.store.reports import Reading
from rules.alerts import AlertType

ALERT_TYPES = (AlertType.FEVER, AlertType.DOOR_BREACH, AlertType.DEVICE_OFFLINE)
"""The alert types the report counts."""


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What the store holds of one day (and what the report needs from before it)."""

    readings: Sequence[Reading] = ()
    checks: Sequence[SymptomCheck] = ()
    alerts: Sequence[Alert] = ()
    """Fevers, breaches and ``device_offline`` raised that day."""
    offline: Sequence[Alert] = ()
    """``device_offline`` alerts that stood at the report's time."""
    services: Sequence[ServiceRequest] = ()
    windows: Sequence[CareWindow] = ()
    """Pre-reports that day; check-in visits up to the report's time."""
    releases: Sequence[Release] = ()


async def gather(
    store: Store, start: datetime, at: datetime, households: Iterable[str] | None = None
) -> DayFacts:
    """Read ``[start, at)`` of a day from the store, for some households or all."""
    scope = None if households is None else sorted(households)
    types = [t.value for t in ALERT_TYPES]
    return DayFacts(
        readings=await store.readings_between(start, at, scope),
        checks=await store.checks_between(start, at, scope),
        alerts=await store.alerts_raised_between(start, at, types, scope),
        offline=await store.offline_at(at, scope),
        services=await store.services_between(start, at, scope),
        windows=await store.windows_for_report(start, at, scope),
        releases=await store.releases(scope),
    )


_FACTS = tuple(f.name for f in fields(DayFacts))


def by_household(facts: DayFacts) -> dict[str, DayFacts]:
    """Each household's share of the day's facts."""
    parts: dict[str, dict[str, list[Any]]] = {}
    for name in _FACTS:
        for item in getattr(facts, name):
            parts.setdefault(item.household_id, {}).setdefault(name, []).append(item)
    return {hh: DayFacts(**p) for hh, p in parts.items()}
