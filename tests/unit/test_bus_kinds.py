"""The bus: a subscriber that takes some kinds of device events gets those (and every alert)."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.bus import AlertChanged, Bus, EventStored
from gateway.store.event_data import DoorData, event_data_from_json
from tests.samples import breach_alert

T = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _door() -> EventStored:
    return EventStored("h1", "door-h1", "door", "change", DoorData(open=True), T)


def _motion() -> EventStored:
    data = event_data_from_json("motion", {"active": True})
    return EventStored("h1", "cam-h1", "motion", "motion", data, T)


def test_a_subscriber_of_motion_gets_motion_and_alerts_not_doors():
    """The camera hub's subscription: motion events and alert changes reach it, doors do not;
    a console's viewer gets everything."""
    bus = Bus()
    alert = breach_alert(T)
    with bus.subscribe(events={"motion"}) as hub, bus.viewer() as console:
        for item in (_door(), _motion(), AlertChanged(alert, {"id": alert.id})):
            bus.publish(item)
        assert [type(hub.get_nowait()).__name__ for _ in range(hub.qsize())] == [
            "EventStored",
            "AlertChanged",
        ]
        assert console.qsize() == 3


def test_nobody_wants_a_kind_once_its_subscribers_are_gone():
    """The pipeline asks before building an item: no subscriber, no door events wanted."""
    bus = Bus()
    assert not bus.wants_event("door")
    with bus.subscribe(events={"motion"}):
        assert bus.wants_event("motion") and not bus.wants_event("door")
        with bus.viewer():
            assert bus.wants_event("door")
        assert not bus.wants_event("door")
    assert not bus.wants_event("motion")
