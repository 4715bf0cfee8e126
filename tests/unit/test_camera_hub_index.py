"""The camera hub answers per household from an index kept per site revision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.camera.hub import CameraHub
from gateway.camera.preroll import Kept
from gateway.clock import FakeClock, epoch
from rules.directory import Directory
from rules.site import Site
from tests.conftest import site_doc

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def site(extra: list[dict[str, Any]] | None = None) -> Directory:
    """h1 with a camera of its own analysis, h2 with one read from a URL."""
    doc = site_doc()
    doc["households"][0]["devices"].append({"id": "cam-h1", "kind": "camera", "protocol": "mqtt"})
    doc["households"][1]["devices"].append(
        {"id": "cam-h2", "kind": "camera", "protocol": "url", "source": "rtsp://127.0.0.1/h2"}
    )
    doc["households"][1]["devices"].extend(extra or [])
    return Directory.build(Site.model_validate(doc))


def test_a_fresh_frame_lets_its_own_household_see_and_no_other():
    """A good frame of h1's camera: h1 will get evidence, h2 (whose camera sent none) not."""
    clock = FakeClock(T0)
    d = site()
    hub = CameraHub(lambda: d, _no_feed, None, clock, None)
    try:
        assert not hub.can_see("h1") and not hub.can_see("h2")
        preroll = hub.preroll("cam-h1")
        assert preroll is not None
        preroll.add(Kept(epoch(T0), b"jpeg"))
        assert hub.can_see("h1")
        assert not hub.can_see("h2")
        clock.advance(31)  # older than FRESH_S
        assert not hub.can_see("h1")
    finally:
        hub.close()


def test_the_pulled_cameras_follow_the_site():
    """The cameras read here are those of the site in use, found again when it changes."""
    d = site()
    current = [d]
    hub = CameraHub(lambda: current[0], _no_feed, None, FakeClock(T0), None)
    try:
        assert [dev.id for dev in hub.pulled()] == ["cam-h2"]
        url = {"kind": "camera", "protocol": "url", "source": "rtsp://127.0.0.1/h2b"}
        current[0] = site([{"id": "cam-h2b", **url}])
        assert [dev.id for dev in hub.pulled()] == ["cam-h2", "cam-h2b"]
    finally:
        hub.close()


async def _no_feed(_arrivals: list[Any]) -> None:
    raise AssertionError("nothing is fed in these tests")
