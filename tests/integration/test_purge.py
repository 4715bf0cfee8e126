"""Retention: a released household's personal data purged after ``policy.retention_days`` —
gone from the database (SQLite: from the file's very bytes) and the data dir; the counts, the
report's hash and an audit entry remain; the running gateway takes the scrubbed site up."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from gateway.clock import FakeClock, SystemClock
from gateway.ids import ulid
from gateway.store import Store
from gateway.store.meta import metadata
from simulators.ble import BleThermometer
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    eventually,
    isogate_cli,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)
from tests.pg_support import fresh_database

SHANGHAI = ZoneInfo("Asia/Shanghai")
NAME = "张三"
PHONE = "+8613912345678"
ADDRESS = "幸福小区3栋2单元501"
SECRETS = (NAME, PHONE, PHONE[3:], ADDRESS)
"""What must be gone: h1's resident's name and phone (with and without the country code), its
address. h2's resident (李四) stays: the checks can see a name where there is one."""


def purge_doc(start: datetime) -> dict[str, Any]:
    """The test community; h1 isolated for the 14 days up to an hour after ``start``."""
    doc = site_doc(door_debounce_s=0, retention_days=30)
    h1 = doc["households"][0]
    h1["residents"][0]["phone"] = PHONE
    begin = start - timedelta(days=14)
    h1["isolation"] = {
        "start": begin.astimezone(SHANGHAI).strftime("%Y-%m-%dT00:00"),
        "end": (start + timedelta(hours=1)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M"),
    }
    h1["visits"] = []
    return doc


@dataclass
class Released:
    """What the scripted isolation left behind."""

    report_sha: str
    report_files: list[Path]
    evidence: list[Path]
    other_evidence: Path


async def release_h1(h: Harness, clock: FakeClock, data: Path) -> Released:
    """From 09:00 on the isolation's last day: readings (one a fever), a symptom check with a
    symptom, a service request, a pre-report, the notice receipt; the alerts resolved with
    notes; at 10:00 the period ends and the four sign off; the report is archived."""
    care, ops, store = h.running.care, h.running.ops, h.running.store
    assert care is not None
    await advance(clock, 1)
    with h.link() as link:
        therm = BleThermometer(link, omg_base=h.settings.omg_base_topic)
        await asyncio.to_thread(therm.reading, 36.6)
        await asyncio.to_thread(therm.reading, 38.0)

    async def alerts(n: int) -> bool:
        return len(await store.list_alerts(households=["h1"])) >= n

    await eventually(lambda: alerts(1))
    await care.symptoms("h1", "r1", ["fatigue"], "resident", "resident", "page")
    await care.request_service("h1", "supplies", f"{NAME}要的药")
    await care.prereport("h1", "garbage")
    await care.notice_receipt("h1", "w2", "watcher", "console")
    await eventually(lambda: alerts(2))
    for alert in await store.list_alerts(households=["h1"]):
        await ops.resolve(alert.id, "d1", f"{NAME}已复测，正常", role="doctor", via="rest")
    fever = next(a for a in await store.list_alerts(households=["h1"]) if a.type.value == "fever")
    evidence_dir = data / "evidence" / fever.id
    evidence_dir.mkdir(parents=True)
    (evidence_dir / "manifest.json").write_text(json.dumps({"household": "h1"}))
    (evidence_dir / "cam-h1-1.jpg").write_bytes(b"\xff\xd8 a door, " + ADDRESS.encode())
    other = data / "evidence" / ulid(clock.now())
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"household": "h2"}))
    await advance(clock, 3601)  # the period has ended
    for role, by in (("doctor", "d1"), ("officer", "p1"), ("supervisor", "s1"), ("watcher", "w2")):
        await care.signoff("h1", role, by, role, "已核对", "console")
    [release] = await store.releases(["h1"])
    reports = data / "reports"
    reports.mkdir()
    files = [reports / "h1-report.html", reports / "h1-report.pdf"]
    for f in files:
        f.write_text(f"解除报告单 {NAME} {PHONE} {ADDRESS}", encoding="utf-8")
    sha = hashlib.sha256(files[1].read_bytes()).hexdigest()
    assert await store.set_report("h1", release.period_start, sha, sha, "reports/h1-report")
    return Released(sha, files, sorted(evidence_dir.iterdir()), other)


async def rows_holding(store: Store, texts: tuple[str, ...]) -> list[tuple[str, str]]:
    """(table, text) for every stored row holding one of ``texts`` anywhere in it."""
    found = []
    async with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).all():
                shown = repr(tuple(row))
                found += [(table.name, x) for x in texts if x in shown]
    return found


def files_holding(root: Path, texts: tuple[str, ...]) -> list[tuple[str, str]]:
    """(file, text) for every file under ``root`` whose bytes hold one of ``texts``: in UTF-8,
    or escaped as JSON writes it (the store's JSON columns hold ``\\u5f20\\u4e09``)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for x in texts:
                forms = {x.encode(), json.dumps(x)[1:-1].encode()}
                if any(f in data or f.lower() in data for f in forms):
                    found.append((str(path), x))
    return found


async def test_isogate_purge_removes_a_released_households_personal_data_for_good(
    tmp_path: Path, broker: BrokerUnderTest
):
    """--dry-run lists the household and changes nothing; the purge leaves no name, phone or
    address in the SQLite file's bytes or any file of the data dir; counts, hash, audit stay."""
    settings = unique_settings(tmp_path, broker)
    data = settings.data_dir
    # Released 40 days before the wall clock the command runs on (retention: 30 days).
    day = (SystemClock().now() - timedelta(days=40)).astimezone(SHANGHAI).date()
    start = datetime.combine(day, time(9), tzinfo=SHANGHAI)
    token = await prepare(settings, purge_doc(start), start)
    clock = FakeClock(start)
    async with running_gateway(settings, broker, clock, token) as h:
        released = await release_h1(h, clock, data)

    dry = isogate_cli("purge", "--dry-run", data=data)
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout
    [line] = [x for x in dry.stdout.splitlines() if x.startswith("h1 ")]
    assert "readings 2," in line and "alerts 2," in line and "files 4" in line
    for f in [*released.report_files, *released.evidence]:
        assert str(f.relative_to(data)) in dry.stdout
        assert f.exists()
    assert "1 household(s) would be purged" in dry.stdout
    async with Store.open(settings.db_url) as store:
        [release] = await store.releases(["h1"])
        assert release.purged_at is None
        assert len(await store.household_events("h1", kind="temperature")) == 2
        assert await store.list_audit(action="purge") == []
        # There is something to purge, and the scan sees it.
        assert {x for _, x in await rows_holding(store, SECRETS)} == set(SECRETS)

    assert {x for _, x in files_holding(data, SECRETS)} == set(SECRETS)
    done = isogate_cli("purge", data=data)
    assert done.returncode == 0, done.stderr
    assert "1 household(s) purged" in done.stdout

    # Gone from the file's bytes, its write-ahead log, and every file of the data dir.
    assert files_holding(data, SECRETS) == []
    assert files_holding(data, ("李四",)), "h2's resident is still there to be found"
    assert not any(f.exists() for f in [*released.report_files, *released.evidence])
    assert released.other_evidence.is_dir()
    async with Store.open(settings.db_url) as store:
        assert await rows_holding(store, SECRETS) == []
        [release] = await store.releases(["h1"])
        assert release.purged_at is not None
        assert release.report_sha256 == released.report_sha
        counts = release.counts or {}
        assert counts["readings"] == 2 and counts["alerts"] == 2 and counts["files"] == 4
        assert counts["symptom_checks"] >= 1 and counts["events"] >= 2
        [entry] = await store.list_audit(action="purge")
        assert (entry.household, entry.role, entry.via) == ("h1", "cli", "cli")
        assert "readings 2" in (entry.detail or "")
        alerts = await store.list_alerts(households=["h1"])
        assert {a.type.value for a in alerts} == {"fever", "symptom"}
        assert all(a.status.value == "resolved" and a.resolved_by == "d1" for a in alerts)
        assert all(a.note == "已清除" and "已清除" in a.message for a in alerts)
        _, doc = await store.read_site()
        [h1] = [x for x in doc["households"] if x["id"] == "h1"]
        assert h1["address"] == "已清除"
        assert h1["residents"] == [{"id": "r1", "name": "已清除", "flags": ["elderly_alone"]}]

    again = isogate_cli("purge", data=data)
    assert again.returncode == 0 and "0 household(s) purged" in again.stdout


@contextlib.asynccontextmanager
async def on_database(
    kind: str, tmp_path: Path, broker: BrokerUnderTest, start: datetime
) -> AsyncIterator[tuple[Harness, FakeClock]]:
    """A gateway on fake time over SQLite or a fresh PostgreSQL database (dropped after)."""
    async with contextlib.AsyncExitStack() as stack:
        if kind == "sqlite":
            settings = unique_settings(tmp_path, broker)
        else:
            url = await stack.enter_async_context(fresh_database())
            settings = unique_settings(tmp_path, broker, database_url=url)
        token = await prepare(settings, purge_doc(start), start)
        clock = FakeClock(start)
        async with running_gateway(settings, broker, clock, token) as h:
            yield h, clock


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_daily_task_purges_after_retention_and_the_gateway_takes_the_site_up(
    kind: str, tmp_path: Path, broker: BrokerUnderTest
):
    """31 days after the release, at the report's time, the gateway purges by itself: no row
    holds the name, phone or address, the household reads 已清除 in the running gateway."""
    start = datetime.fromisoformat("2026-10-10T09:00:00+08:00")
    async with on_database(kind, tmp_path, broker, start) as (h, clock):
        released = await release_h1(h, clock, h.settings.data_dir)
        store = h.running.store
        assert await rows_holding(store, SECRETS)
        await advance(clock, 30 * 86400)  # 10:00 + 30 days: not yet more than 30 days
        assert await store.releases_to_purge(clock.now() - timedelta(days=30)) == []
        await advance(clock, 86400 + 10 * 3600)  # the next day's report, at 20:00

        async def purged() -> bool:
            [release] = await store.releases(["h1"])
            return release.purged_at is not None

        await eventually(purged, timeout=10)
        assert await rows_holding(store, SECRETS) == []
        assert files_holding(h.settings.data_dir, SECRETS) == []
        assert not any(f.exists() for f in released.report_files)
        [entry] = await store.list_audit(action="purge")
        assert (entry.actor, entry.role, entry.via) == ("system", "system", "system")

        async def reloaded() -> bool:
            hh = h.running.pipeline.directory.households["h1"]
            return hh.address == "已清除" and [r.name for r in hh.residents] == ["已清除"]

        await eventually(reloaded)
        assert h.running.pipeline.directory.households["h2"].residents[0].name == "李四"
