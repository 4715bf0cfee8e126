"""A breach heard on the 433 MHz radio while the broker is down reaches the officer once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from gateway.clock import SystemClock
from simulators.broker import Mosquitto
from simulators.police_app import PoliceApp
from simulators.rflink import Ev1527Contact, RFLinkSimulator
from tests.conftest import BrokerUnderTest, prepare, running_gateway, site_doc, unique_settings

OUTAGE_S = 12.0  # with retries every 1 s at most: a dozen retry rounds
CONTACT = Ev1527Contact(id="0a1b2c")


async def test_breach_during_broker_outage_reaches_the_officer_exactly_once(
    tmp_path: Path, broker: BrokerUnderTest, mosquitto_only: Mosquitto
):
    """Broker down 12 s, a radio door breach meanwhile, broker back: p2 gets it once."""
    doc = site_doc(door_debounce_s=0)
    doc["households"][1]["devices"][0] = {
        "id": "door-h2",
        "kind": "door",
        "protocol": "rflink",
        "address": "EV1527:0A1B2C",
        "codes": CONTACT.codes(),
    }
    with RFLinkSimulator(repeats=3) as radio:
        s = unique_settings(tmp_path, broker, rflink_port=radio.path, retry_cap_s=1.0)
        clock = SystemClock()
        token = await prepare(s, doc, clock.now())
        async with running_gateway(s, broker, clock, token) as h:
            app = PoliceApp(
                "p2",
                port=broker.port,
                base=s.base_topic,
                ack_delay=None,
                client_id=f"police-p2-{uuid.uuid4().hex[:8]}",
                clean_session=False,  # the phone's subscription outlives the broker's restart
            )
            with app:
                await asyncio.sleep(0.5)  # the gateway opens the radio's port
                await asyncio.to_thread(mosquitto_only.stop)
                try:
                    await asyncio.to_thread(radio.open_door, CONTACT)

                    async def raised() -> bool:
                        return bool(await h.running.store.list_alerts(type="door_breach"))

                    await h.wait_for(raised, 10)
                    await asyncio.sleep(OUTAGE_S)  # the outbox retries all along
                finally:
                    await asyncio.to_thread(mosquitto_only.start)
                [alert] = await h.running.store.list_alerts(type="door_breach")
                await asyncio.to_thread(app.wait_for, lambda got: len(got) >= 1, 60)
                # The sentinel: the acknowledgement, published after every copy of the raise.
                url = f"http://127.0.0.1:{h.running.http_port}/api/v1/alerts/{alert.id}/ack"
                async with httpx.AsyncClient(trust_env=False) as client:
                    answer = await client.post(
                        url, json={}, headers={"Authorization": f"Bearer {h.token}"}
                    )
                assert answer.status_code == 200, answer.text
                got = await asyncio.to_thread(
                    app.wait_for, lambda got: any(a.status == "acknowledged" for a in got), 30
                )
    raised_copies = [a for a in got if a.id == alert.id and a.status == "open"]
    assert len(raised_copies) == 1, [(a.status, a.received_at) for a in got]
