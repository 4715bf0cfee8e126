"""The temperature log of an isolation period: its slots, what falls in each, what is missed,
and the per-resident table the release report prints."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rules.site import DailySpan, Household, Period
from rules.slots import (
    CheckState,
    LoggedCheck,
    LoggedReading,
    period_windows,
    resident_rows,
    temperature_log,
)

TZ = ZoneInfo("Asia/Shanghai")
SPANS = [DailySpan.parse("06:00-10:00"), DailySpan.parse("17:00-21:00")]


def t(text: str) -> datetime:
    """A Shanghai wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def household(start: str = "2026-11-20T00:00", end: str = "2026-12-04T00:00") -> Household:
    """Two residents, one thermometer each, isolated from ``start`` to ``end``."""
    return Household.model_validate(
        {
            "id": "h1",
            "address": "幸福小区3栋2单元501",
            "residents": [{"id": "r1", "name": "张三"}, {"id": "r2", "name": "李四"}],
            "isolation": {"start": t(start), "end": t(end)},
            "devices": [
                {"id": "therm-r1", "kind": "thermometer", "protocol": "native", "resident": "r1"},
                {"id": "therm-r2", "kind": "thermometer", "protocol": "native", "resident": "r2"},
            ],
        }
    )


def test_fourteen_whole_days_with_two_windows_are_twenty_eight_slots_per_resident():
    """A 14-day period: 14 days, 28 windows, each resident in each; all missed when none read."""
    days = temperature_log(household(), SPANS, TZ, [], [], now=t("2026-12-05T00:00"))
    assert [d.day for d in days] == [date(2026, 11, 20) + timedelta(days=n) for n in range(14)]
    slots = [s for d in days for s in d.slots]
    assert len(slots) == 56
    assert sum(1 for s in slots if s.resident == "r1") == 28
    assert all(s.missed and s.check_missed and s.ended for s in slots)
    first = days[0].slots
    assert [(s.window.span, s.resident) for s in first] == [
        ("06:00-10:00", "r1"),
        ("06:00-10:00", "r2"),
        ("17:00-21:00", "r1"),
        ("17:00-21:00", "r2"),
    ]


def test_a_reading_fills_its_window_and_one_outside_every_window_is_kept_beside_the_day():
    """07:30 fills r1's morning; a noon reading is the day's other reading; r2 missed."""
    morning = LoggedReading("r1", t("2026-11-21T07:30"), 36.6)
    again = LoggedReading("r1", t("2026-11-21T09:00"), 36.8)
    noon = LoggedReading("r1", t("2026-11-21T12:00"), 37.5)
    days = temperature_log(
        household(), SPANS, TZ, [noon, again, morning], [], now=t("2026-11-22T00:00")
    )
    day = days[1]
    assert day.day == date(2026, 11, 21)
    by = {(s.window.span, s.resident): s for s in day.slots}
    r1_morning = by[("06:00-10:00", "r1")]
    assert r1_morning.readings == (morning, again) and not r1_morning.missed
    assert by[("06:00-10:00", "r2")].missed
    assert by[("17:00-21:00", "r1")].missed
    assert day.other_readings == (noon,)


def test_windows_not_ended_are_pending_not_missed():
    """At 08:00 the morning window is open: pending, as is the evening; earlier ones missed."""
    days = temperature_log(household(), SPANS, TZ, [], [], now=t("2026-11-21T08:00"))
    today = {(s.window.span, s.resident): s for s in days[1].slots}
    assert today[("06:00-10:00", "r1")].pending and not today[("06:00-10:00", "r1")].missed
    assert today[("17:00-21:00", "r2")].pending
    assert all(s.missed for s in days[0].slots)
    assert all(s.pending for d in days[2:] for s in d.slots)


def test_a_period_that_starts_mid_window_leaves_that_window_out():
    """Isolated from 08:00: the morning window of the first day is not in the log (as the
    missed-reading rule does not count it); the period's last day ends at 12:00 before the
    evening window."""
    hh = household(start="2026-11-20T08:00", end="2026-11-22T12:00")
    days = temperature_log(hh, SPANS, TZ, [], [], now=t("2026-11-23T00:00"))
    spans = [[s.window.span for s in d.slots if s.resident == "r1"] for d in days]
    assert spans == [["17:00-21:00"], ["06:00-10:00", "17:00-21:00"], ["06:00-10:00"]]


def test_symptom_checks_by_their_window_and_the_gateway_marks_left_out():
    """A check given in the evening window fills it (a "none" check as well); the gateway's
    missed mark does not count as a check; one at noon is the day's other check."""
    given = LoggedCheck("r1", t("2026-11-21T18:00"), ("dry_cough",))
    none = LoggedCheck("r2", t("2026-11-21T19:00"), ())
    mark = LoggedCheck("r2", t("2026-11-21T10:00"), None, window_start=t("2026-11-21T06:00"))
    noon = LoggedCheck("r1", t("2026-11-21T12:30"), ())
    days = temperature_log(
        household(), SPANS, TZ, [], [mark, noon, given, none], now=t("2026-11-22T00:00")
    )
    by = {(s.window.span, s.resident): s for s in days[1].slots}
    assert by[("17:00-21:00", "r1")].checks == (given,)
    assert not by[("17:00-21:00", "r2")].check_missed
    assert by[("06:00-10:00", "r2")].check_missed
    assert days[1].other_checks == (noon,)


def test_a_check_stored_with_its_window_start_belongs_there_even_when_given_late():
    """A check whose window start was recorded is placed by it, not by when it arrived."""
    late = LoggedCheck("r1", t("2026-11-21T10:00:30"), (), window_start=t("2026-11-21T06:00"))
    days = temperature_log(household(), SPANS, TZ, [], [late], now=t("2026-11-22T00:00"))
    by = {(s.window.span, s.resident): s for s in days[1].slots}
    assert by[("06:00-10:00", "r1")].checks == (late,)


def test_readings_outside_the_period_are_not_in_the_log_and_no_period_is_no_log():
    """A reading before the period is left out; a household without a period has no log."""
    before = LoggedReading("r1", t("2026-11-19T07:00"), 36.5)
    days = temperature_log(household(), SPANS, TZ, [before], [], now=t("2026-11-20T00:00"))
    assert all(not s.readings for d in days for s in d.slots)
    assert all(not d.other_readings for d in days)
    bare = household().model_copy(update={"isolation": None})
    assert temperature_log(bare, SPANS, TZ, [before], [], now=t("2026-11-20T00:00")) == []


def test_a_window_that_wraps_midnight_belongs_to_the_day_it_starts():
    """A 22:00-02:00 window is listed on the day it starts, once per day of the period."""
    spans = [DailySpan.parse("22:00-02:00")]
    hh = household(start="2026-11-20T00:00", end="2026-11-22T00:00")
    windows = period_windows(hh.isolation, spans, TZ)  # type: ignore[arg-type]
    assert [w.start for w in windows] == [t("2026-11-20T22:00")]
    late = LoggedReading("r1", t("2026-11-21T01:00"), 36.4)
    days = temperature_log(hh, spans, TZ, [late], [], now=t("2026-11-23T00:00"))
    [r1] = [s for s in days[0].slots if s.resident == "r1"]
    assert r1.readings == (late,)
    assert days[1].slots == ()
    assert [day for day, _ in resident_rows(days, "r1", spans)] == [date(2026, 11, 20)]


def test_the_report_table_has_a_row_per_day_and_a_column_per_window_for_each_resident():
    """14 rows of (morning, evening) per resident; readings of others stay out of a resident's
    slots; a window without a reading is missed and, nothing recorded, its check unknown."""
    readings = [
        LoggedReading("r1", t("2026-11-20T07:12"), 36.5),
        LoggedReading("r1", t("2026-11-20T07:40"), 36.6),  # a second try, same slot
        LoggedReading("r1", t("2026-11-21T18:00"), 38.2),
        LoggedReading("r2", t("2026-11-20T08:00"), 36.4),  # someone else's
    ]
    days = temperature_log(household(), SPANS, TZ, readings, [], now=t("2026-12-04T00:00"))
    rows = resident_rows(days, "r1", SPANS)
    assert len(rows) == 14 and rows[0][0] == date(2026, 11, 20)
    slots = [s for _, cells in rows for s in cells]
    assert len(slots) == 28 and all(s is not None and s.resident == "r1" for s in slots)
    (_, (m20, e20)), (_, (m21, e21)) = rows[0], rows[1]
    assert m20 is not None and m20.window.start == t("2026-11-20T06:00")
    assert [r.celsius for r in m20.readings] == [36.5, 36.6]
    assert e20 is not None and e20.window.start == t("2026-11-20T17:00") and e20.missed
    assert m21 is not None and m21.missed
    assert e21 is not None and [r.celsius for r in e21.readings] == [38.2]
    assert sum(1 for s in slots if s is not None and s.missed) == 26
    assert all(s.check_state is CheckState.UNKNOWN for s in slots if s is not None)


def test_the_report_table_leaves_windows_outside_the_period_empty():
    """Isolated 08:00 to 10:00 the next day: the first morning and the last evening are no
    slots (as the rule counts), the first evening and the last morning are."""
    hh = household(start="2026-11-20T08:00", end="2026-11-21T10:00")
    windows = period_windows(hh.isolation, SPANS, TZ)  # type: ignore[arg-type]
    assert [w.start for w in windows] == [t("2026-11-20T17:00"), t("2026-11-21T06:00")]
    days = temperature_log(hh, SPANS, TZ, [], [], now=t("2026-11-22T00:00"))
    rows = resident_rows(days, "r1", SPANS)
    assert [(d, [s is not None for s in cells]) for d, cells in rows] == [
        (date(2026, 11, 20), [False, True]),
        (date(2026, 11, 21), [True, False]),
    ]


def test_a_period_given_instead_of_the_households_is_the_one_logged():
    """A release on record logs its own period, whatever the household's is now."""
    bare = household().model_copy(update={"isolation": None})
    period = Period(start=t("2026-11-20T00:00"), end=t("2026-11-22T00:00"))
    days = temperature_log(bare, SPANS, TZ, [], [], now=t("2026-11-23T00:00"), period=period)
    assert [d.day for d in days] == [date(2026, 11, 20), date(2026, 11, 21)]
    assert len([s for d in days for s in d.slots]) == 8


def test_symptom_check_state_reported_missed_or_unknown():
    """A report (symptoms or none) wins over the gateway's missed mark; a mark alone is missed;
    no record is unknown. Symptoms reported twice are listed once."""
    w1, w2, w3 = (t(x) for x in ("2026-11-20T06:00", "2026-11-20T17:00", "2026-11-21T06:00"))

    def check(at: str, window: datetime, symptoms: tuple[str, ...] | None) -> LoggedCheck:
        by = "system" if symptoms is None else "resident"
        return LoggedCheck("r1", t(at), symptoms, window, by)

    checks = [
        check("2026-11-20T07:00", w1, ("dry_cough", "fatigue")),
        check("2026-11-20T07:30", w1, ("fatigue",)),
        check("2026-11-20T21:00", w2, None),
        check("2026-11-21T10:00", w3, None),
        check("2026-11-21T09:59", w3, ()),  # reported late in the window, before the mark
    ]
    days = temperature_log(household(), SPANS, TZ, [], checks, now=t("2026-12-04T00:00"))
    (_, (s1, s2)), (_, (s3, s4)) = resident_rows(days, "r1", SPANS)[:2]
    assert s1 is not None and (s1.check_state, s1.symptoms) == (
        CheckState.DONE,
        ("dry_cough", "fatigue"),
    )
    assert s2 is not None and s2.check_state is CheckState.MISSED and s2.check_missed
    assert s3 is not None and (s3.check_state, s3.symptoms) == (CheckState.DONE, ())
    assert s4 is not None and s4.check_state is CheckState.UNKNOWN
