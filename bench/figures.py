"""One measured figure of a benchmark, beside the limit measured in the same run and the target.

Every benchmark module exposes ``async def figures() -> list[Figure]`` (and still prints its own
lines when run alone); ``python -m bench`` runs them all, prints one table and writes it as JSON
under ``bench/results/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    """A measured value.

    ``group`` heads the table section (e.g. "ingest", "latency @ 10,000 households");
    ``limit`` is the raw limit measured in the same run (the bare client, the peer), if any;
    ``target`` is the issue's target as text (e.g. "≤ 5 ms", "≥ 80 % of limit"), if any;
    ``ok`` says whether the target holds (None when there is none).
    """

    group: str
    name: str
    value: float | None
    unit: str
    limit: float | None = None
    target: str | None = None
    ok: bool | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        """The figure as a JSON object."""
        return asdict(self)


def at_most(value: float | None, bound: float) -> bool | None:
    """Whether a measured value is within an upper bound (None if nothing was measured)."""
    return None if value is None else value <= bound


def at_least(value: float | None, bound: float) -> bool | None:
    """Whether a measured value reaches a lower bound (None if nothing was measured)."""
    return None if value is None else value >= bound


class UnavailableError(Exception):
    """A benchmark cannot run here (a tool it needs is missing); ``python -m bench`` lists it as
    skipped, with this reason, and goes on."""
