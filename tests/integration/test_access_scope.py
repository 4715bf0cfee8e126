"""Who sees and does what, over the running gateway: scope by role, the intake lists for
technicians, breaches not resolved by technicians, the audit log, masked phones and hidden
webhook keys, and the signed links of messages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gateway.notify.channels.base import Notification
from tests.conftest import BrokerUnderTest, Harness, advance
from tests.integration.access_support import (
    HOSTILE_ADDRESS,
    WEBHOOK_KEY,
    access_gateway,
    api,
    breach,
    login,
    token_for,
)
from tests.integration.test_evidence_api import jpeg, keep_evidence


async def _group_notice(h: Harness, alert_id: str) -> Notification:
    """The WeCom group's notice of an alert, as the outbox keeps it (its bot is unreachable)."""
    later = h.running.pipeline.clock.now() + timedelta(days=1)
    for item in await h.running.store.due_outbox(later):
        if item.alert_id == alert_id and item.channel == "wecom-group":
            return Notification.from_json(item.body)
    raise AssertionError(f"no group notice of {alert_id}")


async def test_an_officer_sees_only_their_own_household(tmp_path: Path, broker: BrokerUnderTest):
    """p2 (h2) lists only h2 and gets 403 on h1's page, events, alert and snapshot."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        p2 = await token_for(h, "p2", "officer")
        h1_alert = await breach(h, "h1")
        h2_alert = await breach(h, "h2")
        async with api(h, p2) as client:
            assert [x["id"] for x in (await client.get("/api/v1/households")).json()] == ["h2"]
            for path in (
                "/api/v1/households/h1",
                "/api/v1/households/h1/events",
                "/api/v1/households/h1/readings",
                f"/api/v1/alerts/{h1_alert['id']}",
                f"/api/v1/alerts/{h1_alert['id']}/snapshot",
                f"/api/v1/alerts/{h1_alert['id']}/evidence",
            ):
                assert (await client.get(path)).status_code == 403, path
            listed = (await client.get("/api/v1/alerts")).json()
            assert {a["id"] for a in listed} == {h2_alert["id"]}


async def test_a_watcher_sees_the_households_of_their_shifts(
    tmp_path: Path, broker: BrokerUnderTest
):
    """w2's only shift watches h1: h2 is 403 for w2; w1's shift is over all households."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        w1, w2 = await token_for(h, "w1", "watcher"), await token_for(h, "w2", "watcher")
        async with api(h, w2) as client:
            assert [x["id"] for x in (await client.get("/api/v1/households")).json()] == ["h1"]
            assert (await client.get("/api/v1/households/h2")).status_code == 403
            assert (await client.get("/api/v1/households/h1")).status_code == 200
        async with api(h, w1) as client:
            listed = {x["id"] for x in (await client.get("/api/v1/households")).json()}
            assert listed == {"h1", "h2"}


async def test_intake_lists_are_for_technicians_supervisors_and_admins(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Rejected messages and unknown devices: 403 for officer, doctor, watcher; 200 else."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        for name, role, code in [
            ("p1", "officer", 403),
            ("d1", "doctor", 403),
            ("w1", "watcher", 403),
            ("t1", "technician", 200),
            ("s1", "supervisor", 200),
            ("admin", "admin", 200),
        ]:
            async with api(h, await token_for(h, name, role)) as client:
                for path in ("/api/v1/rejected", "/api/v1/devices/unknown"):
                    assert (await client.get(path)).status_code == code, (name, path)


async def test_a_breach_is_not_resolved_by_a_technician_but_by_its_officer(
    tmp_path: Path, broker: BrokerUnderTest
):
    """t1 and d1 may acknowledge h1's breach but resolving it is 403; p1 resolves it."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        alert = await breach(h, "h1")
        path = f"/api/v1/alerts/{alert['id']}"
        note = {"note": "called the resident; they went back in"}
        async with api(h, await token_for(h, "t1", "technician")) as tech:
            assert (await tech.post(f"{path}/resolve", json=note)).status_code == 403
            assert (await tech.post(f"{path}/ack")).status_code == 200
        async with api(h, await token_for(h, "d1", "doctor")) as doctor:
            assert (await doctor.post(f"{path}/resolve", json=note)).status_code == 403
        async with api(h, await token_for(h, "p1", "officer")) as officer:
            done = await officer.post(f"{path}/resolve", json=note)
            assert done.status_code == 200, done.text
            assert (done.json()["status"], done.json()["resolved_by"]) == ("resolved", "p1")


async def test_reads_of_personal_data_and_actions_are_in_the_audit_log_for_admins(
    tmp_path: Path, broker: BrokerUnderTest
):
    """p1's reads and ack (rest) and w1's console login and ack (console) are audited; only an
    admin reads the log, filtered by actor or household."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        p1 = await token_for(h, "p1", "officer")
        alert = await breach(h, "h1")
        async with api(h, p1) as officer:
            for path in ("", "/events", "/readings"):
                assert (await officer.get(f"/api/v1/households/h1{path}")).status_code == 200
            assert (await officer.post(f"/api/v1/alerts/{alert['id']}/ack")).status_code == 200
            assert (await officer.get("/api/v1/audit")).status_code == 403
        async with api(h) as console:
            session = await login(console, await token_for(h, "w1", "watcher"))
            other = await breach(h, "h2")
            csrf = {"X-CSRF-Token": session["csrf"]}
            ack = await console.post(f"/api/v1/alerts/{other['id']}/ack", headers=csrf)
            assert ack.status_code == 200
        async with api(h, await token_for(h, "root", "admin")) as admin:
            mine = (await admin.get("/api/v1/audit", params={"actor": "p1"})).json()
            assert [(e["action"], e["via"], e["household"]) for e in reversed(mine)] == [
                ("read_household", "rest", "h1"),
                ("read_events", "rest", "h1"),
                ("read_readings", "rest", "h1"),
                ("ack", "rest", "h1"),
            ]
            assert mine[0]["target"] == alert["id"] and mine[0]["role"] == "officer"
            w1 = (await admin.get("/api/v1/audit", params={"actor": "w1"})).json()
            assert [(e["action"], e["via"]) for e in reversed(w1)] == [
                ("login", "console"),
                ("ack", "console"),
            ]
            h2 = (await admin.get("/api/v1/audit", params={"household": "h2"})).json()
            assert [e["action"] for e in h2] == ["ack"]
            since = (await admin.get("/api/v1/audit", params={"since": "2026-11-24T00:00"})).json()
            assert since == []


async def test_phones_are_masked_for_roles_that_do_not_call_them_and_keys_never_shown(
    tmp_path: Path, broker: BrokerUnderTest
):
    """h1's officer reads its resident's and the SMS phones in full, a watcher masked; no one
    reads the WeCom bot's key in the deliveries."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        alert = await breach(h, "h1")
        seen = {}
        for name, role in (("p1", "officer"), ("w1", "watcher")):
            async with api(h, await token_for(h, name, role)) as client:
                house = (await client.get("/api/v1/households/h1")).json()
                detail = (await client.get(f"/api/v1/alerts/{alert['id']}")).json()
                seen[name] = (house["residents"][0]["phone"], detail["deliveries"])
        assert seen["p1"][0] == "+8613912345678"
        assert seen["w1"][0] == "+86139****5678"
        for name, deliveries in ((n, d) for n, (_, d) in seen.items()):
            targets = {d["channel"]: d["target"] for d in deliveries if d["channel"] != "mqtt"}
            assert WEBHOOK_KEY not in str(deliveries), name
            assert targets["wecom-group"] == "http://127.0.0.1:9/cgi-bin/webhook/send?<redacted>"
            sms = {d["target"] for d in deliveries if d["channel"] == "sms"}
            assert sms, deliveries
            if name == "p1":
                assert "+8613800000002" in sms
            else:
                assert all("****" in phone for phone in sms), sms


async def test_a_message_links_its_alert_page_and_snapshot_signed_until_they_expire(
    tmp_path: Path, broker: BrokerUnderTest
):
    """The group notice carries a signed alert page link: it opens without login, shows the
    hostile address as text; a tampered link is 403, and after 24 h the link is too."""
    async with access_gateway(tmp_path, broker) as (h, clock):
        alert = await breach(h, "h1")
        notice = await _group_notice(h, alert["id"])
        assert notice.alert_url and notice.alert_url.startswith(f"/l/alert/{alert['id']}?exp=")
        async with api(h) as phone:
            page = await phone.get(notice.alert_url)
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("text/html")
            assert "<script>" not in page.text
            assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text
            assert HOSTILE_ADDRESS not in page.text
            assert page.headers["referrer-policy"] == "no-referrer"
            tampered = notice.alert_url[:-2] + (
                "AA" if not notice.alert_url.endswith("AA") else "BB"
            )
            assert (await phone.get(tampered)).status_code == 403
            other = await breach(h, "h2")
            moved = notice.alert_url.replace(alert["id"], other["id"])
            assert (await phone.get(moved)).status_code == 403
            assert (await phone.get(f"/l/alert/{alert['id']}")).status_code == 403
            # A signed snapshot link opens the JPEG without a login.
            await keep_evidence(h, other, frames=3)
            links = h.running.links
            assert links is not None
            path = f"/api/v1/alerts/{other['id']}/snapshot"
            exp = int(clock.now().timestamp()) + 3600
            snap = await phone.get(links.sign(path, exp))
            assert snap.status_code == 200 and snap.content == jpeg(2)
            assert (await phone.get(path)).status_code == 401
            await advance(clock, 24 * 3600 + 1)
            assert (await phone.get(notice.alert_url)).status_code == 403
        reads = await h.running.store.list_audit(actor="link")
        assert {(e.action, e.via, e.target) for e in reads} == {
            ("read_alert", "link", alert["id"]),
            ("read_snapshot", "link", other["id"]),
        }
