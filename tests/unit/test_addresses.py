"""One address rule: decoders, site checks and the directory agree on which device is which."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from devices import ble
from devices.events import DeviceRef, Protocol, address_key, is_mac, normalize_mac
from gateway.site.check import check_site
from rules import site as site_models
from rules.directory import Directory
from rules.site import Interval, Period, Site, VisitWindow

# The ASCII letters and what case folding and upper-casing treat differently ("ı", "ß", "ﬀ").
ID_TEXT = st.text(alphabet="aAbBiIsSıßﬀ0123", min_size=1, max_size=6)


def _site(protocol: str, first: str, second: str) -> Site:
    devices = [
        {"id": f"d{i}", "kind": "door", "protocol": protocol, "address": address}
        for i, address in enumerate((first, second))
    ]
    return Site.model_validate({"households": [{"id": "h1", "address": "x", "devices": devices}]})


def test_there_is_one_mac_rule() -> None:
    """The decoder's and the site model's normalize_mac are the same function, not two copies."""
    assert ble.normalize_mac is normalize_mac
    assert site_models.normalize_mac is normalize_mac
    assert is_mac("a4-c1-38-00-00-01") and not is_mac("a4-c1-38-00-00")


def test_address_keys_by_protocol() -> None:
    """BLE MACs compare normalised, RFLink ids case-insensitively, other addresses exactly."""
    assert address_key(Protocol.BLE, "a4c138000001") == "A4:C1:38:00:00:01"
    rflink = address_key(Protocol.RFLINK, "EV1527:0A1B2C")
    assert rflink == address_key(Protocol.RFLINK, "ev1527:0a1b2c")
    assert address_key(Protocol.ZIGBEE2MQTT, "Door") != address_key(Protocol.ZIGBEE2MQTT, "door")


@given(first=ID_TEXT, second=ID_TEXT)
@example(first="ı", second="i")  # upper() made these one device, casefold() two
def test_the_site_check_and_the_directory_agree_on_rflink_duplicates(
    first: str, second: str
) -> None:
    """Two RFLink addresses are refused as one device exactly when the directory would mix them."""
    site = _site("rflink", f"EV1527:{first}", f"EV1527:{second}")
    duplicate = any("already bound" in e.reason for e in check_site(site, "t.yaml"))
    directory = Directory.build(site)
    found = [directory.bound(DeviceRef(Protocol.RFLINK, f"EV1527:{a}")) for a in (first, second)]
    ids = {binding.device.id for binding in found if binding is not None}
    assert duplicate == (ids != {"d0", "d1"})


def test_isolation_periods_and_visit_windows_share_one_interval() -> None:
    """Both contain their start and not their end, and refuse an end before the start."""
    start, end = datetime(2026, 11, 20), datetime(2026, 11, 21)
    for model in (Period, VisitWindow):
        span = model(start=start, end=end)
        assert isinstance(span, Interval)
        assert span.contains(start) and not span.contains(end)
    with pytest.raises(ValueError, match="isolation end must be after its start"):
        Period(start=end, end=start)
    with pytest.raises(ValueError, match="visit end must be after its start"):
        VisitWindow(start=end, end=start)
