"""What the gateway knows of its own health, part by part, for ``/healthz`` and the logs.

Each part (``broker``, ``database``, ``ingest``, one per supervised task) is up or down with a
reason and since when. Parts report themselves; a change is logged once per transition, and
"recovered" once. ``/healthz`` answers 503 while any part is down and says which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("isogate.health")


@dataclass(frozen=True, slots=True)
class PartHealth:
    """One part's state: ``ok`` with the reason it is not, and since when."""

    name: str
    ok: bool
    reason: str | None
    since: datetime


class Health:
    """The parts of a running gateway and whether each is up."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._parts: dict[str, PartHealth] = {}
        self._probes: dict[str, Callable[[], str | None]] = {}

    def up(self, part: str) -> None:
        """``part`` works (again)."""
        self._set(part, True, None)

    def down(self, part: str, reason: str) -> None:
        """``part`` does not work, and why."""
        self._set(part, False, reason)

    def probe(self, part: str, check: Callable[[], str | None]) -> None:
        """A part judged when asked: ``check`` returns None when it is fine, else the reason."""
        self._probes[part] = check

    def _set(self, part: str, ok: bool, reason: str | None) -> None:
        was = self._parts.get(part)
        if was is not None and was.ok == ok and was.reason == reason:
            return
        if was is None or was.ok != ok:
            if ok and was is not None:
                log.warning("%s recovered", part)
            elif not ok:
                log.error("%s is down: %s", part, reason)
        since = was.since if was is not None and was.ok == ok else self._now()
        self._parts[part] = PartHealth(part, ok, reason, since)

    def parts(self) -> list[PartHealth]:
        """Every part, probes judged now, by name."""
        for part, check in self._probes.items():
            reason = check()
            self._set(part, reason is None, reason)
        return sorted(self._parts.values(), key=lambda p: p.name)

    def ok(self) -> bool:
        """Whether every part is up."""
        return all(p.ok for p in self.parts())
