"""Delivery through the outbox: a webhook that fails, a gateway killed, SMS through the modem."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

from gateway.clock import SystemClock
from gateway.store import Store
from isogate.settings import Settings
from simulators.broker import Mosquitto, free_port
from simulators.link import SimLink
from simulators.modem import ModemSimulator
from simulators.process import start_gateway, wait_healthy
from simulators.webhook_receiver import WebhookReceiver
from tests.conftest import (
    BrokerUnderTest,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)

HOUSEHOLDS = 8


def _community(channels: list[dict[str, Any]]) -> dict[str, Any]:
    """The test site plus six more native-door households, and the given channels."""
    doc = site_doc(door_debounce_s=0)
    for i in range(3, HOUSEHOLDS + 1):
        doc["households"].append(
            {
                "id": f"h{i}",
                "address": f"幸福小区4栋1单元{i}01",
                "officer": "p1",
                "doctor": "d1",
                "technician": "t1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2099-12-04T00:00"},
                "devices": [{"id": f"door-h{i}", "kind": "door", "protocol": "native"}],
            }
        )
    doc["channels"] = channels
    return doc


def _open_doors(link: SimLink, s: Settings) -> None:
    for i in range(2, HOUSEHOLDS + 1):
        link.publish(
            f"{s.base_topic}/dev/door-h{i}/event", json.dumps({"type": "door", "open": True})
        )


async def _breaches(s: Settings) -> dict[str, str]:
    """Every door breach stored: alert id → household."""
    async with Store.open(s.db_url) as store:
        return {a.id: a.household_id for a in await store.list_alerts(type="door_breach")}


async def _sentinel_delivered(
    s: Settings, broker: BrokerUnderTest, hook: WebhookReceiver, timeout: float = 30
) -> None:
    """Open h1's door, a later breach on the same channel, and wait until it is delivered."""
    with SimLink(broker.host, broker.port) as link:
        await asyncio.to_thread(
            link.publish, f"{s.z2m_base_topic}/h1/front door", b'{"contact": false}'
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sentinel = {i for i, hh in (await _breaches(s)).items() if hh == "h1"}
        if sentinel & {d.alert_id for d in hook.deliveries}:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the sentinel breach at h1 was not delivered")


async def test_webhook_down_and_gateway_killed_every_alert_delivered_once(
    tmp_path: Path, broker: BrokerUnderTest, mosquitto_only: Mosquitto
):
    """Receiver answers 500, the gateway is SIGKILLed, both recover: each alert arrives once."""
    with WebhookReceiver() as hook:
        hook.fail_until_cleared(500)
        doc = _community(
            [
                {
                    "id": "police-group",
                    "kind": "wecom",
                    "url": hook.url("/wecom"),
                    "roles": ["officer"],
                    "types": ["door_breach"],
                }
            ]
        )
        s = unique_settings(
            tmp_path, broker, http_port=free_port(), retry_base_s=0.2, retry_cap_s=1.0
        )
        await prepare(s, doc, SystemClock().now())
        gw = start_gateway(s)
        try:
            await wait_healthy(s.http_port)
            with SimLink(broker.host, broker.port) as link:
                await asyncio.to_thread(_open_doors, link, s)
            deadline = time.monotonic() + 20
            while hook.total_posts < 2 * (HOUSEHOLDS - 1) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert hook.deliveries == []  # every attempt so far failed
            gw.send_signal(signal.SIGKILL)
            gw.wait(10)
            failed_posts = hook.total_posts
            hook.clear()
            gw = start_gateway(s)
            await wait_healthy(s.http_port)
            await asyncio.to_thread(hook.wait_for, HOUSEHOLDS - 1, 30)
            # A duplicate, if any, goes out through the outbox before a later alert does.
            await _sentinel_delivered(s, broker, hook)
        finally:
            gw.kill()
            gw.wait(10)
        alerts = await _breaches(s)
    print(f"\n{failed_posts} failed POSTs before SIGKILL; {len(hook.deliveries)} delivered after")
    assert sorted(alerts.values()) == sorted(f"h{i}" for i in range(1, HOUSEHOLDS + 1))
    counts = hook.counts()
    assert {alert_id for alert_id, _ in counts} == set(alerts)
    assert all(n == 1 for n in counts.values()), counts


async def test_breach_sms_reaches_the_officer_through_the_modem(
    tmp_path: Path, broker: BrokerUnderTest
):
    """A breach at h1 → the AT dialogue on the modem pty, to p1's number, in UCS2."""
    with ModemSimulator() as modem:
        doc = _community([{"id": "sms", "kind": "sms", "roles": ["officer"]}])
        s = unique_settings(tmp_path, broker, modem_port=modem.path)
        clock = SystemClock()
        token = await prepare(s, doc, clock.now())
        async with running_gateway(s, broker, clock, token) as h:
            with h.link() as link:
                await asyncio.to_thread(
                    link.publish, f"{h.z2m}/h1/front door", b'{"contact": false}'
                )
            sms = await asyncio.to_thread(modem.wait_for_sms, 1, 10)
            alert = (await h.running.store.list_alerts())[0]

            async def sms_delivered() -> bool:
                rows = await h.running.store.alert_deliveries(alert.id)
                return any(d["channel"] == "sms" and d["state"] == "delivered" for d in rows)

            await h.wait_for(sms_delivered)
        [first] = sms
        assert first.number == "+8613800000002"
        assert "幸福小区3栋2单元501" in first.text
        assert "95E878C1" in first.text_raw  # 门磁 in UCS2
        assert any(line.startswith("AT+CMGS=") for line in modem.log)
        assert 'AT+CSCS="UCS2"' in modem.log
