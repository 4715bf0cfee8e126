"""Sequence numbers per device: a repeated ``(device, seq)`` is a duplicate, a restart is not.

Each bound device has a window over its newest ``WINDOW`` sequence numbers, as a bit mask
below the highest one seen (the anti-replay window of IPsec and DTLS): about a hundred bytes
per device whatever it sends, and only bound devices get one, so memory is bounded by the site.

A number far below the window is not an old duplicate but a device that rebooted and counts
again from zero: the window restarts there. A number inside the window that was seen before
is only a *candidate* duplicate — the caller compares the payload with the stored one, since a
device that restarted its count also repeats recent numbers, with new content.

Changes are staged and made current only when the transaction that stores the events commits
(:meth:`SeqMemory.install`); :meth:`SeqMemory.discard` drops them when it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

WINDOW = 256


class SeqVerdict(StrEnum):
    """What a sequence number is, against what the device sent before."""

    NEW = "new"
    SEEN = "seen"  # inside the window and seen: a duplicate unless its content differs
    RESET = "reset"  # far below the window: the device restarted its count


@dataclass(frozen=True, slots=True)
class SeqWindow:
    """The highest number seen and which of the ``WINDOW`` below it were seen (bit i: top-i)."""

    top: int
    seen: int

    def verdict(self, seq: int) -> SeqVerdict:
        """What ``seq`` is for this window."""
        if seq > self.top:
            return SeqVerdict.NEW
        back = self.top - seq
        if back >= WINDOW:
            return SeqVerdict.RESET
        return SeqVerdict.SEEN if self.seen >> back & 1 else SeqVerdict.NEW

    def add(self, seq: int) -> SeqWindow:
        """The window after accepting ``seq``."""
        if seq > self.top:
            shift = seq - self.top
            seen = (self.seen << shift | 1) if shift < WINDOW else 1
            return SeqWindow(seq, seen & ((1 << WINDOW) - 1))
        back = self.top - seq
        if back >= WINDOW:  # a restart: count from here
            return SeqWindow(seq, 1)
        return SeqWindow(self.top, self.seen | 1 << back)


class SeqMemory:
    """Sequence windows of bound devices, with staged changes."""

    def __init__(self) -> None:
        self._windows: dict[str, SeqWindow] = {}
        self._staged: dict[str, SeqWindow | None] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def _get(self, device_key: str) -> SeqWindow | None:
        if device_key in self._staged:
            return self._staged[device_key]
        return self._windows.get(device_key)

    def verdict(self, device_key: str, seq: int) -> SeqVerdict:
        """What ``seq`` is for this device (staged changes included)."""
        window = self._get(device_key)
        return SeqVerdict.NEW if window is None else window.verdict(seq)

    def add(self, device_key: str, seq: int) -> None:
        """Stage an accepted ``(device, seq)``."""
        window = self._get(device_key)
        self._staged[device_key] = SeqWindow(seq, 1) if window is None else window.add(seq)

    def forget(self, device_key: str) -> None:
        """Stage forgetting a device's numbers (it announced a restart)."""
        self._staged[device_key] = None

    def install(self) -> None:
        """The events were committed: make the staged numbers current."""
        for key, window in self._staged.items():
            if window is None:
                self._windows.pop(key, None)
            else:
                self._windows[key] = window
        self._staged.clear()

    def discard(self) -> None:
        """The commit failed: forget what was staged."""
        self._staged.clear()

    def keep_only(self, bound: Callable[[str], bool]) -> None:
        """Drop the windows of devices no longer bound (a new site revision)."""
        self._windows = {k: w for k, w in self._windows.items() if bound(k)}
