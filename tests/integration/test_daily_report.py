"""The daily report (每日报告): a scripted day on a fake clock, over the real broker, reported at
the configured time once, pushed to the channels, and read as JSON and CSV from the API."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.care.daily_job import SETTLE_S
from gateway.clock import FakeClock
from simulators.ble import BleThermometer
from simulators.door import DoorSensor
from simulators.webhook_receiver import WebhookReceiver
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    at_local,
    eventually,
    fake_time_gateway,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)
from tests.integration.access_support import api, token_for

DAY = "2026-11-23"
KEY = f"daily:{DAY}"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """Where the channels post."""
    with WebhookReceiver() as r:
        yield r


def daily_doc(receiver: WebhookReceiver) -> dict[str, Any]:
    """The test community named 幸福社区, devices that may stay silent all day, a generic
    webhook and a WeCom bot that carry the daily report and no alert."""
    silence = {"door": 86400, "thermometer": 86400, "camera": 86400}
    doc = site_doc(door_debounce_s=0, offline_s_by_kind=silence, daily_report_at="20:00")
    doc["community"] = "幸福社区"
    doc["channels"] = [
        {
            "id": "daily-hook",
            "kind": "webhook",
            "url": receiver.url("/daily"),
            "types": [],
            "daily_report": True,
        },
        {
            "id": "daily-bot",
            "kind": "wecom",
            "url": receiver.url("/wecom"),
            "msgtype": "text",
            "types": [],
            "daily_report": True,
        },
    ]
    return doc


async def to(clock: FakeClock, hhmm: str) -> None:
    """Move the fake clock to a local time of the day (and let the gateway tick there)."""
    seconds = (at_local(f"{DAY} {hhmm}") - clock.now()).total_seconds()
    assert seconds > 0, hhmm
    await advance(clock, seconds)


async def stored(h: Harness, household: str, kind: str, n: int) -> None:
    """Wait until the household's log holds ``n`` events of a kind."""

    async def enough() -> bool:
        found = await h.running.store.household_events(household, kind=kind, limit=100)
        return len(found) >= n

    await eventually(enough)


async def alert_of(h: Harness, household: str, type_: str) -> str:
    """Wait for the household's alert of a type; its id."""

    async def found() -> bool:
        return bool(await h.running.store.list_alerts(households=[household], type=type_))

    await eventually(found)
    [alert] = await h.running.store.list_alerts(households=[household], type=type_)
    return alert.id


def reading(h: Harness, device: str, celsius: float, seq: int) -> None:
    """A native thermometer's reading (h2's)."""
    body = {"type": "temperature", "celsius": celsius, "seq": seq}
    with h.link() as link:
        link.publish(f"{h.base}/dev/{device}/event", json.dumps(body).encode(), qos=1)


async def scripted_day(h: Harness, clock: FakeClock) -> None:
    """05:00 to 18:10 of 2026-11-23 in both households (see the expected rows)."""
    care = h.running.care
    assert care is not None
    ops = h.running.ops
    await advance(clock, 1)  # the first tick remembers its time
    with h.link() as link:
        therm = BleThermometer(link, omg_base=h.settings.omg_base_topic)
        door1 = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=h.z2m)
        door2 = DoorSensor(link, "door-h2", "native", base_topic=h.base)
        await to(clock, "07:00")
        await asyncio.to_thread(therm.reading, 36.5)  # r1's morning reading; r2 takes none
        await stored(h, "h1", "temperature", 1)
        await to(clock, "07:05")
        await care.symptoms("h1", "r1", [], "resident", "resident", "page")
        await to(clock, "09:00")
        supplies = await care.request_service("h1", "supplies", "米和油")
        await to(clock, "09:30")
        await care.complete_service(supplies.id, "w2", "watcher", "console")
        await to(clock, "09:40")
        await care.request_service("h2", "garbage", None)  # not done today
        await to(clock, "10:00")
        await advance(clock, 1)  # the morning window ended: r2 missed it (and its check)
        await alert_of(h, "h2", "missed_reading")
        await to(clock, "11:00")
        await asyncio.to_thread(door2.open)
        breach2 = await alert_of(h, "h2", "door_breach")
        await asyncio.to_thread(door2.close)
        await to(clock, "11:30")
        await ops.resolve(breach2, "p2", "邻居误开，已核实", role="officer", via="rest")
        await to(clock, "12:00")
        await asyncio.to_thread(door1.open)
        breach1 = await alert_of(h, "h1", "door_breach")
        await asyncio.to_thread(door1.close)
        await to(clock, "12:05")
        await ops.ack(breach1, "p1", role="officer", via="rest")
        await to(clock, "13:00")
        await asyncio.to_thread(door2.availability, False)
        await stored(h, "h2", "status", 1)
        await to(clock, "13:06")  # past the offline grace
        await alert_of(h, "h2", "device_offline")
        await to(clock, "14:00")
        await care.prereport("h1", "garbage")
        await to(clock, "14:02")
        await asyncio.to_thread(door1.open)  # announced: recorded, not alerted
        await asyncio.to_thread(door1.close)
        await stored(h, "h1", "door", 4)
        start, end = at_local(f"{DAY} 15:00"), at_local(f"{DAY} 15:20")
        await to(clock, "14:30")
        await care.add_visit("h1", start, end, "checkin", "w2", "w2", "watcher", "console")
        await to(clock, "18:00")
        await asyncio.to_thread(therm.reading, 38.2)
        await alert_of(h, "h1", "fever")
        await to(clock, "18:10")
    reading(h, "therm-r2", 36.6, 1)
    await stored(h, "h2", "temperature", 1)


ROWS = [
    {
        "community": "幸福社区",
        "household": "h1",
        "address": "幸福小区3栋2单元501",
        "readings": 2,
        "readings_missed": 0,
        "symptom_checks": 1,
        "symptom_checks_missed": 0,
        "symptoms_reported": 0,
        "fevers": 1,
        "breaches": 1,
        "breaches_resolved": 0,
        "breaches_acknowledged": 1,
        "breaches_open": 0,
        "breach_outcomes": [{"at": "12:00", "outcome": "acknowledged", "by": "p1"}],
        "devices_offline": 0,
        "device_offline_alerts": 0,
        "checkin_due": "2026-11-26T15:00+08:00",
        "checkin_overdue": False,
        "services_requested": 1,
        "services_done": 1,
        "prereports": 1,
        "released": False,
    },
    {
        "community": "幸福社区",
        "household": "h2",
        "address": "幸福小区3栋2单元502",
        "readings": 1,
        "readings_missed": 1,
        "symptom_checks": 0,
        "symptom_checks_missed": 1,
        "symptoms_reported": 0,
        "fevers": 0,
        "breaches": 1,
        "breaches_resolved": 1,
        "breaches_acknowledged": 0,
        "breaches_open": 0,
        "breach_outcomes": [{"at": "11:00", "outcome": "resolved_with_note", "by": "p2"}],
        "devices_offline": 1,
        "device_offline_alerts": 1,
        "checkin_due": "2026-11-23T00:00+08:00",
        "checkin_overdue": True,
        "services_requested": 1,
        "services_done": 0,
        "prereports": 0,
        "released": False,
    },
]

TOTALS = {
    "community": "幸福社区",
    "households": 2,
    "readings": 3,
    "readings_missed": 1,
    "symptom_checks": 1,
    "symptom_checks_missed": 1,
    "symptoms_reported": 0,
    "fevers": 1,
    "breaches": 2,
    "breaches_resolved": 1,
    "breaches_acknowledged": 1,
    "breaches_open": 0,
    "devices_offline": 1,
    "device_offline_alerts": 1,
    "checkin_overdue": 1,
    "services_requested": 2,
    "services_done": 1,
    "prereports": 1,
    "released": 0,
}

CSV_ROWS = [
    [
        "社区", "户号", "地址", "测温次数", "漏测次数", "症状自查次数", "未自查次数",
        "报告症状次数", "发热告警", "违规开门", "开门已解除", "开门已确认", "开门未处理",
        "开门处置", "离线设备", "离线告警", "上门核实到期", "上门核实逾期", "服务请求",
        "服务完成", "主动报备", "当日解除隔离",
    ],
    [
        "幸福社区", "h1", "幸福小区3栋2单元501", "2", "0", "1", "0", "0", "1", "1", "0", "1",
        "0", "12:00 已确认 p1", "0", "0", "2026-11-26 15:00", "否", "1", "1", "1", "否",
    ],
    [
        "幸福社区", "h2", "幸福小区3栋2单元502", "1", "1", "0", "1", "0", "0", "1", "1", "0",
        "0", "11:00 已解除(有说明) p2", "1", "1", "2026-11-23 00:00", "是", "1", "0", "0", "否",
    ],
    [
        "幸福社区", "合计", "2户", "3", "1", "1", "1", "0", "1", "2", "1", "1", "0", "", "1",
        "1", "", "1", "2", "1", "1", "0",
    ],
]  # fmt: skip


def report_posts(receiver: WebhookReceiver, path: str, key: str = KEY) -> list[Any]:
    """The accepted posts of a report to one path."""
    return [d for d in receiver.deliveries if d.path == path and d.alert_id == key]


async def test_the_scripted_day_is_reported_at_20_00_once_to_the_channels_and_the_api(
    tmp_path: Path, broker: BrokerUnderTest, receiver: WebhookReceiver
):
    """What happened on the day, exactly, in the pushed JSON, the bot's text, the API's JSON and
    CSV; made once; sent_at set once delivered; scoped and audited; no report of tomorrow."""
    start = at_local(f"{DAY} 05:00")
    async with fake_time_gateway(tmp_path, broker, start, daily_doc(receiver)) as (h, clock):
        daily = h.running.daily
        assert daily is not None
        await scripted_day(h, clock)
        await to(clock, "19:59")
        await eventually(lambda: _checked(h, clock))
        assert await h.running.store.daily_report(DAY) is None  # not before its time
        await to(clock, "20:00")
        posts = await asyncio.to_thread(receiver.wait_for, 2)
        [pushed] = [p for p in posts if p.path == "/daily"]
        assert pushed.alert_id == KEY and pushed.status == "report"
        assert pushed.body["day"] == DAY
        assert pushed.body["generated_at"] == f"{DAY}T20:00:00+08:00"
        assert pushed.body["rows"] == ROWS
        assert pushed.body["communities"] == [TOTALS]
        [bot] = [p for p in posts if p.path == "/wecom"]
        text = bot.body["text"]["content"]
        assert f"每日报告 {DAY}（截至20:00）" in text
        assert "幸福社区：隔离2户；测温3次，漏测1次" in text
        assert "违规开门2次（已解除1，已确认1，未处理0）" in text
        assert "幸福小区" not in text and "张三" not in text

        kept = await h.running.store.daily_report(DAY)
        assert kept is not None and kept.body == pushed.body
        await eventually(lambda: _sent(h, clock))

        async with api(h, h.token) as admin:
            r = await admin.get("/api/v1/reports/daily", params={"date": DAY})
            assert r.status_code == 200, r.text
            assert r.json()["rows"] == ROWS
            assert r.json()["communities"] == [TOTALS]
            r = await admin.get("/api/v1/reports/daily", headers={"Accept": "text/csv"})
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/csv")
            assert r.content.startswith("\ufeff".encode())
            assert list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))) == CSV_ROWS
            tomorrow = (at_local(f"{DAY} 12:00") + timedelta(days=1)).date().isoformat()
            r = await admin.get("/api/v1/reports/daily", params={"date": tomorrow})
            assert r.status_code == 422
        async with api(h, await token_for(h, "p1", "officer")) as officer:
            r = await officer.get("/api/v1/reports/daily", params={"date": DAY})
            assert r.status_code == 200
            assert r.json()["rows"] == ROWS[:1]
            assert r.json()["communities"][0]["households"] == 1
            assert r.json()["communities"][0]["breaches"] == 1
            r = await officer.get("/api/v1/reports/daily", params={"format": "csv", "date": DAY})
            rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
            assert [row[1] for row in rows] == ["户号", "h1", "合计"]
        reads = await h.running.store.list_audit(action="read_daily_report")
        assert {(e.actor, e.target) for e in reads} == {("admin", DAY), ("p1", DAY)}

        # The next day's report is the sentinel: by then a second push of today's would be in.
        await advance(clock, 24 * 3600)
        await asyncio.to_thread(receiver.wait_for, 4)
        assert len(report_posts(receiver, "/daily")) == 1
        assert len(report_posts(receiver, "/wecom")) == 1


async def _checked(h: Harness, clock: FakeClock) -> bool:
    daily = h.running.daily
    return daily is not None and daily.checked_at is not None and daily.checked_at >= clock.now()


async def _sent(h: Harness, clock: FakeClock) -> bool:
    """Whether the report is marked sent; if not, time moves on to the task's next look."""
    kept = await h.running.store.daily_report(DAY)
    if kept is not None and kept.sent_at is not None:
        return True
    await advance(clock, SETTLE_S + 1)
    return False


async def test_a_gateway_down_at_report_time_makes_it_when_back_the_same_day_and_only_once(
    tmp_path: Path, broker: BrokerUnderTest, receiver: WebhookReceiver
):
    """Up at 20:30: the report of the day is made at once; restarted at 20:45: not again."""
    settings = unique_settings(tmp_path, broker)
    back = at_local(f"{DAY} 20:30")
    token = await prepare(settings, daily_doc(receiver), back)
    clock = FakeClock(back)
    async with running_gateway(settings, broker, clock, token) as h:
        await asyncio.to_thread(receiver.wait_for, 2)
        kept = await h.running.store.daily_report(DAY)
        assert kept is not None
        assert kept.generated_at == back
        assert [r["household"] for r in kept.body["rows"]] == ["h1", "h2"]
        # Recorded as delivered: a restart has nothing to send again.
        await eventually(lambda: _sent(h, clock))
    clock.advance(15 * 60)
    async with running_gateway(settings, broker, clock, token) as h:
        await eventually(lambda: _checked(h, clock))
        again = await h.running.store.daily_report(DAY)
        assert again is not None
        assert (again.generated_at, again.body) == (kept.generated_at, kept.body)
    assert len(report_posts(receiver, "/daily")) == 1
    assert len(report_posts(receiver, "/wecom")) == 1
