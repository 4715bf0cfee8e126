"""What a household's temperature log (:mod:`rules.slots`) is built from, read from the store:
its readings, each with the resident its thermometer is bound to, and its symptom checks."""

from __future__ import annotations

from datetime import datetime

from gateway.store import Store
from gateway.store.event_data import TemperatureData
from rules.site import Household
from rules.slots import LoggedCheck, LoggedReading

READINGS_MAX = 20_000
"""At most this many readings of one period are read (a period of weeks has hundreds)."""


async def log_inputs(
    store: Store, household: Household, since: datetime
) -> tuple[list[LoggedReading], list[LoggedCheck]]:
    """A household's readings and symptom checks (missed marks included) from ``since`` on."""
    resident_of = {d.id: d.resident for d in household.devices}
    events = await store.household_events(
        household.id, kind="temperature", since=since, limit=READINGS_MAX
    )
    readings = [
        LoggedReading(resident_of.get(e.device_id or ""), e.ts, e.data.celsius)
        for e in events
        if isinstance(e.data, TemperatureData)
    ]
    checks = [
        LoggedCheck(c.resident_id, c.at, c.symptoms, c.window_start, c.by)
        for c in await store.symptom_checks(since=since, households=[household.id])
    ]
    return readings, checks
