"""Cameras the gateway reads itself (``protocol: url``): one reader thread each, following the site.

Each reader (``devices.camera_source.PulledCamera``) opens its source with OpenCV, reconnects
with backoff and keeps to the camera's frame rate in its own thread; its frames and faults are
handed to the event loop, into the hub, as a broker's frames are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gateway.camera.hub import CameraHub
from rules.site import Device

if TYPE_CHECKING:
    from devices.camera_source import PulledCamera  # OpenCV: imported by the first reader

log = logging.getLogger("isogate.camera")

FOLLOW_S = 1.0
"""How often the readers are matched with the site."""


async def run_pulled(hub: CameraHub) -> None:
    """Keep a reader running for each pulled camera of the site (the gateway.cameras task)."""
    loop = asyncio.get_running_loop()
    readers: dict[str, tuple[Device, PulledCamera]] = {}

    def start(dev: Device) -> PulledCamera:
        assert dev.source is not None
        from devices.camera_source import PulledCamera

        def on_frame(jpeg: bytes, t: float) -> None:  # in the reader's thread
            loop.call_soon_threadsafe(hub.on_frame, dev.id, jpeg, t)

        def on_fault(reason: str) -> None:
            loop.call_soon_threadsafe(hub.on_fault, dev.id, reason)

        reader = PulledCamera(dev.id, dev.source, fps=dev.fps, on_frame=on_frame, on_fault=on_fault)
        reader.start()
        log.info("camera %s: reading %s", dev.id, dev.source)
        return reader

    try:
        while True:
            wanted = {d.id: d for d in hub.pulled()}
            for cam_id in [c for c in readers if readers[c][0] != wanted.get(c)]:
                _, reader = readers.pop(cam_id)
                await asyncio.to_thread(reader.stop)
            for cam_id, dev in wanted.items():
                if cam_id not in readers:
                    readers[cam_id] = (dev, start(dev))
            await asyncio.sleep(FOLLOW_S)
    finally:
        for _, reader in readers.values():
            await asyncio.to_thread(reader.stop)
