"""Snapshots of Frigate's events: fetched when Frigate reports a person, kept like a frame.

A Frigate camera sends no frames to the gateway; Frigate keeps a snapshot of each tracked
object, served at ``<frigate>/api/events/<id>/snapshot.jpg`` (the camera's ``source:``). When a
motion event of a Frigate camera is stored, its snapshot is fetched (a few tries, as Frigate may
not have one at the object's first report), checked as a JPEG, and kept in the camera's
pre-roll and any open evidence capture of its household, so a door alert gets the picture.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from urllib.parse import quote

import httpx

from devices.events import Protocol
from gateway.bus import EventStored
from gateway.camera.captures import Captures
from gateway.camera.preroll import Kept, PreRoll
from gateway.camera.recent import Recent
from gateway.clock import epoch
from gateway.store.event_data import MotionData
from rules.directory import Directory

log = logging.getLogger("isogate.camera")

TRIES = 3
"""Fetches of one event's snapshot at most (one per stored report of it)."""
REMEMBERED = 1024
"""Frigate event ids remembered, with how often their snapshot was tried."""
IN_FLIGHT = 8
"""Fetches running at once; past it a report's fetch is skipped (a later report tries again)."""


class FrigateSnapshots:
    """Fetches the snapshots of Frigate cameras' motion events."""

    def __init__(
        self,
        directory: Callable[[], Directory],
        prerolls: Callable[[str], PreRoll | None],
        captures: Captures | None,
        *,
        timeout_s: float = 5.0,
    ) -> None:
        """Snapshots kept in ``prerolls(camera)`` and ``captures``' open captures."""
        self.directory = directory
        self.prerolls = prerolls
        self.captures = captures
        self.timeout_s = timeout_s
        self._tried: Recent[str, int] = Recent(REMEMBERED)
        self._tasks: set[asyncio.Task[None]] = set()

    def on_event(self, item: EventStored) -> None:
        """A stored event: a Frigate camera's person report starts a fetch of its snapshot."""
        data = item.data
        if item.event != "motion" or not isinstance(data, MotionData) or not data.active:
            return
        binding = self.directory().device(item.device or "")
        if binding is None or data.ref is None:
            return
        dev = binding.device
        if dev.protocol is not Protocol.FRIGATE or not dev.source:
            return
        tries = self._tried.get(data.ref) or 0
        if tries >= TRIES or len(self._tasks) >= IN_FLIGHT:
            return
        self._tried.put(data.ref, tries + 1)
        url = f"{dev.source.rstrip('/')}/api/events/{quote(data.ref, safe='')}/snapshot.jpg"
        task = asyncio.create_task(
            self._fetch(url, data.ref, dev.id, binding.household.id, epoch(item.ts))
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, url: str, ref: str, camera: str, household: str, t: float) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(url)
        except httpx.HTTPError as exc:
            log.warning("camera %s: Frigate snapshot %s not fetched: %s", camera, ref, exc)
            return
        if response.status_code != 200:
            return  # none yet: a later report of the same object tries again
        jpeg = response.content
        refused = await asyncio.to_thread(_refusal, jpeg)
        if refused is not None:
            log.warning("camera %s: Frigate snapshot %s refused: %s", camera, ref, refused)
            return
        self._tried.put(ref, TRIES)  # got it
        kept = Kept(t, jpeg, 1.0)
        ring = self.prerolls(camera)
        if ring is not None:
            ring.add(kept)
        if self.captures is not None:
            await asyncio.to_thread(self.captures.add_live, household, camera, kept)

    async def close(self) -> None:
        """Stop the fetches under way."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _refusal(jpeg: bytes) -> str | None:
    """Why a snapshot cannot be decoded, or None (in a worker thread: OpenCV loads on first use)."""
    from devices.camera import AnalysisFrame, decode_for_analysis

    frame = decode_for_analysis(jpeg)
    return None if isinstance(frame, AnalysisFrame) else frame.reason
