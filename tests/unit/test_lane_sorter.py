"""Which lane a message waits in: acknowledgements and bound devices' own topics first."""

from __future__ import annotations

import pytest

from gateway.ingest.lanes import Lane, Sorter
from isogate.demo import demo_site
from rules.directory import Directory
from rules.site import Site

SORTER = Sorter("isogate/ack/", "isogate", "zigbee2mqtt")
SITE = Directory.build(demo_site(4))  # h01, h03: zigbee2mqtt doors; h02, h04: native doors


@pytest.mark.parametrize(
    "topic",
    [
        "isogate/ack/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        "isogate/dev/door-h02/event",
        "isogate/dev/door-h04/status",
        "zigbee2mqtt/h01_door",
        "zigbee2mqtt/h03_door/availability",
        "home/OMG_1/BTtoMQTT/A4C138000001",
        "home/OMG_1/BTtoMQTT/a4:c1:38:00:00:02",
    ],
)
def test_acknowledgements_and_bound_devices_are_critical(topic: str) -> None:
    assert SORTER.lane(topic, SITE) is Lane.CRITICAL


@pytest.mark.parametrize(
    "topic",
    [
        "isogate/dev/door-h02/config",  # not an event or a status
        "isogate/dev/door-h01/event",  # h01's door is a zigbee2mqtt device
        "isogate/dev/door-h99/event",  # not bound
        "isogate/dev/" + "x" * 3000 + "/event",
        "zigbee2mqtt/h02_door",
        "zigbee2mqtt/h01_door/set",
        "zigbee2mqtt/bridge/state",
        "home/OMG_1/BTtoMQTT/A4C1380000FF",
        "home/OMG_1/BTtoMQTT/not-a-mac",
        "elsewhere/h01_door",
    ],
)
def test_everything_else_waits_in_bulk(topic: str) -> None:
    assert SORTER.lane(topic, SITE) is Lane.BULK


def test_a_zigbee2mqtt_name_ending_in_availability_is_still_its_device() -> None:
    doc = demo_site(1).model_dump(mode="json", exclude_none=True)
    doc["households"][0]["devices"][0]["address"] = "door/availability"
    site = Directory.build(Site.model_validate(doc))
    assert SORTER.lane("zigbee2mqtt/door/availability", site) is Lane.CRITICAL
    assert SORTER.lane("zigbee2mqtt/door/availability/availability", site) is Lane.CRITICAL
    assert SORTER.lane("zigbee2mqtt/door", site) is Lane.BULK
