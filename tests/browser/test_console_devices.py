"""The technician at the console: a door sensor nobody bound shows as unknown, is bound to a
household's slot in one form, and the commissioning checklist ticks as it reports."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from simulators.door import DoorSensor
from tests.browser.conftest import OpenConsole, add_user
from tests.conftest import Harness

NEW_DOOR = "h1_replacement_door"


async def _publish(h: Harness, *states: bool) -> None:
    with h.link() as link:
        sensor = DoorSensor(link, NEW_DOOR, "zigbee2mqtt", z2m_base=h.z2m)
        for is_open in states:
            await asyncio.to_thread(sensor.report, is_open)


async def test_a_technician_binds_an_unknown_door_sensor_and_sees_the_checklist_tick(
    gateway: Harness, open_console: OpenConsole
):
    """t1 sees the unbound sensor publishing, binds it to door-h1, and once it opens and closes
    the checklist of h1 marks door-h1 done without a reload."""
    await _publish(gateway, False)
    console = await open_console(await add_user(gateway, "t1", "technician"))
    page = console.page
    await page.click("[data-tab=tech]")
    row = page.locator("#unknown-devices tbody tr", has_text=NEW_DOOR)
    await expect(row).to_be_visible()
    await page.select_option("#commission-household", "h1")
    door = page.locator("#commission tbody tr", has_text="door-h1")
    await expect(door.first).to_be_visible()
    await console.screenshot("console-devices-zh-1366x768")

    await row.locator("select[name=household]").select_option("h1")
    await row.locator("select[name=device]").select_option("door-h1")
    await row.locator("button[type=submit]").click()
    await expect(page.locator("#bind-status")).to_contain_text(f"{NEW_DOOR} → door-h1")
    await expect(row).to_have_count(0)  # bound: no longer unknown

    await _publish(gateway, True, False)
    await expect(page.locator("#commission tbody tr.done", has_text="door-h1").first).to_be_visible(
        timeout=10000
    )
    assert console.errors == []
