"""The notice (告知书) handed to a household at the start of its isolation: the period, the rules
of the seed notice, the reading times, who is responsible and how to reach them, the hotline,
the QR code of the household's pre-report page, and a line to sign for receipt (签收).

``notice_data`` is pure: the site, the household, the page's address and the receipts in, what
the HTML page and the PDF print out.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import segno

from gateway.store.care_records import NoticeReceipt
from rules.care import SYMPTOMS
from rules.directory import Directory
from rules.readings import window_label
from rules.site import Household, Role, Shift

ROLE_LABELS: dict[str, str] = {
    Role.OFFICER: "包保民警",
    Role.DOCTOR: "随访医生",
    Role.SUPERVISOR: "包保干部",
    Role.WATCHER: "值守人员",
    Role.TECHNICIAN: "安装人员",
}
"""How the documents name each role."""


@dataclass(frozen=True, slots=True)
class StaffLine:
    """One person responsible for the household, and how to reach them."""

    duty: str
    name: str
    phone: str | None
    when: str | None = None
    """A watcher's shift, e.g. ``每日 00:00-08:00``."""


@dataclass(frozen=True, slots=True)
class NoticeData:
    """Everything the notice prints."""

    community: str | None
    household_id: str
    address: str
    residents: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    reading_windows: tuple[str, ...]
    symptoms: tuple[str, ...]
    prereports_per_day: int
    prereport_minutes: int
    checkin_visit_days: int
    staff: tuple[StaffLine, ...]
    hotline: str | None
    url: str
    """The household's pre-report page, which the QR code encodes."""
    last_receipt: NoticeReceipt | None
    received_by: str | None
    """The name of the staff member who recorded the last receipt."""
    tz: ZoneInfo

    @property
    def days(self) -> int | None:
        """The period's length in days (rounded up)."""
        if self.start is None or self.end is None:
            return None
        return -(-int((self.end - self.start).total_seconds()) // 86_400)

    def fmt(self, t: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """A time in the site's zone; a dash for none."""
        return t.astimezone(self.tz).strftime(pattern) if t is not None else "—"

    def rules(self) -> list[str]:
        """What the household is asked to do, and what it may ask for (the seed notice)."""
        return [
            "隔离期间居家，不外出；不接待来访人员。",
            "门口已安装门磁和摄像头，请勿触碰、遮挡、拆除或移动；开门会被记录，"
            "未报备的开门会立即通知工作人员。",
            f"每日早晚两次测量体温：{'、'.join(self.reading_windows)}，请在时段内用配发的体温计测量。",
            f"每日早晚两次症状自查（{'、'.join(self.symptoms)}），请扫描二维码填报，或告知工作人员。",
            "需要开门（倒垃圾、取物资或快递、就医等）请先扫码报备：每天最多 "
            f"{self.prereports_per_day} 次，每次报备后 {self.prereport_minutes} 分钟内开门。",
            "可扫码申请代购生活用品、清运生活垃圾，由值守人员办理。",
            f"工作人员每 {self.checkin_visit_days} 天上门核实一次；"
            "核酸采样等上门服务均有工作人员陪同。",
            "您的个人信息仅用于隔离管理，严格保密。",
        ]

    def qr_svg(self) -> str:
        """The QR code as an inline SVG element (scales with its CSS width)."""
        return qr(self.url).svg_inline(omitsize=True, border=2, svgclass="qr", lineclass=None)

    def qr_svg_file(self) -> bytes:
        """The QR code as an SVG file, for the PDF (drawn as vectors there)."""
        return qr_svg_file(self.url)


def qr(url: str) -> segno.QRCode:
    """The QR code of a link (error correction M: a creased sheet still scans)."""
    return segno.make(url, error="m", micro=False)


def qr_svg_file(url: str) -> bytes:
    """A link's QR code as a stand-alone SVG file."""
    out = io.BytesIO()
    qr(url).save(out, kind="svg", xmldecl=False, omitsize=True, border=2)
    return out.getvalue()


def notice_data(
    directory: Directory,
    household: Household,
    url: str,
    receipts: Sequence[NoticeReceipt],
    now: datetime,
) -> NoticeData:
    """What the notice of ``household`` says now (a dated shift that is over is left out)."""
    policy = directory.policy
    iso = household.isolation
    last = receipts[-1] if receipts else None
    return NoticeData(
        community=directory.site.community,
        household_id=household.id,
        address=household.address,
        residents=tuple(r.name for r in household.residents),
        start=iso.start if iso else None,
        end=iso.end if iso else None,
        reading_windows=tuple(window_label(s) for s in policy.reading_windows),
        symptoms=tuple(SYMPTOMS.values()),
        prereports_per_day=policy.prereports_per_day,
        prereport_minutes=policy.prereport_minutes,
        checkin_visit_days=policy.checkin_visit_days,
        staff=tuple(responsible(directory, household, now)),
        hotline=directory.site.hotline,
        url=url,
        last_receipt=last,
        received_by=staff_name(directory, last.by) if last else None,
        tz=directory.tz,
    )


def responsible(directory: Directory, household: Household, now: datetime) -> list[StaffLine]:
    """The household's officer, doctor, supervisor(s) and the watchers of its shifts."""
    lines: list[StaffLine] = []
    for role in (Role.OFFICER, Role.DOCTOR):
        sid = household.staff_for(role)
        if sid:
            lines.append(_line(directory, ROLE_LABELS[role], sid))
    lines += [
        _line(directory, ROLE_LABELS[Role.SUPERVISOR], sid)
        for sid in directory.supervisors(household)
    ]
    seen: set[tuple[str, str]] = set()
    for shift in directory.shifts:
        if not shift.covers_household(household.id) or (shift.end and shift.end <= now):
            continue
        when = _shift_text(shift, directory.tz)
        if (shift.watcher, when) not in seen:
            seen.add((shift.watcher, when))
            lines.append(_line(directory, ROLE_LABELS[Role.WATCHER], shift.watcher, when))
    return lines


def staff_name(directory: Directory, staff_id: str) -> str:
    """A staff member's name, or the id itself for a user who is not in the site file."""
    s = directory.staff.get(staff_id)
    return s.name if s is not None else staff_id


def _line(directory: Directory, duty: str, sid: str, when: str | None = None) -> StaffLine:
    s = directory.staff.get(sid)
    return StaffLine(duty, s.name if s else sid, s.phone if s else None, when)


def _shift_text(shift: Shift, tz: ZoneInfo) -> str:
    if shift.daily is not None:
        return f"每日 {shift.daily.text}"
    assert shift.start is not None and shift.end is not None
    return f"{shift.start.astimezone(tz):%m-%d %H:%M} 至 {shift.end.astimezone(tz):%m-%d %H:%M}"
