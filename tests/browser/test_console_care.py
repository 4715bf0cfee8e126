"""The isolation's paperwork at the console (1366×768): a resident's service request appears
live on the watcher's tasks and is marked done, announced openings show as info lines and not
as alerts, visits are entered on the household page, and a household is released by its four
sign-offs from the release view. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenConsole, add_user, alert_of, open_door
from tests.conftest import BrokerUnderTest, Harness, advance, fake_time_gateway
from tests.integration.access_support import api
from tests.integration.care_support import START, care_doc, publish

H1 = "幸福小区3栋2单元501"


@pytest.fixture
async def care(tmp_path: Path, broker: BrokerUnderTest) -> AsyncIterator[tuple[Harness, Any]]:
    """The care community's gateway at 03:00 on a fake clock (h2's period ends at 03:10)."""
    async with fake_time_gateway(tmp_path, broker, START, care_doc()) as (h, clock):
        yield h, clock


@pytest.fixture
def gateway(care: tuple[Harness, Any]) -> Harness:
    """The gateway the console fixtures open: the care community's."""
    return care[0]


async def test_a_service_request_appears_live_on_the_tasks_and_is_marked_done(
    care: tuple[Harness, Any], open_console: OpenConsole
):
    """w1 on the Tasks view sees a resident's supplies request arrive without a reload, with
    its address and time, marks it done (who and when); the check-in visits of both households
    are overdue; a resident's announced opening is an info line in the alert view, not an
    alert."""
    h, _clock = care
    desk = h.running.care
    assert desk is not None
    console = await open_console(await add_user(h, "w1", "watcher"))
    page = console.page
    await page.click("[data-tab=tasks]")
    await expect(page.locator("#tasks")).to_contain_text("没有待办的服务请求")
    await expect(page.locator("#checkins tr.overdue")).to_have_count(2)

    request = await desk.request_service("h1", "supplies", "米、油、鸡蛋")
    await desk.request_service("h2", "garbage", None)
    row = page.locator(f"#task-list tr[data-id='{request.id}']")
    await expect(row).to_contain_text("代购生活用品")
    await expect(row).to_contain_text(H1)
    await expect(row).to_contain_text("03:00")
    await expect(row).to_contain_text("米、油、鸡蛋")
    await expect(page.locator("#tasks-count")).to_have_text("2")
    await console.screenshot("console-tasks-zh-1366x768")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366

    await row.locator("button.complete").click()
    await expect(row).to_have_count(0)
    done = page.locator(f"#done-list tr[data-id='{request.id}']")
    await expect(done).to_contain_text("李伟")
    await expect(page.locator("#tasks-count")).to_have_text("1")
    stored = await h.running.store.service_request(request.id)
    assert stored is not None and stored.done_by == "w1"
    await console.screenshot("console-tasks-done-zh-1366x768")

    await page.click("[data-tab=alerts]")
    await desk.prereport("h1", "garbage")
    line = page.locator("#care-feed-list li.feed-prereport")
    await expect(line).to_contain_text(f"住户报备开门：{H1} 倒垃圾 至 03:10")
    await expect(page.locator("#alert-list li.alert")).to_have_count(0)
    assert await console.unacked() == 0
    await console.screenshot("console-feed-prereport-zh-1366x768")
    assert console.errors == []


async def test_visits_are_entered_on_the_household_page_and_announced_openings_show_live(
    care: tuple[Harness, Any], open_console: OpenConsole
):
    """h1's breach carries 重点关注 (独居老人) in the queue and the panel; on h1's page the
    resident is badged, the check-in is overdue, sampling without an escort is refused with the
    desk's reason, with w2 it is entered; a check-in visit clears the overdue badge; an opening
    the resident announces appears without a reload."""
    h, _clock = care
    desk = h.running.care
    assert desk is not None
    console = await open_console(await add_user(h, "w1", "watcher"))
    page = console.page
    await open_door(h, "h1")
    await alert_of(h, "h1")
    card = console.card("h1")
    await expect(card.locator(".vuln")).to_have_text("重点关注：独居老人")
    await card.click()
    await expect(page.locator("#alert-detail .vuln")).to_have_text("重点关注：独居老人")
    await console.screenshot("console-alert-vulnerable-zh-1366x768")

    await page.click("#alert-detail a[href='#/household/h1']")
    await expect(page.locator(".household-facts .vuln")).to_have_text("重点关注：独居老人")
    await expect(page.locator("#checkin-badge")).to_have_attribute("data-overdue", "true")
    await expect(page.locator("#notice-link")).to_have_attribute("target", "_blank")
    form = page.locator("#visit-form")
    await form.locator("select[name=reason]").select_option("sampling")
    await form.locator("input[name=start]").fill("2026-11-23T03:00")
    await form.locator("input[name=end]").fill("2026-11-23T03:30")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#visit-message")).to_contain_text("核酸采样须陪同")
    await form.locator("select[name=escort]").select_option("w2")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#visit-message")).to_contain_text("已登记：核酸采样")
    sampled = page.locator("#visit-list tr[data-reason=sampling]")
    await expect(sampled).to_contain_text("刘芳")

    await form.locator("select[name=reason]").select_option("checkin")
    await form.locator("select[name=escort]").select_option("")
    await form.locator("input[name=end]").fill("2026-11-23T03:20")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#checkin-badge")).to_have_attribute("data-overdue", "false")
    await expect(page.locator("#checkin-badge")).to_contain_text("11-26 03:00")

    await desk.prereport("h1", "delivery")
    await expect(page.locator("#prereport-list li")).to_contain_text("取物资/快递")
    await expect(page.locator("#prereports")).to_contain_text("共 1 次")
    await page.locator("#visits").scroll_into_view_if_needed()
    await console.screenshot("console-household-visits-zh-1366x768")
    await page.locator("#prereports").scroll_into_view_if_needed()
    await console.screenshot("console-household-prereports-zh-1366x768")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366

    await page.click(".top-status .lang-switch")
    await expect(page.locator("#visits h3")).to_have_text("Visits")
    await expect(page.locator("#visit-list tr[data-reason=sampling]")).to_contain_text("swab")
    await expect(page.locator(".household-facts .vuln")).to_have_text("Priority: elderly, alone")
    await page.locator("#visits").scroll_into_view_if_needed()
    await console.screenshot("console-household-visits-en-1366x768")
    assert console.errors == []


async def test_the_release_view_takes_a_household_through_its_four_sign_offs(
    care: tuple[Harness, Any], open_console: OpenConsole
):
    """h2's doctor sees the period's log with yesterday's fever and the missed windows, cannot
    sign while the fever is open, signs once it is resolved; the officer's step waits for him;
    after the officer and the cadre, the watcher's button releases h2 and its report is linked
    on both tabs."""
    h, clock = care
    fever = {"type": "temperature", "celsius": 38.6, "ts": "2026-11-22T07:30:00+08:00"}
    await publish(h, f"{h.base}/dev/therm-r2/event", fever)
    alert = await alert_of(h, "h2", "fever")
    await advance(clock, 11 * 60)  # 03:11: h2's period has ended

    doctor = await open_console(await add_user(h, "d2", "doctor"))
    page = doctor.page
    await page.click("[data-tab=release]")
    await page.click(".release-item[data-household=h2]")
    log = page.locator("#temperature-log")
    await expect(log.locator("tr[data-date='2026-11-22'] .hot")).to_have_text("38.6")
    await expect(log.locator("td.slot.missed")).to_have_count(11)  # 5 readings, 6 checks
    await expect(page.locator("#release-blocked")).to_contain_text("发热")
    await expect(page.locator("#sign")).to_be_disabled()
    await doctor.screenshot("console-release-blocked-zh-1366x768")

    await expect(page.locator("#release-blocked")).to_contain_text("告警未解除")
    clock.advance(1)  # the resolution is a change after the escalation the console has
    async with api(h, await add_user(h, "d2x", "admin")) as admin:
        note = {"note": "复测36.8°C，已随访"}
        assert (await admin.post(f"/api/v1/alerts/{alert['id']}/resolve", json=note)).is_success
        await expect(page.locator("#release-blocked")).to_have_count(0)
        await expect(page.locator("#sign")).to_be_enabled()
        await page.fill("#signoff-note", "体温表已核")
        await page.click("#sign")
        await expect(page.locator("#signoffs li[data-role=doctor]")).to_contain_text("刘医生")
        await expect(page.locator("#signoffs li[data-role=doctor]")).to_contain_text("体温表已核")
        await expect(page.locator("#sign")).to_have_attribute("data-role", "officer")
        await expect(page.locator("#sign")).to_be_disabled()
        await expect(page.locator("#sign-waiting")).to_contain_text("包保民警")
        await doctor.screenshot("console-release-doctor-signed-zh-1366x768")

        for who, role in (("p2", "officer"), ("s1", "supervisor")):
            async with api(h, await add_user(h, who, role)) as person:
                answer = await person.post(
                    "/api/v1/households/h2/signoffs", json={"role": role, "note": None}
                )
                assert answer.status_code == 200, answer.text
        await expect(page.locator("#signoffs li[data-role=supervisor].signed")).to_have_count(1)

    watcher = await open_console(await add_user(h, "w3", "watcher"))
    await watcher.page.click("[data-tab=release]")
    await watcher.page.click(".release-item[data-household=h2]")
    await expect(watcher.page.locator("#sign")).to_be_enabled()
    await expect(watcher.page.locator("#sign")).to_have_text("以管控人员身份签字")
    await watcher.page.click("#sign")
    done = watcher.page.locator("#release-done")
    await expect(done).to_contain_text("已解除隔离")
    report = "/api/v1/households/h2/release-report"
    await expect(done.locator("a.report-link")).to_have_attribute("href", report)
    await expect(watcher.page.locator("#released-list tr[data-household=h2]")).to_be_visible()
    await expect(page.locator("#release-done")).to_be_visible()  # the doctor's tab, live
    await watcher.screenshot("console-release-released-zh-1366x768")
    assert await watcher.page.evaluate("document.documentElement.scrollWidth") <= 1366

    await watcher.page.click(".top-status .lang-switch")
    await expect(watcher.page.locator("#release-done")).to_contain_text("Released")
    await expect(watcher.page.locator("#signoffs li[data-role=watcher]")).to_contain_text(
        "control staff"
    )
    await watcher.screenshot("console-release-released-en-1366x768")
    assert doctor.errors == [] and watcher.errors == []
