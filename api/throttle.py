"""Failed logins slowed down per client address: a pure, bounded book with time as an argument.

The first few failures cost nothing (a mistyped token); after that each failure makes the
address wait before its next try, twice as long each time up to a cap, and a try before then is
refused (429 with Retry-After) without the token being looked at. The book forgets an address
a while after its last failure, and after a success.

Memory is bounded: at most ``max_clients`` addresses are kept; past that, the address whose last
failure is oldest is forgotten first. (An attacker with more addresses than that could make the
book forget one; each of their addresses is still slowed down on its own.)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_FAILURES = 3
"""Failures from one address that cost no wait."""

FIRST_WAIT_S = 1.0
"""The wait after the first failure past the free ones; it doubles with each further failure."""

LONGEST_WAIT_S = 300.0
"""The longest wait between two tries from one address."""

FORGET_AFTER_S = 900.0
"""An address with no failure for this long starts afresh."""

MAX_CLIENTS = 4096
"""How many addresses the book holds at most (about 100 bytes each)."""


@dataclass(slots=True)
class _Failures:
    count: int
    last: datetime
    not_before: datetime


class LoginThrottle:
    """Failed logins per client address, and how long each must wait before its next try."""

    def __init__(
        self,
        *,
        free: int = FREE_FAILURES,
        first_wait_s: float = FIRST_WAIT_S,
        longest_wait_s: float = LONGEST_WAIT_S,
        forget_after_s: float = FORGET_AFTER_S,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.free = free
        self.first_wait_s = first_wait_s
        self.longest_wait_s = longest_wait_s
        self.forget_after = timedelta(seconds=forget_after_s)
        self.max_clients = max_clients
        self._book: OrderedDict[str, _Failures] = OrderedDict()

    def __len__(self) -> int:
        return len(self._book)

    def delay_after(self, failures: int) -> float:
        """Seconds an address must wait after its ``failures``-th failure in a row."""
        past = failures - self.free
        if past <= 0:
            return 0.0
        # min() before the power: 2 ** 5000 would not fit a float.
        return min(self.longest_wait_s, self.first_wait_s * 2.0 ** min(past - 1, 64))

    def retry_after(self, client: str, now: datetime) -> int:
        """Whole seconds ``client`` must still wait before a try (0: it may try now)."""
        f = self._current(client, now)
        if f is None or f.not_before <= now:
            return 0
        return max(1, math.ceil((f.not_before - now).total_seconds()))

    def failed(self, client: str, now: datetime) -> int:
        """Count a failed try of ``client``; returns its failures in a row."""
        f = self._current(client, now)
        count = 1 if f is None else f.count + 1
        wait = timedelta(seconds=self.delay_after(count))
        self._book[client] = _Failures(count, now, now + wait)
        self._book.move_to_end(client)
        while len(self._book) > self.max_clients:
            self._book.popitem(last=False)
        return count

    def succeeded(self, client: str) -> None:
        """A good login: the address starts afresh."""
        self._book.pop(client, None)

    def _current(self, client: str, now: datetime) -> _Failures | None:
        f = self._book.get(client)
        if f is not None and now - f.last >= self.forget_after and now >= f.not_before:
            del self._book[client]
            return None
        return f
