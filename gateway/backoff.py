"""Capped full-jitter backoff, the one retry curve of the gateway (reconnects, deliveries)."""

from __future__ import annotations

import random

_RNG = random.Random()


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before try ``attempt`` + 1: uniform in [0, min(cap, base·2^(attempt-1))].

    Full jitter spreads many clients apart after a shared outage (a broker restart).
    """
    if attempt <= 0:
        return 0.0
    return (rng or _RNG).uniform(0.0, min(cap, base * 2 ** min(attempt - 1, 30)))
