"""When each entity of the watch is next due: a heap, so that a tick costs what is due.

The time-driven rules (a door left open, a device gone silent, a camera's motion run no opening
claimed) act on an entity only once a time that follows from its state has come. The watch
keeps, per entity, the earliest such time (its *deadline*), computed by a pure function of the
entity's committed state, and asks :class:`Deadlines` at each tick which entities are due.

A deadline may be early, never late: an entity visited before anything is due for it is left as
it was, and its deadline computed again. So the index need not follow every staged change: the
watch computes the deadlines of the entities a step changed or visited once the step is
installed (from the new committed state) or discarded (from the old one, which the step left
untouched), and a failed commit cannot lose a deadline.

Memory: one entry per entity with a deadline in each of two dicts, and at most
``2 × entities + 64`` heap entries (stale ones are compacted away), so O(entities).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

EARLIEST = datetime.min.replace(tzinfo=UTC)
"""A deadline that has always passed: due at the next tick, whenever that is."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _us(t: datetime) -> int:
    """Microseconds since the epoch: exact, and far cheaper to compare than aware datetimes
    (each comparison of those asks both zones for their offset)."""
    return (t - _EPOCH) // _US


_SLACK = 64
"""Stale heap entries tolerated beyond one per live entry before the heap is rebuilt."""


class Deadlines(Generic[K]):
    """Deadlines by key, the earliest first.

    ``set`` moves a key's deadline (O(1) when it moves later, O(log n) when earlier); ``due``
    hands out, and takes out of the queue, the keys whose deadline has come. Each key has at
    most one live heap entry, no later than its deadline: a deadline that moves later leaves
    the entry where it is, and the entry, once it comes up, is put back at the deadline then.
    """

    def __init__(self) -> None:
        self._us: dict[K, int] = {}  # each key's deadline, in microseconds since the epoch
        self._queued: dict[K, int] = {}  # the time of each key's live heap entry
        self._heap: list[tuple[int, int, K]] = []
        self._order = itertools.count()  # ties in time go first in, first out

    def __len__(self) -> int:
        """How many keys have a deadline."""
        return len(self._us)

    def __iter__(self) -> Iterator[K]:
        """The keys that have a deadline."""
        return iter(self._us)

    def get(self, key: K) -> datetime | None:
        """A key's deadline (in UTC), or None."""
        us = self._us.get(key)
        return None if us is None else _EPOCH + us * _US

    def set(self, key: K, at: datetime | None) -> None:
        """Give ``key`` the deadline ``at`` (None: nothing is ever due for it)."""
        if at is None:
            self._us.pop(key, None)
            return  # its heap entry, if any, is dropped when it comes up
        us = _us(at)
        self._us[key] = us
        queued = self._queued.get(key)
        if queued is None or us < queued:
            self._push(key, us)

    def clear(self) -> None:
        """Forget every key."""
        self._us.clear()
        self._queued.clear()
        self._heap.clear()

    def due(self, now: datetime) -> list[K]:
        """The keys whose deadline is at or before ``now``, earliest first.

        They leave the queue (their deadline stays known): the caller visits each and then
        ``set``s its next deadline, or ``set``s it again as it was when the visit is undone.
        """
        out: list[K] = []
        heap, upto = self._heap, _us(now)
        while heap and heap[0][0] <= upto:
            t, _, key = heapq.heappop(heap)
            if self._queued.get(key) != t:
                continue  # stale: the key was pushed again earlier
            del self._queued[key]
            us = self._us.get(key)
            if us is None:
                continue
            if us > upto:
                self._push(key, us)  # it moved later meanwhile
                continue
            out.append(key)
        return out

    def rebuild(self, deadlines: Iterable[tuple[K, datetime | None]]) -> None:
        """Replace every deadline at once: O(n), for a site reload or a start."""
        self.clear()
        for key, at in deadlines:
            if at is not None:
                self._us[key] = _us(at)
        self._queued = dict(self._us)
        self._heap = [(us, next(self._order), key) for key, us in self._us.items()]
        heapq.heapify(self._heap)

    def _push(self, key: K, us: int) -> None:
        self._queued[key] = us
        heapq.heappush(self._heap, (us, next(self._order), key))
        if len(self._heap) > 2 * len(self._queued) + _SLACK:
            self._compact()

    def _compact(self) -> None:
        """Drop the stale heap entries: amortised O(1) per push, as it takes n pushes to need."""
        self._heap = [(t, n, k) for t, n, k in self._heap if self._queued.get(k) == t]
        heapq.heapify(self._heap)
