"""When an event happened: the device's time where plausible, else the receipt time, flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.router import Router
from gateway.ingest.arrival import MAX_CLOCK_BEHIND, event_time
from rules.directory import Binding, Directory
from rules.site import Site
from tests.conftest import site_doc

ROUTER = Router()
RECEIVED = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _binding() -> Binding:
    directory = Directory.build(Site.model_validate(site_doc()))
    binding = directory.device("door-h2")
    assert binding is not None
    return binding


def _door(ts: str) -> object:
    [event] = ROUTER.decode(
        "isogate/dev/door-h2/event", f'{{"type": "door", "open": true, "ts": {ts}}}'.encode()
    )
    return event


@pytest.mark.parametrize(
    ("ts", "expected", "flag"),
    [
        ('"2026-11-23T12:00:00+08:00"', RECEIVED, "device_clock_ahead"),
        ('"2026-11-23T10:30:00+08:00"', datetime(2026, 11, 23, 2, 30, tzinfo=UTC), None),
        ("946684805", RECEIVED, "device_clock_behind"),
        ("0", RECEIVED, "device_clock_implausible"),
        ('"2026-11-19T10:30:00+08:00"', RECEIVED, "device_clock_behind"),
    ],
)
def test_a_device_clock_is_trusted_only_where_plausible(
    ts: str, expected: datetime, flag: str | None
):
    """Ahead, reset to 2000 or 1970, days behind: receipt time and a flag; late by minutes: kept."""
    event = _door(ts)
    assert event_time(event, RECEIVED, _binding(), MAX_CLOCK_BEHIND) == (expected, flag)


def test_a_device_clock_before_the_isolation_cannot_move_an_opening_out_of_it():
    """Stamped before the isolation began, received inside it: judged at the receipt."""
    event = _door('"2026-11-19T23:00:00+08:00"')
    received = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    at, flag = event_time(event, received, _binding(), timedelta(days=30))
    assert (at, flag) == (received, "device_clock_outside_isolation")
