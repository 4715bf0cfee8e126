"""The isolation's care rules: announced openings, symptoms, vulnerable residents, visits due,
and the order of the sign-offs that release a household. Pure: time is an argument.

A household's ``CareState`` holds the authorized openings that do not come from the site file (a
resident's pre-report from the QR page, a visit staff entered at the console) and, once released,
when. The door rule asks it whether an opening was announced; the watch asks it whether a
household was released (then nothing about it alerts any more).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.alerts import AlertType, Raise
from rules.directory import Directory
from rules.site import Household, Role

SYMPTOMS: dict[str, str] = {
    "fever": "发热",
    "dry_cough": "干咳",
    "fatigue": "乏力",
    "sore_throat": "咽痛",
    "smell_taste_loss": "嗅(味)觉减退",
    "diarrhea": "腹泻",
}
"""The twice-daily symptom check (seed plan 000), key → what the page and the alert say."""

VULNERABLE: dict[str, str] = {
    "elderly_alone": "独居老人",
    "chronic_illness": "慢性病",
    "pregnancy": "孕妇",
    "dialysis": "透析",
}
"""Register flags that make a resident vulnerable: marked on every alert, escalated sooner."""

PREREPORT_REASONS: dict[str, str] = {
    "garbage": "倒垃圾",
    "delivery": "取物资/快递",
    "medical": "就医",
    "other": "其他",
}
"""Why a resident announces an opening (the page's short list)."""

SERVICE_KINDS: dict[str, str] = {"supplies": "代购生活用品", "garbage": "清运生活垃圾"}
"""Daily services a resident can ask for (seed plan 001)."""

VISIT_REASONS: dict[str, str] = {
    "sampling": "核酸采样",
    "delivery": "送物资",
    "checkin": "上门核实",
    "doctor": "医生随访",
    "other": "其他",
}
"""Visits staff enter at the console; ``checkin`` is the visit due every few days."""

SIGNOFF_ORDER: tuple[Role, ...] = (Role.DOCTOR, Role.OFFICER, Role.SUPERVISOR, Role.WATCHER)
"""Who signs towards release, in turn: the doctor confirms the temperature log, the officer and
the cadre sign, and the control staff (the watcher) removes the seal, which releases."""

FAST_TYPES = frozenset({AlertType.MISSED_READING, AlertType.SYMPTOM})
"""Alert types that escalate at half the timeout for a vulnerable resident."""

_KEEP = timedelta(days=2)  # windows that ended longer ago than this are forgotten


@dataclass(frozen=True, slots=True)
class Opening:
    """An authorized opening: ``kind`` prereport or visit; start inclusive, end exclusive."""

    start: datetime
    end: datetime
    kind: str
    reason: str

    def contains(self, t: datetime) -> bool:
        """Whether ``t`` falls in it."""
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class CareState:
    """One household's announced openings and visits, and its release (period start, when)."""

    windows: tuple[Opening, ...] = ()
    released: tuple[datetime, datetime] | None = None


class CareRefusedError(Exception):
    """A resident's or staff member's request the rules refuse; ``code`` is the HTTP status."""

    def __init__(self, message: str, code: int = 409) -> None:
        super().__init__(message)
        self.code = code


def with_window(state: CareState, opening: Opening, now: datetime) -> CareState:
    """The state with one more window; those ended long ago are dropped."""
    kept = tuple(w for w in state.windows if w.end > now - _KEEP)
    return replace(state, windows=(*kept, opening))


def authorized_by(state: CareState | None, at: datetime) -> Opening | None:
    """The window that authorizes an opening at ``at``, visits before pre-reports."""
    if state is None:
        return None
    found = [w for w in state.windows if w.contains(at)]
    found.sort(key=lambda w: w.kind != "visit")
    return found[0] if found else None


def prereports_on(state: CareState | None, day: date, tz: ZoneInfo) -> int:
    """How many openings the household announced on a local day."""
    if state is None:
        return 0
    return sum(
        1 for w in state.windows if w.kind == "prereport" and w.start.astimezone(tz).date() == day
    )


def prereport(
    state: CareState | None, household: Household, reason: str, directory: Directory, now: datetime
) -> Opening:
    """The window a resident's announcement opens now.

    Raises:
        CareRefusedError: 422 for an unknown reason, 409 when the household is not under isolation
            or released, 429 when the day's announcements are used up.
    """
    if reason not in PREREPORT_REASONS:
        raise CareRefusedError(f"unknown reason {reason!r}", 422)
    under_isolation(household, state, now)
    policy = directory.policy
    if prereports_on(state, now.astimezone(directory.tz).date(), directory.tz) >= (
        policy.prereports_per_day
    ):
        raise CareRefusedError(
            f"the {policy.prereports_per_day} announced openings of today are used up", 429
        )
    end = now + timedelta(minutes=policy.prereport_minutes)
    return Opening(now, end, "prereport", reason)


def under_isolation(household: Household, state: CareState | None, now: datetime) -> None:
    """Raise CareRefusedError (409) unless the household is under isolation now."""
    if released(household, state):
        raise CareRefusedError(f"household {household.id} is released")
    if household.isolation is None or not household.isolation.contains(now):
        raise CareRefusedError(f"household {household.id} is not under isolation now")


def released(household: Household | None, state: CareState | None) -> bool:
    """Whether the household's current isolation period ended in a release."""
    if household is None or state is None or state.released is None:
        return False
    iso = household.isolation
    return iso is not None and state.released[0] == iso.start


def release_due(household: Household, state: CareState | None, now: datetime) -> bool:
    """A household whose isolation period has ended and that is not yet released."""
    iso = household.isolation
    return iso is not None and now >= iso.end and not released(household, state)


def vulnerable_flags(household: Household, resident: str | None) -> tuple[str, ...]:
    """The vulnerability flags of a resident, or of the whole household when none is named."""
    people = [r for r in household.residents if resident is None or r.id == resident]
    return tuple(dict.fromkeys(f for r in people for f in r.flags if f in VULNERABLE))


def vulnerable_label(flags: Iterable[str]) -> str:
    """How an alert's message is marked, e.g. ``【重点关注:独居老人】``; empty for none."""
    names = [VULNERABLE[f] for f in flags if f in VULNERABLE]
    return f"【重点关注:{'、'.join(names)}】" if names else ""


def mark(decision: Raise, directory: Directory) -> Raise:
    """A raise marked with the vulnerability of whom it is about (its resident, else its
    household's residents)."""
    hh = directory.households.get(decision.household)
    if hh is None:
        return decision
    resident = decision.resident
    if resident is None and decision.device is not None:
        binding = directory.device(decision.device)
        resident = binding.device.resident if binding is not None else None
    flags = vulnerable_flags(hh, resident)
    if not flags:
        return decision
    # The message stays as the rule said it: channels and the console show the flags beside it.
    return replace(decision, vulnerable=flags, resident=resident)


def fast_escalation(alert_type: AlertType, vulnerable: Iterable[str]) -> bool:
    """Whether an alert escalates at half the timeout (and whatever its severity)."""
    return alert_type in FAST_TYPES and any(True for _ in vulnerable)


def symptom_raise(
    household: Household,
    resident: str,
    symptoms: Iterable[str],
    at: datetime,
    directory: Directory,
    now: datetime,
) -> Raise:
    """The ``symptom`` alert for a check that reported any."""
    names = {r.id: r.name for r in household.residents}
    said = "、".join(SYMPTOMS[s] for s in symptoms)
    local = at.astimezone(directory.tz)
    who = names.get(resident, resident)
    return Raise(
        AlertType.SYMPTOM,
        household.id,
        None,
        at,
        f"症状: {household.address} {who} {said} ({local:%H:%M})",
        directory.recipients(AlertType.SYMPTOM, household, now),
        resident=resident,
    )


def next_signoff(signed: Iterable[str]) -> Role | None:
    """The role whose sign-off is next, None when all have signed."""
    done = set(signed)
    return next((r for r in SIGNOFF_ORDER if r.value not in done), None)


def checkin_due(
    household: Household, last_checkin: datetime | None, days: int, now: datetime
) -> datetime | None:
    """When the next check-in visit is due (``days`` after the last, or the period's start);
    None outside isolation."""
    iso = household.isolation
    if iso is None or not iso.contains(now):
        return None
    since = max(last_checkin, iso.start) if last_checkin is not None else iso.start
    return since + timedelta(days=days)
