"""Requests to the resident's page counted per link and per client address: pure, bounded books
with time as an argument (as :mod:`api.throttle` is for logins).

The page at ``/r/<secret>`` takes no login: its secret is its only key. So it is rate-limited:

- per client address, every request: ``PER_CLIENT`` a minute;
- per household link (a good secret), every request: ``PER_LINK`` a minute;
- per client address, wrong secrets (someone guessing): after ``GUESSES`` wrong ones in a row
  the address gets nothing but 429, on any link, until it earned one back
  (``GUESS_PERIOD_S / GUESSES``), and from then on may guess only at that pace.

Each is a token bucket: a key starts with ``limit`` tokens, spends one per request and earns
them back at ``limit`` per ``period``; a request with no token left is refused with the seconds
until the next one (Retry-After). A bucket that is full again is as good as forgotten.

Memory is bounded: each book holds at most ``max_keys`` keys (a few hundred bytes each, under
1 MB a book at the default 4096); past that, the key used least recently is
forgotten first. An attacker with more addresses than that could make the book forget one;
each of their addresses is still limited on its own. Phones behind one carrier NAT share an
address: ``PER_CLIENT`` is set well above what one household's page asks for.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

PER_LINK = 30
"""Requests a minute for one household's link."""

PER_CLIENT = 60
"""Requests a minute from one client address."""

GUESSES = 10
"""Wrong secrets from one address within ``GUESS_PERIOD_S`` before it is refused."""

GUESS_PERIOD_S = 600.0
"""The period over which wrong secrets are counted (and earned back)."""

MAX_KEYS = 4096
"""How many keys each book holds at most."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime
    refused: bool = False  # refused since its last allowed request (logged once)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A book's answer: ``wait`` seconds before the next request (0: allowed now), and whether
    this is the first refusal since the key was last allowed (worth a log line)."""

    wait: int = 0
    first_refusal: bool = False

    def __bool__(self) -> bool:
        """True when refused."""
        return self.wait > 0


ALLOWED = Verdict()


class RateBook:
    """At most ``limit`` requests per ``period_s`` for each key (a token bucket per key)."""

    def __init__(self, limit: int, period_s: float, *, max_keys: int = MAX_KEYS) -> None:
        if limit < 1 or period_s <= 0:
            raise ValueError("a rate needs a limit of at least 1 and a positive period")
        self.limit = limit
        self.rate = limit / period_s  # tokens earned back per second
        self.max_keys = max_keys
        self._book: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._book)

    def hit(self, key: str, now: datetime) -> Verdict:
        """Count a request of ``key``: ALLOWED, or refused with the seconds to wait."""
        b = self._refill(key, now)
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            b.refused = False
            return ALLOWED
        return self._refuse(b)

    def check(self, key: str, now: datetime) -> Verdict:
        """Whether ``key`` has a token left, without spending one."""
        b = self._book.get(key)
        if b is None:
            return ALLOWED
        b = self._refill(key, now)
        return ALLOWED if b.tokens >= 1.0 else self._refuse(b)

    def _refuse(self, b: _Bucket) -> Verdict:
        first = not b.refused
        b.refused = True
        return Verdict(max(1, math.ceil((1.0 - b.tokens) / self.rate)), first)

    def _refill(self, key: str, now: datetime) -> _Bucket:
        b = self._book.get(key)
        if b is None:
            b = self._book[key] = _Bucket(float(self.limit), now)
            while len(self._book) > self.max_keys:
                self._book.popitem(last=False)
        else:
            # A clock that went back earns nothing (and takes nothing away).
            elapsed = max(0.0, (now - b.at).total_seconds())
            b.tokens = min(float(self.limit), b.tokens + elapsed * self.rate)
            b.at = max(b.at, now)
            self._book.move_to_end(key)
        return b


class ResidentThrottle:
    """The resident page's three books: per address, per link, and wrong secrets per address."""

    def __init__(
        self,
        *,
        per_link: int = PER_LINK,
        per_client: int = PER_CLIENT,
        guesses: int = GUESSES,
        guess_period_s: float = GUESS_PERIOD_S,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.links = RateBook(per_link, 60.0, max_keys=max_keys)
        self.clients = RateBook(per_client, 60.0, max_keys=max_keys)
        self.guesses = RateBook(guesses, guess_period_s, max_keys=max_keys)

    def client(self, client: str, now: datetime) -> Verdict:
        """A request from ``client``: refused while it is marked as guessing, or over its rate
        (a refused request is not counted against its rate)."""
        guessing = self.guesses.check(client, now)
        if guessing:
            return guessing
        return self.clients.hit(client, now)

    def wrong_secret(self, client: str, now: datetime) -> None:
        """``client`` named a secret that opens nothing."""
        self.guesses.hit(client, now)

    def link(self, household: str, now: datetime) -> Verdict:
        """A request with a good secret, counted against its household's link."""
        return self.links.hit(household, now)
