"""The daily report's pure part: which households are in it, what counts as a missed slot, the
totals, the CSV and the text the group chats get."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.care.daily import build, made
from gateway.care.daily_facts import DayFacts
from gateway.care.daily_format import report_csv, report_text
from gateway.store.care_records import CareWindow, Release, SymptomCheck
from gateway.store.purge import scrub_report
from gateway.store.reports import Reading
from isogate.demo import demo_site
from rules.alerts import AlertStatus, AlertType
from rules.directory import Directory
from rules.site import DeviceKind, Site
from tests.conftest import site_doc
from tests.samples import breach_alert

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 23)


def local(hhmm: str, day: date = DAY) -> datetime:
    return datetime.fromisoformat(f"{day.isoformat()}T{hhmm}").replace(tzinfo=TZ)


def directory(**changes: object) -> Directory:
    doc = site_doc()
    for key, value in changes.items():
        doc["households"][0][key] = value
    return Directory.build(Site.model_validate(doc))


def test_a_household_released_before_the_day_is_left_out_and_one_released_that_day_is_in():
    """h1 released the day before: no row; released at 12:00 that day: released, its evening
    window not missed, no check-in due."""
    d = directory()
    start = d.households["h1"].isolation.start  # type: ignore[union-attr]
    before = Release("h1", start, local("00:00"), local("12:00", DAY - timedelta(days=1)), "w2")
    report = build(DAY, local("23:59"), local("23:59"), d, DayFacts(releases=[before]))
    assert [r.household for r in report.rows] == ["h2"]

    that_day = replace(before, released_at=local("12:00"))
    report = build(DAY, local("23:59"), local("23:59"), d, DayFacts(releases=[that_day]))
    h1 = report.rows[0]
    assert (h1.household, h1.released, h1.checkin_due) == ("h1", True, None)
    assert h1.readings_missed == 1  # the morning only: it was released before the evening ended


def test_a_slot_is_missed_only_when_it_ended_and_only_by_its_residents_own_thermometer():
    """At 12:00 only the morning window has ended; r2's reading does not count for r1; a
    reading taken in the window but stored late counts."""
    d = directory()
    taken = [Reading("h1", "therm-r2", local("07:00")), Reading("h2", "therm-r2", local("09:59"))]
    report = build(DAY, local("12:00"), local("12:00"), d, DayFacts(readings=taken))
    assert [(r.household, r.readings, r.readings_missed) for r in report.rows] == [
        ("h1", 1, 1),
        ("h2", 1, 0),
    ]


def test_windows_before_the_isolation_began_are_not_missed():
    """Isolated from 08:00: the 06:00-10:00 window is not its to miss; the evening is."""
    d = directory(isolation={"start": "2026-11-23T08:00", "end": "2026-12-07T08:00"})
    report = build(DAY, local("23:59"), local("23:59"), d, DayFacts())
    assert report.rows[0].readings_missed == 1
    assert report.rows[0].checkin_due == "2026-11-26T08:00+08:00"


def test_breach_outcomes_checks_and_the_latest_checkin_visit():
    """Each breach as it stands and who handled it; symptom checks by kind; the check-in visit
    of the day moves the next one three days on."""
    d = directory()
    breaches = [
        breach_alert(local("03:00"), id="A" * 26, status=AlertStatus.OPEN),
        breach_alert(
            local("04:00"), id="B" * 26, status=AlertStatus.RESOLVED, resolved_by="p1", note="ok"
        ),
        breach_alert(local("05:00"), id="C" * 26, status=AlertStatus.RESOLVED, resolved_by="w1"),
        breach_alert(local("06:00"), id="D" * 26, status=AlertStatus.ACKNOWLEDGED, acked_by="p1"),
        breach_alert(local("07:00"), id="E" * 26, type=AlertType.FEVER),
    ]
    checks = [
        SymptomCheck("h1", "r1", local("07:00"), (), "resident", "page"),
        SymptomCheck("h1", "r1", local("18:00"), ("fever",), "resident", "page"),
        SymptomCheck("h1", "r1", local("10:00"), None, "system", "system"),
    ]
    visit = CareWindow(
        "V" * 26, "h1", "visit", "checkin", local("15:00"), local("15:20"), "w2", "console",
        local("14:00"),
    )  # fmt: skip
    facts = DayFacts(alerts=breaches, checks=checks, windows=[visit])
    [h1, _] = build(DAY, local("20:00"), local("20:00"), d, facts).rows
    assert [(b.at, b.outcome, b.by) for b in h1.breach_outcomes] == [
        ("03:00", "open", None),
        ("04:00", "resolved_with_note", "p1"),
        ("05:00", "resolved", "w1"),
        ("06:00", "acknowledged", "p1"),
    ]
    assert (h1.breaches, h1.breaches_resolved, h1.breaches_acknowledged, h1.breaches_open) == (
        4, 2, 1, 1,
    )  # fmt: skip
    assert h1.fevers == 1
    assert (h1.symptom_checks, h1.symptom_checks_missed, h1.symptoms_reported) == (2, 1, 1)
    assert (h1.checkin_due, h1.checkin_overdue) == ("2026-11-26T15:00+08:00", False)


def test_totals_csv_and_text():
    """Totals per community (the site's, or 社区), a BOM-led CSV with a totals row, and a text
    without addresses."""
    d = directory()
    taken = [Reading("h1", "therm-r1", local("07:00"))]
    report = build(DAY, local("20:00"), local("20:00"), d, DayFacts(readings=taken))
    [totals] = report.totals()
    assert (totals.community, totals.households, totals.sums["readings"]) == ("社区", 2, 1)
    assert totals.sums["readings_missed"] == 1 and totals.sums["checkin_overdue"] == 2
    data = report_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r[:5] for r in rows[1:]] == [
        ["社区", "h1", "幸福小区3栋2单元501", "1", "0"],
        ["社区", "h2", "幸福小区3栋2单元502", "0", "1"],
        ["社区", "合计", "2户", "1", "1"],
    ]
    text = report_text(report, TZ)
    assert text.startswith("每日报告 2026-11-23（截至20:00）\n社区：隔离2户；测温1次，漏测1次")
    assert "幸福小区" not in text


def test_scrubbing_a_report_rewrites_one_households_address():
    """The purge's rewrite of kept reports: that household's address, nothing else."""
    body = {"rows": [{"household": "h1", "address": "A"}, {"household": "h2", "address": "B"}]}
    assert scrub_report(body, "h1")
    assert body["rows"] == [
        {"household": "h1", "address": "已清除"},
        {"household": "h2", "address": "B"},
    ]
    assert not scrub_report(body, "h1")


async def test_a_large_report_is_made_in_turns_and_each_row_counts_its_own_facts():
    """600 households, facts of all of them mixed: the report made in turns is the pure one,
    each row counts only its household's reading, and the loop ran meanwhile."""
    d = Directory.build(demo_site(600))
    readings = [
        Reading(hh.id, dev.id, local("07:00"))
        for hh in d.households.values()
        for dev in hh.devices
        if dev.kind is DeviceKind.THERMOMETER
    ]
    facts = DayFacts(readings=readings[::-1])
    turns = 0

    async def count() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count())
    try:
        report = await made(DAY, local("12:00"), local("12:00"), d, facts)
    finally:
        counter.cancel()
    assert report == build(DAY, local("12:00"), local("12:00"), d, facts)
    assert len(report.rows) == 600
    # The demo's 03:00-03:08 window is missed, the 06:00-10:00 one is not.
    assert {(r.readings, r.readings_missed) for r in report.rows} == {(1, 1)}
    assert turns >= 1
