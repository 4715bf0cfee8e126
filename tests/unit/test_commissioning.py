"""The commissioning checklist: each step ticked once, at the first event that shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.commissioning import checklist, tick_off
from gateway.store.event_data import DoorData, FrameData
from gateway.store.records import EventRecord
from rules.site import Household

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

H1 = Household.model_validate(
    {
        "id": "h1",
        "address": "幸福小区3栋2单元501",
        "devices": [
            {"id": "door-h1", "kind": "door", "protocol": "native"},
            {"id": "cam-h1", "kind": "camera", "protocol": "native"},
        ],
    }
)


def _event(device: str, kind: str, data: object, minutes: int) -> EventRecord:
    at = T0 + timedelta(minutes=minutes)
    return EventRecord(at, at, "mqtt", "t", f"native:{device}", device, "h1", kind, None, None,
                       data, "d")  # type: ignore[arg-type]  # fmt: skip


def test_each_step_is_ticked_at_its_first_sighting_and_old_or_bad_ones_do_not_count():
    """An opening before ``since`` does not count; the first opening after does; a summary of
    bad frames only is no frame; the checklist completes with the camera's first good frame."""
    checks = checklist(H1)
    events = [
        _event("door-h1", "door", DoorData(open=True), -5),
        _event("door-h1", "door", DoorData(open=True), 1),
        _event("door-h1", "door", DoorData(open=True), 2),
        _event("door-h1", "door", DoorData(open=False), 3),
        _event("cam-h1", "frame", FrameData(size=0, frames=0, bad=5), 4),
    ]
    tick_off(checks, events, T0)
    door, cam = checks
    assert door.needs == {
        "door opened": T0 + timedelta(minutes=1),
        "door closed": T0 + timedelta(minutes=3),
    }
    assert door.done and not cam.done
    tick_off(checks, [*events, _event("cam-h1", "frame", FrameData(size=900, frames=1), 6)], T0)
    assert cam.done and cam.needs["a frame"] == T0 + timedelta(minutes=6)
