"""What the watch's tick visits: the entities whose deadline has come, not every entity.

Each kind of entity with time-driven rules (doors, door cameras by household, devices' health)
is a :class:`Lane`: its staged states, a pure function giving an entity's deadline from its
state (``rules.door.next_due`` and the like) and a :class:`~rules.deadlines.Deadlines` index. A
tick visits the lane's due entities and those the current step staged; once the step is
installed or discarded, the deadlines of every entity it touched are computed again from the
state then committed. A start or a site reload makes the next tick visit everything (as the
watch always did) and rebuild the indexes from what it left.

Coverage needs no index per household: who covers whom follows from the set of shifts running
(a few to compare per tick), and a household's isolation begins and ends at times kept sorted,
so a tick looks again only at the households whose period began or ended since the last one,
or at all of them when the running shifts changed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar

from rules import camera, door, health
from rules.camera import CameraState
from rules.coverage import shifts_on
from rules.deadlines import Deadlines
from rules.directory import Directory
from rules.door import DoorState
from rules.health import DeviceHealth
from rules.staged import Staged

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Deadline = Callable[[Directory, K, V, datetime | None], datetime | None]
"""An entity's deadline from the site, its key, its state and the time of a visit that left it
as it was (None: no visit)."""


def door_due(
    directory: Directory, dev_id: str, state: DoorState, after: datetime | None
) -> datetime | None:
    """A door's deadline (``rules.door.next_due``); None once unbound."""
    binding = directory.device(dev_id)
    return None if binding is None else door.next_due(state, binding, directory, after)


def camera_due(
    directory: Directory, _household: str, state: CameraState, _after: datetime | None
) -> datetime | None:
    """A household's camera correlation's deadline (``rules.camera.next_due``)."""
    return camera.next_due(state, directory)


def health_due(
    directory: Directory, dev_id: str, state: DeviceHealth, after: datetime | None
) -> datetime | None:
    """A device's health's deadline (``rules.health.next_due``); None once unbound."""
    binding = directory.device(dev_id)
    return None if binding is None else health.next_due(state, binding, directory, after)


class Lane(Generic[K, V]):
    """One kind of entity: its states, how its deadlines follow from them, and their index."""

    def __init__(
        self, states: Staged[K, V], deadline: Deadline[K, V], site: Callable[[], Directory]
    ) -> None:
        self.states = states
        self.deadline = deadline
        self.site = site
        self.index: Deadlines[K] = Deadlines()
        self.visited: set[K] = set()  # by the tick of the current step

    def visit(self, now: datetime, everything: bool) -> list[K]:
        """The keys a tick at ``now`` visits: those due and those staged, or all of them."""
        if everything:
            keys = list(self.states)
        else:
            keys = self.index.due(now)
            if self.states.pending:
                seen = set(keys)
                keys += [k for k in self.states.staged_keys() if k not in seen]
        self.visited.update(keys)
        return keys

    def touched(self) -> list[K]:
        """Keys whose deadline the current step may have moved (read before install/discard)."""
        return [*self.visited, *self.states.staged_keys()]

    def settle(self, keys: list[K], now: datetime | None) -> None:
        """Compute the deadlines of ``keys`` from the committed states; ``now`` is the time of
        the step's tick, after which the keys it visited have nothing due."""
        committed, d, visited = self.states.committed(), self.site(), self.visited
        for key in keys:
            state = committed.get(key)
            after = now if key in visited else None
            self.index.set(key, None if state is None else self.deadline(d, key, state, after))
        visited.clear()

    def rebuild(self, now: datetime | None) -> None:
        """Every deadline from the committed states, all visited at ``now``."""
        d = self.site()
        self.index.rebuild(
            (k, self.deadline(d, k, v, now)) for k, v in self.states.committed().items()
        )
        self.visited.clear()


class Schedule:
    """The lanes of a watch, whether the next tick visits everything, and the coverage's marks.

    Staged as the watch is: what a tick changes here becomes current at ``install`` and is
    forgotten at ``discard``.
    """

    def __init__(self, lanes: list[Lane[str, Any]]) -> None:
        self.lanes = lanes
        self.full = True  # the next tick visits everything: a start, a site reload
        self._full_step = False
        self._tick_at: datetime | None = None  # of the current step's tick
        self._touched: list[list[str]] | None = None
        self._shifts_on: frozenset[int] | None = None
        self._staged_shifts_on: frozenset[int] | None = None
        self._marks: tuple[Directory, list[float], list[str]] | None = None

    def reload(self) -> None:
        """A new site revision: the next tick visits everything, even if this step's tick did
        (it looked with the old site)."""
        self.full = True
        self._full_step = False

    def begin_tick(self, now: datetime) -> bool:
        """A tick at ``now`` starts; True when it visits everything."""
        self._tick_at = now
        self._full_step = self._full_step or self.full
        return self._full_step

    def capture(self) -> None:
        """Note what the step touched, before the watch installs or discards its states."""
        self._touched = [lane.touched() for lane in self.lanes]

    def install(self) -> None:
        """The step committed: the deadlines follow the new states."""
        if self._full_step:
            for lane in self.lanes:
                lane.rebuild(self._tick_at)
            self.full = False
        else:
            self._settle()
        if self._staged_shifts_on is not None:
            self._shifts_on = self._staged_shifts_on
        self._end()

    def discard(self) -> None:
        """The step failed: the deadlines of what it touched follow the states as they were."""
        if not self._full_step:  # after a failed full tick the next one visits everything again
            self._settle()
        else:
            for lane in self.lanes:
                lane.visited.clear()
        self._end()

    def _settle(self) -> None:
        touched = self._touched or [lane.touched() for lane in self.lanes]
        for lane, keys in zip(self.lanes, touched, strict=True):
            lane.settle(keys, self._tick_at)

    def _end(self) -> None:
        self._full_step = False
        self._tick_at = None
        self._touched = None
        self._staged_shifts_on = None

    # --- coverage -------------------------------------------------------------------------------

    def coverage_changes(
        self, directory: Directory, last: datetime | None, now: datetime, everything: bool
    ) -> list[str] | None:
        """The households whose coverage may have changed since the tick at ``last``: those
        whose isolation began or ended since, or None for all of them (the running shifts
        changed, or this tick visits everything)."""
        on = shifts_on(directory, now)
        before = self._staged_shifts_on if self._staged_shifts_on is not None else self._shifts_on
        self._staged_shifts_on = on
        if everything or last is None or now < last or on != before:
            return None
        return self.isolation_changes(directory, last, now)

    def isolation_changes(self, directory: Directory, after: datetime, upto: datetime) -> list[str]:
        """Households whose isolation began or ended in ``(after, upto]``: O(log n + found)."""
        if self._marks is None or self._marks[0] is not directory:
            # Epoch seconds: sorting aware datetimes asks their zones for offsets at every
            # comparison, seconds for a large site.
            marks = sorted(
                (t.timestamp(), hh.id)
                for hh in directory.households.values()
                if hh.isolation is not None
                for t in (hh.isolation.start, hh.isolation.end)
            )
            self._marks = (directory, [t for t, _ in marks], [h for _, h in marks])
        _, times, households = self._marks
        found = households[
            bisect_right(times, after.timestamp()) : bisect_right(times, upto.timestamp())
        ]
        return list(dict.fromkeys(found))
