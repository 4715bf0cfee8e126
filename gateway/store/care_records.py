"""Typed rows of the isolation's paperwork, and what one step writes of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class CareWindow:
    """An authorized opening besides the site file's visits.

    ``kind`` is ``prereport`` (a resident announced an opening on their page) or ``visit`` (staff
    entered an escorted visit, a delivery or a check-in at the console).
    """

    id: str
    household_id: str
    kind: str
    reason: str
    start: datetime
    end: datetime
    by: str
    via: str
    created_at: datetime
    escort: str | None = None


@dataclass(frozen=True, slots=True)
class SymptomCheck:
    """One resident's symptom check; ``symptoms`` None marks a window that ended without one."""

    household_id: str
    resident_id: str
    at: datetime
    symptoms: tuple[str, ...] | None
    by: str
    via: str
    window_start: datetime | None = None
    alert_id: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """A daily service a resident asked for (``supplies`` or ``garbage``), and who did it."""

    id: str
    household_id: str
    kind: str
    requested_at: datetime
    via: str
    note: str | None = None
    done_by: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NoticeReceipt:
    """Staff handed the notice (告知书) over and the household signed for it."""

    household_id: str
    at: datetime
    by: str
    via: str


@dataclass(frozen=True, slots=True)
class Signoff:
    """One sign-off towards release, by the staff member of ``role``."""

    household_id: str
    period_start: datetime
    role: str
    by: str
    at: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """A released household: its period, when, who removed the seal, the archived report."""

    household_id: str
    period_start: datetime
    period_end: datetime
    released_at: datetime
    seal_removed_by: str
    report_sha256: str | None = None
    report_html_sha256: str | None = None
    report_path: str | None = None
    purged_at: datetime | None = None
    counts: dict[str, Any] | None = None


@dataclass
class CareWrites:
    """The paperwork one step writes, in the same transaction as its alerts."""

    windows: list[CareWindow] = field(default_factory=list)
    symptom_checks: list[SymptomCheck] = field(default_factory=list)
    services: list[ServiceRequest] = field(default_factory=list)
    """New requests, and requests marked done (written by id)."""
    receipts: list[NoticeReceipt] = field(default_factory=list)
    signoffs: list[Signoff] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    links: dict[str, tuple[int, str, datetime]] = field(default_factory=dict)
    """household → (generation, secret hash, when): a resident link made or rotated."""

    def __bool__(self) -> bool:
        return bool(
            self.windows
            or self.symptom_checks
            or self.services
            or self.receipts
            or self.signoffs
            or self.releases
            or self.links
        )
