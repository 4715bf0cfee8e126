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
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
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
    """Subscribers each get a bounded queue of stream items.

    A subscriber may take only some kinds of device events (the camera hub: motion); the
    pipeline asks :meth:`wants_event` before it builds an item for an event nobody takes.
    """

    def __init__(self) -> None:
        self._subscribers: dict[asyncio.Queue[Any], tuple[bool, frozenset[str] | None]] = {}
        self._all_events = 0  # subscribers that take every kind of device event
        self._event_kinds: Counter[str] = Counter()  # and those that take some kinds

    def wants_event(self, kind: str) -> bool:
        """Whether any subscriber takes device events of this kind (``EventStored.event``)."""
        return self._all_events > 0 or self._event_kinds[kind] > 0

    def publish(self, item: StreamItem) -> None:
        """Hand an item to every subscriber (a slow one loses its oldest, or is cut off)."""
        event = item.event if isinstance(item, EventStored) else None
        for q, (cut, kinds) in self._subscribers.items():
            if event is not None and kinds is not None and event not in kinds:
                continue
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
    def _subscribed(
        self, q: asyncio.Queue[Any], cut: bool, events: Collection[str] | None
    ) -> Iterator[None]:
        kinds = None if events is None else frozenset(events)
        self._subscribers[q] = (cut, kinds)
        if kinds is None:
            self._all_events += 1
        else:
            self._event_kinds.update(kinds)
        try:
            yield
        finally:
            self._subscribers.pop(q, None)
            if kinds is None:
                self._all_events -= 1
            else:
                self._event_kinds.subtract(kinds)

    @contextlib.contextmanager
    def subscribe(
        self, events: Collection[str] | None = None
    ) -> Iterator[asyncio.Queue[StreamItem]]:
        """A queue that receives everything published while the block runs; of the device
        events, only those of the kinds in ``events`` when given."""
        q: asyncio.Queue[StreamItem] = asyncio.Queue(QUEUE_MAX)
        with self._subscribed(q, False, events):
            yield q

    @contextlib.contextmanager
    def viewer(self) -> Iterator[asyncio.Queue[StreamItem | Overflowed]]:
        """A queue like :meth:`subscribe`'s, which holds only :data:`OVERFLOWED` once more
        than ``QUEUE_MAX`` items wait in it: the viewer missed some and must start again."""
        q: asyncio.Queue[StreamItem | Overflowed] = asyncio.Queue(QUEUE_MAX)
        with self._subscribed(q, True, None):
            yield q
