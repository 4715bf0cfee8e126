"""A household's fourteen days on a fake clock, to its release and its archived report (解除报告单):
readings over MQTT with some windows missed, a fever the doctor must close before signing, the
four sign-offs, and a report that lists every slot, every alert and who handled it, as HTML and
a PDF that renders, archived once with its SHA-256."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.care.archive import archive_pending, archive_release
from gateway.clock import FakeClock
from rules.care import CareRefusedError
from simulators.ble import BleThermometer
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    at_local,
    fake_time_gateway,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)
from tests.integration.access_support import api, token_for
from tests.integration.release_support import AFTER_IT, release_h1, short_doc
from tests.integration.release_support import archived as archived_report
from tests.pdf_support import page_png, pdf_text, save_artifact

START = at_local("2026-11-20 00:00")
DAYS = 14
MORNING, EVENING = 0, 1
R1_MISSED = {(1, EVENING), (8, MORNING)}  # (day of the period, window)
R3_MISSED = {(3, MORNING)}
FEVER_AT = (4, EVENING)
COUGH_AT = (2, MORNING)


def release_doc() -> dict[str, Any]:
    """h1 alone: fourteen days, 张三 (BLE thermometer) and 王五 (native), no door sensor."""
    doc = site_doc(door_debounce_s=0, offline_s_by_kind={"thermometer": 7 * 86_400})
    h1 = doc["households"][0]
    h1["isolation"] = {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"}
    h1["residents"].append({"id": "r3", "name": "王五"})
    h1["devices"] = [d for d in h1["devices"] if d["kind"] == "thermometer"] + [
        {"id": "therm-r3", "kind": "thermometer", "protocol": "native", "resident": "r3"}
    ]
    doc["households"] = [h1]
    doc["shifts"][1]["households"] = ["h1"]
    doc["community"] = "幸福小区社区"
    doc["hotline"] = "12356"
    return doc


async def _to(clock: Any, when: datetime) -> None:
    """Move the fake clock to ``when`` and let the gateway tick there."""
    await advance(clock, (when - clock.now()).total_seconds())


async def _readings(h: Harness) -> int:
    return len(await h.running.store.household_events("h1", kind="temperature", limit=10_000))


class Household:
    """The residents' thermometers on the broker, and the count of readings stored."""

    def __init__(self, h: Harness, clock: Any, link: Any) -> None:
        self.h, self.clock, self.link = h, clock, link
        self.ble = BleThermometer(link, omg_base=h.settings.omg_base_topic)
        self.sent = 0

    async def measure(self, r1: float | None, r3: float | None) -> None:
        """Publish the residents' readings (None: not taken) and wait until they are stored."""
        if r1 is not None:
            await asyncio.to_thread(self.ble.reading, r1)
            self.sent += 1
        if r3 is not None:
            body = {"type": "temperature", "celsius": r3, "ts": self.clock.now().timestamp()}
            topic = f"{self.h.base}/dev/therm-r3/event"
            await asyncio.to_thread(self.link.publish, topic, json.dumps(body).encode())
            self.sent += 1

        async def stored() -> bool:
            return await _readings(self.h) == self.sent

        await self.h.wait_for(stored)


async def _alert(h: Harness, type_: str, device: str | None = None) -> str:
    """The id of the household's unresolved alert of a type (and device)."""
    found = [
        a
        for a in await h.running.store.list_alerts(status="unresolved", type=type_)
        if device is None or a.device_id == device
    ]
    assert len(found) == 1, found
    return found[0].id


async def _live_fourteen_days(h: Harness, clock: Any) -> dict[str, str]:
    """Play the period: readings, symptom checks, a visit, services; alerts acknowledged and
    resolved by staff along the way, the fever left open. Returns the alerts' ids."""
    care, ops = h.running.care, h.running.ops
    assert care is not None
    ids: dict[str, str] = {}
    with h.link() as link:
        home = Household(h, clock, link)
        await advance(clock, 1)  # the first tick remembers its time
        await care.notice_receipt("h1", "w1", "watcher", "console")
        for day in range(DAYS):
            midnight = START + timedelta(days=day)
            for window, hour in ((MORNING, 7), (EVENING, 18)):
                await _to(clock, midnight + timedelta(hours=hour))
                slot = (day, window)
                r1 = None if slot in R1_MISSED else (38.2 if slot == FEVER_AT else 36.5)
                r3 = None if slot in R3_MISSED else 36.4
                await home.measure(r1, r3)
                if r1 is not None:
                    said = ["dry_cough"] if slot == COUGH_AT else []
                    await care.symptoms("h1", "r1", said, "resident", "resident", "page")
                if slot == COUGH_AT:
                    ids["symptom"] = await _alert(h, "symptom")
                    await ops.resolve(
                        ids["symptom"], "d1", "线上问诊：轻微干咳，继续观察", via="console"
                    )
                if slot == FEVER_AT:
                    ids["fever"] = await _alert(h, "fever")
                    await ops.ack(ids["fever"], "d1", via="console")
                await _to(clock, midnight + timedelta(hours=hour + 3, seconds=1))  # window over
                if slot in R1_MISSED:
                    key = f"missed-r1-{day}"
                    ids[key] = await _alert(h, "missed_reading", "therm-r1")
                    await ops.ack(ids[key], "w2", via="console")
                    await ops.resolve(ids[key], "d1", "电话随访，已补测正常", via="console")
                if slot in R3_MISSED:
                    ids["missed-r3"] = await _alert(h, "missed_reading", "therm-r3")
                    await ops.resolve(ids["missed-r3"], "w2", "已电话提醒按时测温", via="console")
                if window == MORNING:
                    await _between_windows(h, clock, home, day, midnight)
        await _to(clock, START + timedelta(days=DAYS, hours=9))
    return ids


async def _between_windows(
    h: Harness, clock: Any, home: Household, day: int, midnight: datetime
) -> None:
    """Day 3: an escorted sampling visit; day 6: a reading at noon, a pre-reported opening and
    a service request done."""
    care = h.running.care
    assert care is not None
    if day == 2:
        start = midnight + timedelta(hours=11)
        await care.add_visit(
            "h1", start, start + timedelta(minutes=20), "sampling", "w2", "w2", "watcher",
            "console",
        )  # fmt: skip
    if day == 5:
        await _to(clock, midnight + timedelta(hours=12))
        await home.measure(36.6, None)  # outside every reading window
        await care.prereport("h1", "garbage")
        req = await care.request_service("h1", "supplies", "米、面")
        await care.complete_service(req.id, "w2", "watcher", "console")


def _slots(html: str, resident: str) -> list[tuple[str, bool]]:
    """(slot start, missed) of every slot cell in a resident's log table."""
    table = re.search(
        rf'<table class="grid log" data-resident="{resident}">(.*?)</table>', html, re.S
    )
    assert table is not None
    return [
        (m.group(1), m.group(2) is not None)
        for m in re.finditer(r'data-slot="([^"]+)"( data-missed)?', table.group(1))
    ]


def _expected_missed(missed: set[tuple[int, int]]) -> set[str]:
    """The local start of each missed slot, as the report prints it."""
    return {
        (START + timedelta(days=d, hours=6 if w == MORNING else 17))
        .astimezone(ZoneInfo("Asia/Shanghai"))
        .strftime("%Y-%m-%d %H:%M")
        for d, w in missed
    }


async def test_a_fourteen_day_household_is_released_with_its_report_archived(
    tmp_path: Path, broker: BrokerUnderTest
):
    """28 slots per resident with the misses marked, the alerts with their outcomes and
    handlers, the doctor refused while the fever is open, a PDF that renders, archived once."""
    async with fake_time_gateway(tmp_path, broker, START, release_doc()) as (h, clock):
        care = h.running.care
        assert care is not None
        ids = await _live_fourteen_days(h, clock)

        with pytest.raises(CareRefusedError) as refused:
            await care.signoff("h1", "doctor", "d1", "doctor", "体温监测表已确认", "console")
        assert refused.value.code == 409
        assert ids["fever"] in str(refused.value) and "fever" in str(refused.value)
        await h.running.ops.resolve(ids["fever"], "d1", "复测体温正常，排除发热", via="console")
        for role, who, note in (
            ("doctor", "d1", "体温监测表已确认"),
            ("officer", "p1", None),
            ("supervisor", "s1", "同意解除"),
        ):
            _, rel = await care.signoff("h1", role, who, role, note, "console")
            assert rel is None
        _, rel = await care.signoff("h1", "watcher", "w2", "watcher", "门磁已拆除", "console")
        assert rel is not None and rel.seal_removed_by == "w2"

        archived = await archived_report(h)
        data_dir = h.settings.data_dir.resolve()
        assert archived.report_path is not None
        html_path = data_dir / f"{archived.report_path}.html"
        pdf_path = data_dir / f"{archived.report_path}.pdf"
        assert re.fullmatch(r"archive/release/h1-20261120-[0-9a-f]{6}", archived.report_path)
        html_bytes, pdf_bytes = html_path.read_bytes(), pdf_path.read_bytes()
        assert hashlib.sha256(html_bytes).hexdigest() == archived.report_html_sha256
        assert hashlib.sha256(pdf_bytes).hexdigest() == archived.report_sha256
        for p in (html_path, pdf_path):
            assert stat.S_IMODE(p.stat().st_mode) == 0o444

        html = html_bytes.decode()
        save_artifact("release-report.html", html_bytes)
        save_artifact("release-report.pdf", pdf_bytes)
        assert "幸福小区社区" in html
        for resident, missed in (("r1", R1_MISSED), ("r3", R3_MISSED)):
            slots = _slots(html, resident)
            assert len(slots) == 28 and len({s for s, _ in slots}) == 28
            assert {s for s, m in slots if m} == _expected_missed(missed)
        assert "共 28 次，漏测 2 次" in html and "共 28 次，漏测 1 次" in html
        assert "38.2°C 18:00" in html and "时段外测量：张三 11-25 12:00 36.6°C" in html
        assert "干咳" in html and "未自查" in html
        alerts = html[html.index("告警及处置") : html.index("上门与服务")]
        assert alerts.count("<tr>") == 1 + 5  # the heading row, then each alert once
        for said in (
            "发热",
            "复测体温正常，排除发热",
            "确认：王医生",
            "处置：王医生",
            "线上问诊：轻微干咳，继续观察",
            "刘芳 确认",
            "已电话提醒按时测温",
        ):
            assert said in alerts, said
        assert "已处置" in alerts and "未处理" not in alerts
        assert "核酸采样" in html and "送物资" in html  # the console's visit, the site file's
        assert "住户主动报备开门 1 次；申请生活服务 1 次，已办结 1 次" in html
        assert "李伟" in html[html.index("告知书送达") :]
        signed = html[html.index("<h2>签字</h2>") :]
        assert [n in signed for n in ("王医生", "赵致远", "黄主任", "刘芳")] == [True] * 4
        assert signed.index("王医生") < signed.index("赵致远") < signed.index("黄主任")
        assert "门磁由 刘芳 拆除" in html

        text = pdf_text(pdf_bytes)
        for said in (
            "解除隔离报告单",
            "张三",
            "王五",
            "漏测",
            "复测体温正常，排除发热",
            "门磁已拆除",
        ):
            assert said in text, said
        png, dark = page_png(pdf_bytes)
        save_artifact("release-report-page1.png", png)
        assert dark > 5_000  # a page of tables and Chinese text, not a blank sheet

        store = h.running.store
        directory = h.running.pipeline.directory
        assert not await archive_release(store, directory, h.settings.data_dir, "h1", START)
        assert await archive_pending(store, directory, h.settings.data_dir) == 0
        [again] = await store.releases(["h1"])
        assert again == archived
        assert sorted(p.name for p in html_path.parent.iterdir()) == sorted(
            (html_path.name, pdf_path.name)
        )
        assert html_path.read_bytes() == html_bytes and pdf_path.read_bytes() == pdf_bytes

        doctor = await token_for(h, "d1", "doctor")
        async with api(h, doctor) as c:
            got = await c.get("/api/v1/households/h1/release-report")
            assert got.status_code == 200, got.text
            assert got.content == html_bytes
            assert got.headers["content-security-policy"].startswith("default-src 'self'")
            got = await c.get("/api/v1/households/h1/release-report.pdf")
            assert (got.status_code, got.headers["content-type"]) == (200, "application/pdf")
            assert got.content == pdf_bytes


async def test_the_report_is_served_as_archived_only_to_the_households_staff(
    tmp_path: Path, broker: BrokerUnderTest, caplog: pytest.LogCaptureFixture
):
    """404 before the release; then the doctor and a watcher of its shifts read it, the
    technician and another officer may not; a file changed since its archive is a 500, never
    served; supervisors list the releases with their hashes."""
    async with fake_time_gateway(tmp_path, broker, AFTER_IT, short_doc()) as (h, _clock):
        tokens = {
            name: await token_for(h, name, role)
            for name, role in (
                ("d1", "doctor"), ("w1", "watcher"), ("t1", "technician"), ("p2", "officer"),
                ("s1", "supervisor"),
            )
        }  # fmt: skip
        async with api(h, tokens["d1"]) as doctor:
            early = await doctor.get("/api/v1/households/h1/release-report")
            assert early.status_code == 404 and "not released" in early.json()["detail"]
            await release_h1(h)
            rel = await archived_report(h)
            assert rel.report_path is not None
            html = await doctor.get("/api/v1/households/h1/release-report")
            assert html.status_code == 200
            assert hashlib.sha256(html.content).hexdigest() == rel.report_html_sha256
            assert "解除隔离报告单" in html.text and "幸福小区社区" in html.text
        for name, want in (("w1", 200), ("t1", 403), ("p2", 403)):
            async with api(h, tokens[name]) as c:
                got = await c.get("/api/v1/households/h1/release-report.pdf")
                assert got.status_code == want, (name, got.text)
        async with api(h, tokens["s1"]) as boss:
            listed = (await boss.get("/api/v1/reports/releases")).json()
        assert [(r["household"], r["report_sha256"]) for r in listed] == [("h1", rel.report_sha256)]
        assert listed[0]["released_at"].startswith("2026-11-21T09:00")
        async with api(h, tokens["d1"]) as doctor:
            assert (await doctor.get("/api/v1/reports/releases")).status_code == 403
        reads = await h.running.store.list_audit(action="release_report_read", limit=10)
        assert sorted((e.actor, e.detail) for e in reads) == [("d1", "html"), ("w1", "pdf")]

        pdf = h.settings.data_dir.resolve() / f"{rel.report_path}.pdf"
        pdf.chmod(0o644)
        pdf.write_bytes(pdf.read_bytes().replace(b"%%EOF", b"%%EOF\n% edited"))
        async with api(h, tokens["d1"]) as doctor:
            tampered = await doctor.get("/api/v1/households/h1/release-report.pdf")
        assert tampered.status_code == 500
        assert "does not match" in tampered.json()["detail"]
        assert b"%PDF" not in tampered.content
        assert any("does not match its archived SHA-256" in r.getMessage() for r in caplog.records)


async def test_a_release_left_unarchived_is_archived_at_the_next_start(
    tmp_path: Path, broker: BrokerUnderTest
):
    """A gateway that stopped between the release and its archive archives it when it starts."""
    settings = unique_settings(tmp_path, broker)
    clock = FakeClock(AFTER_IT)
    token = await prepare(settings, short_doc(), AFTER_IT)
    async with running_gateway(settings, broker, clock, token) as h:
        assert h.running.care is not None
        h.running.care.on_release = None  # as if it stopped right after the release committed
        await release_h1(h)
        [pending] = await h.running.store.releases(["h1"])
        assert pending.report_sha256 is None
    async with running_gateway(settings, broker, clock, token) as h:
        rel = await archived_report(h)
        assert rel.report_path is not None
        pdf = (settings.data_dir.resolve() / f"{rel.report_path}.pdf").read_bytes()
        assert hashlib.sha256(pdf).hexdigest() == rel.report_sha256
