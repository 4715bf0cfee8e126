"""Body temperature rules: fever and missed readings, with explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import readings
from rules.alerts import AlertType, Clear, Raise
from rules.directory import Binding, Directory
from rules.readings import ReadingState, ResidentKey
from rules.site import DailySpan, Site

TZ = ZoneInfo("Asia/Shanghai")
ADDRESS = "幸福小区3栋2单元501"
R1: ResidentKey = ("h1", "r1")
R2: ResidentKey = ("h1", "r2")


def t(text: str) -> datetime:
    """A Shanghai wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def site(windows: list[str] | None = None, isolation_start: str = "2026-11-20T00:00") -> Directory:
    """One household, two residents (only 张三 has a thermometer), a three-shift roster."""
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "policy": {
            "fever_celsius": 37.3,
            "reading_windows": windows or ["06:00-10:00", "17:00-21:00"],
        },
        "staff": [
            {"id": "w1", "name": "李伟", "role": "watcher"},
            {"id": "w2", "name": "周敏", "role": "watcher"},
            {"id": "w3", "name": "吴刚", "role": "watcher"},
            {"id": "p1", "name": "赵致远", "role": "officer"},
            {"id": "d1", "name": "王医生", "role": "doctor"},
        ],
        "shifts": [
            {"watcher": "w1", "daily": "00:00-08:00"},
            {"watcher": "w2", "daily": "08:00-16:00"},
            {"watcher": "w3", "daily": "16:00-24:00"},
        ],
        "households": [
            {
                "id": "h1",
                "address": ADDRESS,
                "residents": [{"id": "r1", "name": "张三"}, {"id": "r2", "name": "李四"}],
                "officer": "p1",
                "doctor": "d1",
                "isolation": {"start": isolation_start, "end": "2026-12-04T00:00"},
                "devices": [
                    {
                        "id": "therm-r1",
                        "kind": "thermometer",
                        "protocol": "ble",
                        "address": "A4:C1:38:00:00:01",
                        "resident": "r1",
                    }
                ],
            }
        ],
    }
    return Directory.build(Site.model_validate(data))


def thermometer(d: Directory) -> Binding:
    b = d.device("therm-r1")
    assert b is not None
    return b


def read(
    d: Directory, state: ReadingState, celsius: float, at: str
) -> tuple[ReadingState, tuple[Raise | Clear, ...]]:
    return readings.step(state, celsius, t(at), thermometer(d), d, now=t(at))


def test_fever_reaches_the_doctor_and_the_on_duty_watcher() -> None:
    """A 37.8 °C reading at 07:31 is a fever alert to the doctor and the night watcher."""
    d = site()
    state, decisions = read(d, ReadingState(), 37.8, "2026-11-23T07:31")
    assert decisions == (
        Raise(
            AlertType.FEVER,
            "h1",
            "therm-r1",
            t("2026-11-23T07:31"),
            f"体温: {ADDRESS} 张三 37.8°C (07:31)",
            ("d1", "w1"),
            resident="r1",
        ),
    )
    assert state.last_celsius == 37.8
    assert state.last_at == t("2026-11-23T07:31")


def test_normal_reading_raises_nothing() -> None:
    """36.6 °C is no fever; the reading still counts for its window."""
    d = site()
    state, decisions = read(d, ReadingState(), 36.6, "2026-11-23T07:00")
    assert decisions == ()
    assert [w.span for w in state.satisfied] == ["06:00-10:00"]


def test_reading_at_the_fever_line_is_a_fever() -> None:
    """Exactly fever_celsius is a fever (at or above)."""
    d = site()
    _, decisions = read(d, ReadingState(), 37.3, "2026-11-23T07:00")
    assert [x.type for x in decisions] == [AlertType.FEVER]


def test_second_high_fever_of_the_day_says_so() -> None:
    """The second reading above 38.5 °C on one day is called the second; a new day starts over."""
    d = site()
    s, first = read(d, ReadingState(), 38.9, "2026-11-23T07:00")
    s, second = read(d, s, 39.1, "2026-11-23T18:00")
    s, next_day = read(d, s, 38.7, "2026-11-24T07:00")
    assert isinstance(first[0], Raise)
    assert isinstance(second[0], Raise)
    assert isinstance(next_day[0], Raise)
    assert first[0].message == f"体温: {ADDRESS} 张三 38.9°C (07:00) 超过38.5°C"
    assert second[0].message == f"体温: {ADDRESS} 张三 39.1°C (18:00) 今日第二次超过38.5°C"
    assert second[0].recipients == ("d1", "w3")
    assert next_day[0].message.endswith(" 超过38.5°C")
    assert "第二次" not in next_day[0].message


def test_reading_exactly_at_the_high_line_is_not_above_it() -> None:
    """38.5 °C is a fever but not "超过38.5°C", and does not count toward the second time."""
    d = site()
    s, decisions = read(d, ReadingState(), 38.5, "2026-11-23T07:00")
    assert isinstance(decisions[0], Raise)
    assert "超过" not in decisions[0].message
    assert s.high_count == 0


def test_fever_before_isolation_is_not_raised() -> None:
    """Before the isolation period the household is not watched."""
    d = site()
    state, decisions = read(d, ReadingState(), 38.0, "2026-11-19T07:00")
    assert decisions == ()
    assert state.last_celsius == 38.0


def test_resident_who_skips_the_evening_window_is_reported_once_at_its_end() -> None:
    """张三 reads at 18:00; 李四 does not: 李四's missed reading is raised at 21:00, once."""
    d = site()
    s1, _ = read(d, ReadingState(), 36.5, "2026-11-23T18:00")
    states: dict[ResidentKey, ReadingState] = {R1: s1}

    states, before = readings.tick(states, t("2026-11-23T20:59:59"), d, t("2026-11-23T20:59:54"))
    assert before == ()
    states, at_end = readings.tick(states, t("2026-11-23T21:00:00"), d, t("2026-11-23T20:59:59"))
    assert at_end == (
        Raise(
            AlertType.MISSED_READING,
            "h1",
            None,
            t("2026-11-23T21:00"),
            f"漏测: {ADDRESS} 李四 晚间(17:00-21:00)未测体温",
            ("d1", "w3"),
            resident="r2",
        ),
    )
    states, after = readings.tick(states, t("2026-11-23T21:00:05"), d, t("2026-11-23T21:00:00"))
    assert after == ()
    # A replayed tick (same interval again) does not report the window a second time.
    _, replay = readings.tick(states, t("2026-11-23T21:00:00"), d, t("2026-11-23T20:59:59"))
    assert replay == ()


def test_missed_reading_names_the_residents_thermometer() -> None:
    """A resident with a thermometer is reported with its id; one without, with none."""
    d = site()
    _, decisions = readings.tick({}, t("2026-11-23T10:00:02"), d, t("2026-11-23T09:59:58"))
    assert {(x.device, x.at) for x in decisions} == {
        ("therm-r1", t("2026-11-23T10:00")),
        (None, t("2026-11-23T10:00")),
    }
    assert all(x.recipients == ("d1", "w2") for x in decisions if isinstance(x, Raise))


def test_after_a_long_restart_gap_only_the_last_window_is_reported() -> None:
    """Down for three days: one missed_reading per resident, for the window that ended last."""
    d = site()
    _, decisions = readings.tick({}, t("2026-11-23T22:00"), d, t("2026-11-20T12:00"))
    assert len(decisions) == 2
    assert {x.at for x in decisions} == {t("2026-11-23T21:00")}
    assert all("晚间(17:00-21:00)" in x.message for x in decisions if isinstance(x, Raise))


def test_first_tick_without_a_previous_tick_reports_nothing() -> None:
    """A fresh install has no previous tick, so no window can have ended since it."""
    d = site()
    _, decisions = readings.tick({}, t("2026-11-23T21:00"), d, None)
    assert decisions == ()


def test_late_reading_inside_a_reported_window_clears_the_missed_reading() -> None:
    """A buffered reading taken at 20:30 but delivered at 21:10 clears the 21:00 report."""
    d = site()
    states, raised = readings.tick({}, t("2026-11-23T21:00:01"), d, t("2026-11-23T20:59:58"))
    assert len(raised) == 2
    s1, decisions = read(d, states[R1], 36.7, "2026-11-23T20:30")
    assert decisions == (
        Clear(
            AlertType.MISSED_READING,
            "h1",
            "therm-r1",
            t("2026-11-23T20:30"),
            "已补测 36.7°C (20:30)",
        ),
    )
    assert not s1.missed


def test_window_only_partly_inside_isolation_is_not_reported() -> None:
    """Isolated from 08:00: the 06:00-10:00 window of that day is not held against anyone."""
    d = site(isolation_start="2026-11-20T08:00")
    _, morning = readings.tick({}, t("2026-11-20T10:00:01"), d, t("2026-11-20T09:59:59"))
    _, evening = readings.tick({}, t("2026-11-20T21:00:01"), d, t("2026-11-20T20:59:59"))
    assert morning == ()
    assert len(evening) == 2


def test_window_after_isolation_ends_is_not_reported() -> None:
    """Released at 2026-12-04 00:00: the next morning's window is nobody's business."""
    d = site()
    _, decisions = readings.tick({}, t("2026-12-04T10:00:01"), d, t("2026-12-04T09:59:59"))
    assert decisions == ()


def test_window_past_midnight_counts_a_reading_after_midnight() -> None:
    """A 22:00-02:00 window: a reading at 01:00 belongs to the window that began the day before."""
    d = site(windows=["22:00-02:00"])
    s1, _ = read(d, ReadingState(), 36.5, "2026-11-24T01:00")
    states, decisions = readings.tick({R1: s1}, t("2026-11-24T02:00"), d, t("2026-11-24T01:59:55"))
    assert [x.device for x in decisions] == [None]  # only 李四
    assert states[R2].missed
    assert next(iter(states[R2].missed)).start == t("2026-11-23T22:00")


SPANS = ["06:00-10:00", "17:00-21:00", "22:00-02:00", "10:00-12:00", "20:00-24:00"]


@settings(max_examples=60, deadline=None)
@given(
    spans=st.lists(st.sampled_from(SPANS), min_size=1, max_size=3, unique=True),
    start_min=st.integers(0, 3 * 24 * 60),
    length_s=st.integers(1, 2 * 24 * 3600),
)
def test_property_tick_reports_the_last_window_end_in_the_interval(
    spans: list[str], start_min: int, length_s: int
) -> None:
    """For any windows and tick interval: at most one report per resident, at the latest end."""
    d = site(windows=spans)
    last_tick = t("2026-11-21T00:00") + timedelta(minutes=start_min, seconds=17)
    now = last_tick + timedelta(seconds=length_s)
    parsed = [DailySpan.parse(s) for s in spans]
    # Oracle: step minute by minute and see where some span stops containing the time.
    ends = []
    m = last_tick.replace(second=0) + timedelta(minutes=1)
    while m <= now:
        prev = (m - timedelta(minutes=1)).time()
        if any(sp.contains(prev) and not sp.contains(m.time()) for sp in parsed):
            ends.append(m)
        m += timedelta(minutes=1)
    _, decisions = readings.tick({}, now, d, last_tick)
    if not ends:
        assert decisions == ()
    else:
        assert len(decisions) == 2  # one per resident
        assert {x.at for x in decisions} == {max(ends)}


@settings(max_examples=100, deadline=None)
@given(
    spans=st.lists(st.sampled_from(SPANS), min_size=1, max_size=3, unique=True),
    minute=st.integers(0, 2 * 24 * 60),
)
def test_property_a_reading_counts_for_the_window_that_contains_it(
    spans: list[str], minute: int
) -> None:
    """window_at finds a window exactly when a span contains the local time, and it contains t."""
    parsed = [DailySpan.parse(s) for s in spans]
    at = t("2026-11-22T00:00") + timedelta(minutes=minute)
    window = readings.window_at(parsed, at, TZ)
    assert (window is not None) == any(sp.contains(at.time()) for sp in parsed)
    if window is not None:
        assert window.contains(at)
        assert window.end - window.start < timedelta(days=1)
