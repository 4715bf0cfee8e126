"""The daily report (每日报告): what happened on one local day, per household under isolation,
with totals per community.

:func:`~gateway.care.daily_facts.gather` reads the day from the store (one query per kind of
fact, for all households at once); :func:`build` is pure: the site, the facts and the report's
time in, the rows out. The report's time ``at`` is now for today and the day's end for a past
day: a reading window counts as missed only once it ended by then.

Per household (``HouseholdRow``): readings taken; reading slots missed (a reading window of that
day that ended while the household was isolated, for each resident with no reading from their
thermometer in it); symptom checks made, missed (the log's marks) and reporting a symptom;
fevers and door breaches raised (each breach with its outcome now and who handled it); devices
offline at the report's time and ``device_offline`` alerts raised; when the next check-in visit
is due and whether it is overdue; service requests made and done; pre-reports; whether it was
released that day. Rows are grouped by community: the site's ``community`` (one site is one
community for now; :func:`community_of` is the one place that says which). The gateway makes
it with :func:`made`, which gives the event loop a turn every few milliseconds meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from gateway.care.daily_facts import DayFacts, by_household, gather
from gateway.store import Store
from gateway.store.care_records import CareWindow, Release
from gateway.store.records import Alert
from gateway.store.reports import Reading
from rules import care
from rules.alerts import AlertStatus, AlertType
from rules.directory import Directory
from rules.readings import residents, windows_of_day
from rules.site import DeviceKind, Household, Site

DEFAULT_COMMUNITY = "社区"
"""The community of a site that names none."""

OUTCOMES = ("resolved_with_note", "resolved", "acknowledged", "open")
"""Where a door breach stands: resolved with a note, resolved without one, acknowledged, open
(escalated is open: nobody took it on)."""


def community_of(site: Site, household: Household) -> str:
    """The community a household's row counts under (the site's for now)."""
    del household  # a household-level community would be read here
    return site.community or DEFAULT_COMMUNITY


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day's start and end (the next day's start), aware."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


@dataclass(frozen=True, slots=True)
class BreachOutcome:
    """One door breach of the day: when (local ``HH:MM``), where it stands, who handled it."""

    at: str
    outcome: str
    by: str | None

    def to_json(self) -> dict[str, Any]:
        """The outcome as the report's JSON has it."""
        return {"at": self.at, "outcome": self.outcome, "by": self.by}


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    """One household's day. The int fields (and the two flags) are summed in the totals."""

    community: str
    household: str
    address: str
    readings: int = 0
    readings_missed: int = 0
    symptom_checks: int = 0
    symptom_checks_missed: int = 0
    symptoms_reported: int = 0
    fevers: int = 0
    breaches: int = 0
    breaches_resolved: int = 0
    breaches_acknowledged: int = 0
    breaches_open: int = 0
    breach_outcomes: tuple[BreachOutcome, ...] = ()
    devices_offline: int = 0
    device_offline_alerts: int = 0
    checkin_due: str | None = None
    """When the next check-in visit is (was) due, local ISO time; None outside isolation."""
    checkin_overdue: bool = False
    services_requested: int = 0
    services_done: int = 0
    prereports: int = 0
    released: bool = False

    def to_json(self) -> dict[str, Any]:
        """The row as the report's JSON has it."""
        doc = {name: getattr(self, name) for name in _ROW_FIELDS}
        doc["breach_outcomes"] = [b.to_json() for b in self.breach_outcomes]
        return doc


_ROW_FIELDS = tuple(f.name for f in fields(HouseholdRow))


SUMMED = tuple(f.name for f in fields(HouseholdRow) if f.type in ("int", "bool"))
"""The row fields a community's totals add up (flags count the households that have them)."""


@dataclass(frozen=True, slots=True)
class CommunityTotals:
    """A community's totals: how many households, and the sums of :data:`SUMMED`."""

    community: str
    households: int
    sums: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The totals as the report's JSON has them."""
        return {"community": self.community, "households": self.households, **self.sums}


@dataclass(frozen=True, slots=True)
class DailyReport:
    """The report of one day, made at ``generated_at`` (rows in household id order)."""

    day: date
    generated_at: datetime
    rows: tuple[HouseholdRow, ...]

    def totals(self) -> list[CommunityTotals]:
        """Per community, in order of first appearance."""
        by: dict[str, list[HouseholdRow]] = {}
        for row in self.rows:
            by.setdefault(row.community, []).append(row)
        return [
            CommunityTotals(
                name, len(rows), {k: sum(int(getattr(r, k)) for r in rows) for k in SUMMED}
            )
            for name, rows in by.items()
        ]

    def to_json(self, tz: ZoneInfo) -> dict[str, Any]:
        """The report's JSON (what the API answers and a generic webhook receives)."""
        return {
            "kind": "daily_report",
            "day": self.day.isoformat(),
            "generated_at": self.generated_at.astimezone(tz).isoformat(timespec="seconds"),
            "communities": [t.to_json() for t in self.totals()],
            "rows": [r.to_json() for r in self.rows],
        }


async def daily_report(
    store: Store,
    directory: Directory,
    day: date,
    now: datetime,
    households: Iterable[str] | None = None,
) -> DailyReport:
    """The report of a local day as it stands at ``now`` (a past day: as the day ended).

    Args:
        store: Where the day is read from.
        directory: The site now.
        day: The local day (not after today).
        now: The gateway's time.
        households: Only these households (a user's scope); None: all.
    """
    start, end = day_bounds(day, directory.tz)
    at = min(now, end)
    wanted = None if households is None else set(households)
    facts = await gather(store, start, at, wanted)
    return await made(day, at, now, directory, facts, wanted)


TURN_S = 0.005
"""The longest the report is made without giving the event loop a turn."""


async def made(
    day: date,
    at: datetime,
    generated_at: datetime,
    directory: Directory,
    facts: DayFacts,
    households: set[str] | None = None,
) -> DailyReport:
    """:func:`build`, giving the event loop a turn at least every :data:`TURN_S`.

    At 50,000 households the report has 10,000 rows or more; made in one go it would hold
    ingest and alerting up for as long as it takes (half a second and more).
    """
    out = []
    clock = perf_counter
    turn_at = clock() + TURN_S
    for row in _walk(day, at, directory, facts, households):
        if row is not None:
            out.append(row)
        if clock() >= turn_at:
            await asyncio.sleep(0)
            turn_at = clock() + TURN_S
    return DailyReport(day, generated_at, tuple(out))


def build(
    day: date,
    at: datetime,
    generated_at: datetime,
    directory: Directory,
    facts: DayFacts,
    households: set[str] | None = None,
) -> DailyReport:
    """The report of ``day`` as it stands at ``at``, from the facts (pure)."""
    return DailyReport(day, generated_at, tuple(rows(day, at, directory, facts, households)))


def rows(
    day: date,
    at: datetime,
    directory: Directory,
    facts: DayFacts,
    households: set[str] | None = None,
) -> Iterator[HouseholdRow]:
    """The report's rows in household id order (pure).

    A household is in it when its isolation period overlaps the day up to ``at`` and it was
    not released before the day began. The facts are split by household once, so a row costs
    its own facts, not the whole day's.
    """
    return (row for row in _walk(day, at, directory, facts, households) if row is not None)


def _walk(
    day: date,
    at: datetime,
    directory: Directory,
    facts: DayFacts,
    households: set[str] | None,
) -> Iterator[HouseholdRow | None]:
    """:func:`rows`, with a None for each household left out and after each step before them:
    the points at which :func:`made` may give the event loop a turn."""
    start, _ = day_bounds(day, directory.tz)
    per = by_household(facts)
    yield None
    ordered = sorted(directory.households.values(), key=lambda h: h.id)
    yield None
    none = DayFacts()
    for hh in ordered:
        iso = hh.isolation
        if (households is not None and hh.id not in households) or (
            iso is None or not (iso.start < at and iso.end > start)
        ):
            yield None
            continue
        mine = per.get(hh.id, none)
        release = next((r for r in mine.releases if r.period_start == iso.start), None)
        if release is not None and release.released_at < start:
            yield None
            continue
        yield _row(hh, day, start, at, directory, mine, release)


def _row(
    hh: Household,
    day: date,
    start: datetime,
    at: datetime,
    directory: Directory,
    facts: DayFacts,
    release: Release | None,
) -> HouseholdRow:
    """One household's row from its own facts."""
    tz = directory.tz
    mine = facts.alerts
    breaches = [a for a in mine if a.type is AlertType.DOOR_BREACH]
    outcomes = tuple(
        BreachOutcome(a.raised_at.astimezone(tz).strftime("%H:%M"), *_outcome(a)) for a in breaches
    )
    checks = facts.checks
    services = facts.services
    due = _checkin_due(hh, directory, facts.windows, at, release)
    released_today = release is not None and start <= release.released_at < at
    return HouseholdRow(
        community=community_of(directory.site, hh),
        household=hh.id,
        address=hh.address,
        readings=len(facts.readings),
        readings_missed=_missed(hh, day, at, directory, facts.readings, release),
        symptom_checks=sum(1 for c in checks if c.symptoms is not None),
        symptom_checks_missed=sum(1 for c in checks if c.symptoms is None),
        symptoms_reported=sum(1 for c in checks if c.symptoms),
        fevers=sum(1 for a in mine if a.type is AlertType.FEVER),
        breaches=len(breaches),
        breaches_resolved=sum(1 for o in outcomes if o.outcome.startswith("resolved")),
        breaches_acknowledged=sum(1 for o in outcomes if o.outcome == "acknowledged"),
        breaches_open=sum(1 for o in outcomes if o.outcome == "open"),
        breach_outcomes=outcomes,
        devices_offline=len({a.device_id for a in facts.offline}),
        device_offline_alerts=sum(1 for a in mine if a.type is AlertType.DEVICE_OFFLINE),
        checkin_due=due.astimezone(tz).isoformat(timespec="minutes") if due else None,
        checkin_overdue=due is not None and due <= at,
        services_requested=sum(1 for s in services if start <= s.requested_at < at),
        services_done=sum(1 for s in services if s.done_at is not None and start <= s.done_at < at),
        prereports=sum(1 for w in facts.windows if w.kind == "prereport"),
        released=released_today,
    )


def _outcome(a: Alert) -> tuple[str, str | None]:
    if a.status is AlertStatus.RESOLVED:
        noted = bool(a.note and a.note.strip())
        return ("resolved_with_note" if noted else "resolved"), a.resolved_by
    if a.status is AlertStatus.ACKNOWLEDGED:
        return "acknowledged", a.acked_by
    return "open", None


def _missed(
    hh: Household,
    day: date,
    at: datetime,
    directory: Directory,
    readings: Sequence[Reading],
    release: Release | None,
) -> int:
    """Reading slots of the day missed: (window, resident) with no reading in the window, for
    every window that ended by ``at`` inside the isolation period (and before a release)."""
    iso = hh.isolation
    assert iso is not None
    thermometers: dict[str, set[str]] = {}
    for dev in hh.devices:
        if dev.kind is DeviceKind.THERMOMETER and dev.resident is not None:
            thermometers.setdefault(dev.resident, set()).add(dev.id)
    taken = readings  # the household's own
    missed = 0
    for w in windows_of_day(directory.policy.reading_windows, day, directory.tz):
        if w.end > at or not (iso.start <= w.start and w.end <= iso.end):
            continue
        if release is not None and release.released_at < w.end:
            continue
        for ref in residents(hh):
            mine = thermometers.get(ref.resident_id, set())
            if not any(r.device_id in mine and w.contains(r.at) for r in taken):
                missed += 1
    return missed


def _checkin_due(
    hh: Household,
    directory: Directory,
    windows: Sequence[CareWindow],
    at: datetime,
    release: Release | None,
) -> datetime | None:
    """When the household's next check-in visit is due as of ``at`` (None: not isolated then,
    or released)."""
    if release is not None and release.released_at <= at:
        return None
    visits = [w.start for w in windows if w.kind == "visit" and w.reason == "checkin"]
    visits += [v.start for v in hh.visits if v.reason == "checkin"]
    last = max((t for t in visits if t <= at), default=None)
    return care.checkin_due(hh, last, directory.policy.checkin_visit_days, at)
