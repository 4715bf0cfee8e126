"""In-process fan-out of what just happened (alert changes, device events) to live viewers.

Only committed facts are published; nothing that subscribes ever slows the pipeline. A
subscriber that falls ``QUEUE_MAX`` items behind loses its oldest items, or, subscribed with
``cut=True`` (a console's stream, which promises no gap), gets :data:`OVERFLOWED` in place of
everything it had not read: it is to close, and its client to reconnect and catch up from the
store, which stays the record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.store.event_data import EventData
from gateway.store.records import Alert

QUEUE_MAX = 1000


@dataclass(frozen=True, slots=True)
class AlertChanged:
    """An alert was raised, repeated, escalated, acknowledged or resolved.

    ``payload`` is the alert as SPEC §3 publishes it (the desk renders it with the site's
    address, timezone and snapshot link), so the stream shows what the broker carries.
    """

    alert: Alert
    payload: Mapping[str, Any]

    @property
    def household(self) -> str:
        """Whose alert: viewers see only their households'."""
        return self.alert.household_id

    def to_json(self) -> dict[str, Any]:
        """The stream's JSON: ``{"kind": "alert", "household", "alert"}``."""
        return {"kind": "alert", "household": self.household, "alert": dict(self.payload)}


@dataclass(frozen=True, slots=True)
class EventStored:
    """A device event was committed to the log. ``ts`` is already in the site's timezone."""

    household: str | None
    device: str | None
    event: str
    report: str | None
    data: EventData
    ts: datetime

    def to_json(self) -> dict[str, Any]:
        """The stream's JSON: ``{"kind": "event", "household", "device", "event", ...}``."""
        return {
            "kind": "event",
            "household": self.household,
            "device": self.device,
            "event": self.event,
            "report": self.report,
            "data": self.data.to_json(),
            "ts": self.ts.isoformat(timespec="milliseconds"),
        }


@dataclass(frozen=True, slots=True)
class CareChanged:
    """Paperwork of a household changed: a pre-report, a symptom check, a service request or
    its completion, a visit, a notice receipt, a sign-off, a release. ``data`` is what the
    console shows (never a resident's name: the page that caused it knows none)."""

    household: str
    what: str
    data: Mapping[str, Any]
    ts: datetime

    def to_json(self) -> dict[str, Any]:
        """The stream's JSON: ``{"kind": "care", "household", "what", "data", "ts"}``."""
        return {
            "kind": "care",
            "household": self.household,
            "what": self.what,
            "data": dict(self.data),
            "ts": self.ts.isoformat(timespec="milliseconds"),
        }


StreamItem = AlertChanged | EventStored | CareChanged
"""What the bus carries."""


class Overflowed:
    """What a cut subscriber finds in its queue once it fell too far behind."""


OVERFLOWED = Overflowed()


class Bus:
    """Subscribers each get a bounded queue of stream items."""

    def __init__(self) -> None:
        self._subscribers: dict[asyncio.Queue[Any], bool] = {}

    def publish(self, item: StreamItem) -> None:
        """Hand an item to every subscriber (a slow one loses its oldest, or is cut off)."""
        for q, cut in self._subscribers.items():
            if q.full():
                if cut:
                    while not q.empty():
                        q.get_nowait()
                    q.put_nowait(OVERFLOWED)
                    continue
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(item)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[StreamItem]]:
        """A queue that receives everything published while the block runs."""
        q: asyncio.Queue[StreamItem] = asyncio.Queue(QUEUE_MAX)
        self._subscribers[q] = False
        try:
            yield q
        finally:
            self._subscribers.pop(q, None)

    @contextlib.contextmanager
    def viewer(self) -> Iterator[asyncio.Queue[StreamItem | Overflowed]]:
        """A queue like :meth:`subscribe`'s, which holds only :data:`OVERFLOWED` once more
        than ``QUEUE_MAX`` items wait in it: the viewer missed some and must start again."""
        q: asyncio.Queue[StreamItem | Overflowed] = asyncio.Queue(QUEUE_MAX)
        self._subscribers[q] = True
        try:
            yield q
        finally:
            self._subscribers.pop(q, None)
