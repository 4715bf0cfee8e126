"""The release report (解除报告单) of one isolation period, gathered from the store: the
period and residents, the temperature log slot by slot, every alert with its outcome and who
handled it, visits, pre-reports and services counted, the notice receipts, the sign-offs and the
seal's removal. ``gather_release`` reads; the report itself is plain data for the HTML template
and the PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from gateway.care.documents.notice import ROLE_LABELS, staff_name
from gateway.care.slots import log_inputs
from gateway.notify.channels.text import TITLES
from gateway.store import Store
from gateway.store.care_records import Release
from rules.alerts import AlertStatus
from rules.care import SIGNOFF_ORDER, SYMPTOMS, VISIT_REASONS
from rules.directory import Directory
from rules.readings import residents, window_label
from rules.site import Period
from rules.slots import LoggedReading, Slot, resident_rows, temperature_log

MANY = 100_000
"""More rows of one household's period than any list can hold (the store's limit argument)."""

STATUS_LABELS: dict[AlertStatus, str] = {
    AlertStatus.OPEN: "未处理",
    AlertStatus.ESCALATED: "已升级未确认",
    AlertStatus.ACKNOWLEDGED: "已确认未处置",
    AlertStatus.RESOLVED: "已处置",
}
ACTION_LABELS: dict[str, str] = {
    "acknowledged": "确认",
    "resolved": "处置",
    "step": "处置步骤",
    "accepted": "接班确认",
}
"""Alert history entries that are a person's doing, as the report names them."""
SIGNOFF_LABELS: dict[str, str] = {
    "doctor": "随访医生（确认体温监测表）",
    "officer": "包保民警",
    "supervisor": "包保干部",
    "watcher": "管控人员（拆除门磁）",
}


@dataclass(frozen=True, slots=True)
class Handling:
    """One thing a person did about an alert."""

    at: datetime
    action: str
    by: str
    note: str | None


@dataclass(frozen=True, slots=True)
class AlertLine:
    """An alert of the period and what became of it."""

    id: str
    title: str
    severity: str
    raised_at: datetime
    message: str
    count: int
    status: str
    acked_by: str | None
    acked_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None
    handled: tuple[Handling, ...]


@dataclass(frozen=True, slots=True)
class VisitLine:
    """A visit window: from the site file, or entered at the console."""

    start: datetime
    end: datetime
    reason: str
    escort: str | None
    by: str | None


@dataclass(frozen=True, slots=True)
class Signed:
    """A sign-off towards release."""

    role: str
    name: str
    at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class Handed:
    """A notice receipt: when and by whom it was handed over."""

    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class ReleaseReport:
    """Everything the release report prints."""

    community: str | None
    household_id: str
    address: str
    period_start: datetime
    period_end: datetime
    released_at: datetime
    seal_removed_by: str
    residents: tuple[tuple[str, str], ...]
    """(id, name) in the register's order."""
    windows: tuple[str, ...]
    """The reading windows' names, in policy order (the log's columns)."""
    fever_celsius: float
    rows: dict[str, list[tuple[date, tuple[Slot | None, ...]]]]
    """Each resident's log: (day, a slot per window or None outside the period)."""
    outside: tuple[LoggedReading, ...]
    alerts: tuple[AlertLine, ...]
    visits: tuple[VisitLine, ...]
    prereports: int
    services: int
    services_done: int
    receipts: tuple[Handed, ...]
    signoffs: tuple[Signed, ...]
    tz: ZoneInfo

    def fmt(self, t: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """A time in the site's zone; a dash for none."""
        return t.astimezone(self.tz).strftime(pattern) if t is not None else "—"

    def name(self, resident_id: str | None) -> str:
        """A resident's name (a dash for nobody)."""
        return dict(self.residents).get(resident_id or "", resident_id or "—")

    def rows_of(self, resident_id: str) -> list[tuple[date, tuple[Slot | None, ...]]]:
        """One resident's days."""
        return self.rows.get(resident_id, [])

    def slot_count(self, resident_id: str) -> tuple[int, int]:
        """(slots, missed slots) of one resident."""
        slots = [s for _, cells in self.rows_of(resident_id) for s in cells if s is not None]
        return len(slots), sum(1 for s in slots if s.missed)

    @staticmethod
    def symptom_text(symptoms: tuple[str, ...]) -> str:
        """Reported symptoms in Chinese; 无症状 for none."""
        return "、".join(SYMPTOMS.get(s, s) for s in symptoms) or "无症状"


async def gather_release(store: Store, directory: Directory, release: Release) -> ReleaseReport:
    """Read everything the report of ``release`` shows (its household must be in the site)."""
    hh = directory.households[release.household_id]
    start, end = release.period_start, release.period_end
    tz, policy = directory.tz, directory.policy
    people = residents(hh)
    readings, checks = await log_inputs(store, hh, start)
    readings = [r for r in readings if r.resident is not None]  # a thermometer of nobody's
    spans = policy.reading_windows
    period = Period(start=start, end=end)
    days = temperature_log(hh, spans, tz, readings, checks, now=end, period=period)
    alerts = [
        a
        for a in await store.list_alerts(households=[hh.id], limit=MANY)
        if start <= a.raised_at <= release.released_at
    ]
    lines = []
    for a in reversed(alerts):  # oldest first
        history = await store.alert_history(a.id)
        handled = tuple(
            Handling(h.at, ACTION_LABELS[h.action], staff_name(directory, h.by), h.note)
            for h in history
            if h.by and h.action in ACTION_LABELS
        )
        lines.append(
            AlertLine(
                id=a.id,
                title=TITLES.get(a.type, a.type.value),
                severity=a.severity.value,
                raised_at=a.raised_at,
                message=a.message,
                count=a.count,
                status=STATUS_LABELS[a.status],
                acked_by=_name(directory, a.acked_by),
                acked_at=a.acked_at,
                resolved_by=_name(directory, a.resolved_by),
                resolved_at=a.resolved_at,
                note=a.note,
                handled=handled,
            )
        )
    windows = [w for w in await store.household_windows(hh.id) if start <= w.start < end]
    visits = [
        VisitLine(v.start, v.end, _reason(v.reason), _name(directory, v.escort), None)
        for v in hh.visits
        if start <= v.start < end
    ] + [
        VisitLine(
            w.start, w.end, _reason(w.reason), _name(directory, w.escort), _name(directory, w.by)
        )
        for w in windows
        if w.kind == "visit"
    ]
    services = [
        s
        for s in await store.service_requests(households=[hh.id], limit=MANY)
        if start <= s.requested_at < release.released_at
    ]
    order = {r.value: i for i, r in enumerate(SIGNOFF_ORDER)}
    signoffs = sorted(await store.signoffs(hh.id, start), key=lambda s: order.get(s.role, 99))
    return ReleaseReport(
        community=directory.site.community,
        household_id=hh.id,
        address=hh.address,
        period_start=start,
        period_end=end,
        released_at=release.released_at,
        seal_removed_by=staff_name(directory, release.seal_removed_by),
        residents=tuple((p.resident_id, p.name) for p in people),
        windows=tuple(window_label(s) for s in spans),
        fever_celsius=policy.fever_celsius,
        rows={p.resident_id: resident_rows(days, p.resident_id, spans) for p in people},
        outside=tuple(r for d in days for r in d.other_readings),
        alerts=tuple(lines),
        visits=tuple(sorted(visits, key=lambda v: v.start)),
        prereports=sum(1 for w in windows if w.kind == "prereport"),
        services=len(services),
        services_done=sum(1 for s in services if s.done_at is not None),
        receipts=tuple(
            Handed(r.at, staff_name(directory, r.by))
            for r in await store.notice_receipts(hh.id)
            if r.at <= release.released_at
        ),
        signoffs=tuple(
            Signed(_signoff_label(s.role), staff_name(directory, s.by), s.at, s.note)
            for s in signoffs
        ),
        tz=tz,
    )


def _signoff_label(role: str) -> str:
    return SIGNOFF_LABELS.get(role) or ROLE_LABELS.get(role, role)


def _name(directory: Directory, staff_id: str | None) -> str | None:
    return staff_name(directory, staff_id) if staff_id else None


def _reason(reason: str) -> str:
    return VISIT_REASONS.get(reason, reason)
