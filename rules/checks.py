"""The twice-daily symptom check: a reading window that ends without one is marked in the log.

Decided with the readings (``rules.readings``): at the tick after a window ended, every resident
watched for all of it who gave no check in it is marked, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rules.directory import Directory
from rules.readings import (
    NO_READINGS,
    ReadingState,
    ResidentKey,
    Window,
    checked,
    ended_window,
    watched,
)


@dataclass(frozen=True, slots=True)
class MissedCheck:
    """A reading window ended without a resident's symptom check: marked in the log."""

    household: str
    resident: str
    window: Window


def missed_checks(
    state_by_resident: Mapping[ResidentKey, ReadingState],
    now: datetime,
    directory: Directory,
    last_tick: datetime | None,
) -> tuple[dict[ResidentKey, ReadingState], tuple[MissedCheck, ...]]:
    """Mark the reading window that ended since the previous tick for every resident under
    isolation (all of that window) who gave no symptom check in it; as ``tick`` does readings.

    Returns:
        The states that changed (the window recorded as marked) and the marks.
    """
    window = ended_window(directory, last_tick, now)
    if window is None:
        return {}, ()
    changed: dict[ResidentKey, ReadingState] = {}
    marks: list[MissedCheck] = []
    for ref in watched(directory, window):
        st = state_by_resident.get(ref.key, NO_READINGS)
        if window in st.checked:
            continue
        changed[ref.key] = checked(st, window, now)
        marks.append(MissedCheck(ref.household.id, ref.resident_id, window))
    return changed, tuple(marks)
