"""The bus: a console's viewer that falls behind is cut off, never slowed into a gap."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.bus import OVERFLOWED, QUEUE_MAX, Bus, EventStored
from gateway.store.event_data import event_data_from_json

T = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _event(n: int) -> EventStored:
    data = event_data_from_json("heartbeat", {})
    return EventStored("h1", f"dev-{n}", "heartbeat", None, data, T)


def test_a_viewer_that_falls_behind_gets_only_overflowed_while_a_subscriber_keeps_the_newest():
    """QUEUE_MAX items fit; one more and the viewer holds only OVERFLOWED (it must reconnect
    and catch up), while a plain subscriber drops its oldest."""
    bus = Bus()
    with bus.viewer() as viewer, bus.subscribe() as plain:
        for n in range(QUEUE_MAX):
            bus.publish(_event(n))
        assert viewer.qsize() == QUEUE_MAX
        bus.publish(_event(QUEUE_MAX))
        assert viewer.qsize() == 1 and viewer.get_nowait() is OVERFLOWED
        assert plain.qsize() == QUEUE_MAX
        first = plain.get_nowait()
        assert isinstance(first, EventStored) and first.device == "dev-1"
    assert not bus._subscribers
