"""The REST API over a running gateway: health that tells the truth, writes that answer in
bounded time, checked query parameters, and an OpenAPI document that covers every answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.alerting.operations import ANSWER_WITHIN_S
from simulators.door import DoorSensor
from tests.conftest import Harness, lock_sqlite

ALERT_FIELDS = {
    "id", "type", "severity", "household", "address", "device", "raised_at", "status",
    "recipients", "escalation_level", "message", "snapshot", "seen_by_camera", "count",
    "updated_at", "acked_by", "acked_at", "resolved_by", "resolved_at", "note", "steps",
    "vulnerable",
}  # fmt: skip

# Every route and the status codes it can answer.
ROUTES = {
    ("get", "/healthz"): {"200", "503"},
    ("get", "/metrics"): {"200"},
    ("get", "/api/v1/alerts"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/alerts/{alert_id}"): {"200", "401", "403", "404", "422"},
    ("post", "/api/v1/alerts/{alert_id}/ack"): {"200", "401", "403", "404", "409", "422", "503"},
    ("post", "/api/v1/alerts/{alert_id}/resolve"): {
        "200", "401", "403", "404", "409", "422", "503",
    },
    ("get", "/api/v1/alerts/{alert_id}/snapshot"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/alerts/{alert_id}/evidence"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/alerts/{alert_id}/evidence/{file}"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/rejected"): {"200", "401", "403", "422"},
    ("get", "/api/v1/devices/unknown"): {"200", "401", "403", "422"},
    ("get", "/api/v1/households"): {"200", "401"},
    ("get", "/api/v1/households/{household_id}"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/households/{household_id}/events"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/households/{household_id}/readings"): {"200", "401", "403", "404", "422"},
    ("post", "/api/v1/session"): {"200", "401", "403", "429"},
    ("get", "/api/v1/session"): {"200", "401"},
    ("delete", "/api/v1/session"): {"204", "401", "403"},
    ("get", "/api/v1/audit"): {"200", "401", "403", "422"},
    ("get", "/l/alert/{alert_id}"): {"200", "403", "404", "422"},
    ("get", "/api/v1/plans"): {"200", "401"},
    ("post", "/api/v1/alerts/{alert_id}/steps"): {"200", "401", "403", "404", "409", "422", "503"},
    ("get", "/api/v1/roster"): {"200", "401"},
    ("get", "/api/v1/handover"): {"200", "401", "404"},
    ("post", "/api/v1/handover/{handover_id}/accept"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/households/{household_id}/timeline"): {"200", "401", "403", "404", "422"},
    ("get", "/api/v1/households/{household_id}/commission"): {"200", "401", "403", "404", "422"},
    ("post", "/api/v1/devices/unknown/bind"): {"200", "401", "403", "404", "409", "422"},
    ("get", "/api/v1/households/{household_id}/link"): {"200", "401", "403", "404", "422", "503"},
    ("post", "/api/v1/households/{household_id}/link/rotate"): {
        "200", "401", "403", "404", "422", "503",
    },
    ("post", "/api/v1/households/{household_id}/symptoms"): {
        "200", "401", "403", "404", "409", "422", "503",
    },
    ("get", "/r/{secret}"): {"200", "404", "422", "429"},
    ("get", "/r/{secret}/info"): {"200", "404", "422", "429"},
    ("post", "/r/{secret}"): {"200", "403", "404", "409", "422", "429", "503"},
    ("post", "/r/{secret}/symptoms"): {"200", "403", "404", "409", "422", "429", "503"},
    ("post", "/r/{secret}/services"): {"200", "403", "404", "409", "422", "429", "503"},
    ("get", "/api/v1/households/{household_id}/notice"): {"200", "401", "403", "404", "422", "503"},
    ("get", "/api/v1/households/{household_id}/notice.pdf"): {
        "200", "401", "403", "404", "422", "503",
    },
    ("post", "/api/v1/households/{household_id}/notice/receipt"): {
        "200", "401", "403", "404", "422", "503",
    },
    ("get", "/api/v1/households/{household_id}/release-report"): {
        "200", "401", "403", "404", "422", "500",
    },
    ("get", "/api/v1/households/{household_id}/release-report.pdf"): {
        "200", "401", "403", "404", "422", "500",
    },
    ("get", "/api/v1/reports/releases"): {"200", "401", "403"},
    ("get", "/api/v1/households/{household_id}/visits"): {"200", "401", "403", "404", "422", "503"},
    ("post", "/api/v1/households/{household_id}/visits"): {
        "200", "401", "403", "404", "422", "503",
    },
    ("get", "/api/v1/visits/due"): {"200", "401", "503"},
    ("get", "/api/v1/services"): {"200", "401", "422", "503"},
    ("post", "/api/v1/services/{request_id}/done"): {
        "200", "401", "403", "404", "409", "422", "503",
    },
    ("get", "/api/v1/households/{household_id}/signoffs"): {
        "200", "401", "403", "404", "422", "503",
    },
    ("post", "/api/v1/households/{household_id}/signoffs"): {
        "200", "401", "403", "404", "409", "422", "503",
    },
    ("get", "/api/v1/release/due"): {"200", "401", "503"},
    ("get", "/api/v1/households/{household_id}/temperature-log"): {
        "200", "401", "403", "404", "422",
    },
    ("get", "/api/v1/reports/daily"): {"200", "401", "422"},
}  # fmt: skip


@pytest.fixture
async def client(gateway: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's HTTP client on the running gateway's API."""
    url = f"http://127.0.0.1:{gateway.running.http_port}"
    headers = {"Authorization": f"Bearer {gateway.token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as c:
        yield c


async def _breach(gateway: Harness) -> str:
    """Open h2's door at night-time rules; returns the breach alert's id."""
    with gateway.link() as link:
        await asyncio.to_thread(DoorSensor(link, "door-h2", "native", base_topic=gateway.base).open)
        _, alert = await gateway.next_alert()
    assert alert["type"] == "door_breach"
    return str(alert["id"])


async def test_healthz_is_503_while_any_part_is_down_and_says_which(
    gateway: Harness, client: httpx.AsyncClient
):
    """The database part reported down turns /healthz to 503 with its reason; up again, 200."""
    assert (await client.get("/healthz")).status_code == 200
    health = gateway.running.health
    health.down("database", "disk full: could not commit")
    down = await client.get("/healthz")
    assert down.status_code == 503
    body = down.json()
    assert body["ok"] is False
    [part] = [p for p in body["parts"] if p["name"] == "database"]
    assert (part["ok"], part["reason"]) == (False, "disk full: could not commit")
    assert part["since"]
    assert {p["name"] for p in body["parts"]} >= {"check:broker", "check:database"}
    health.up("database")
    up = await client.get("/healthz")
    assert up.status_code == 200
    assert all(p["ok"] for p in up.json()["parts"])


async def test_healthz_is_503_when_the_broker_is_not_connected(
    gateway: Harness, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    """A lost broker connection alone is enough for 503, named as the broker check."""
    monkeypatch.setattr(type(gateway.running.session), "connected", property(lambda _s: False))
    down = await client.get("/healthz")
    assert down.status_code == 503
    [part] = [p for p in down.json()["parts"] if p["name"] == "check:broker"]
    assert part["reason"] == "not connected to the broker"


async def test_ack_and_resolve_answer_503_in_bounded_time_while_the_database_is_locked(
    gateway: Harness, client: httpx.AsyncClient
):
    """A locked database: ack and resolve say 503 within the bound; released, both work."""
    alert_id = await _breach(gateway)
    desk = gateway.running.pipeline.desk
    lock = await lock_sqlite(gateway)
    try:
        for path, body in (("ack", None), ("resolve", {"note": "neighbour checked"})):
            t0 = time.monotonic()
            answer = await client.post(f"/api/v1/alerts/{alert_id}/{path}", json=body)
            took = time.monotonic() - t0
            assert answer.status_code == 503, answer.text
            assert answer.json()["detail"].startswith("database busy: ")
            assert took < ANSWER_WITHIN_S + 3
    finally:
        await asyncio.to_thread(lock.rollback)
        lock.close()
    # Nothing was changed: the desk and the store still hold the alert open.
    held = desk.find(alert_id)
    assert held is not None and held.status.value == "open"
    stored = await gateway.running.store.get_alert(alert_id)
    assert stored is not None and stored.status.value == "open"
    acked = await client.post(f"/api/v1/alerts/{alert_id}/ack")
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acked_at"] is not None
    resolved = await client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"note": "ok"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    stored = await gateway.running.store.get_alert(alert_id)
    assert stored is not None and stored.status.value == "resolved"


async def test_alert_list_refuses_an_unknown_status_or_type(
    gateway: Harness, client: httpx.AsyncClient
):
    """?status=bogus and ?type=bogus are 422; open and active still mean not yet acknowledged."""
    alert_id = await _breach(gateway)
    assert (await client.get("/api/v1/alerts?status=bogus")).status_code == 422
    assert (await client.get("/api/v1/alerts?type=teleport")).status_code == 422
    for status in ("open", "active"):
        listed = await client.get(f"/api/v1/alerts?status={status}&type=door_breach")
        assert [a["id"] for a in listed.json()] == [alert_id]
    assert (await client.get("/api/v1/alerts?status=acknowledged")).json() == []
    [alert] = (await client.get("/api/v1/alerts")).json()
    assert set(alert) == ALERT_FIELDS


async def test_openapi_documents_every_route_its_response_and_its_status_codes(
    client: httpx.AsyncClient,
):
    """Each route's answers are in /openapi.json, each with a schema; alerts with SPEC's fields."""
    doc = (await client.get("/openapi.json")).json()
    found = {
        (method, path): set(op["responses"])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }
    assert found == ROUTES
    for (method, path), _codes in ROUTES.items():
        for code, response in doc["paths"][path][method]["responses"].items():
            if code == "204":
                assert "content" not in response, f"{method} {path} 204 has a body"
                continue
            # One media type each, or JSON and CSV (the daily report).
            assert len(response["content"]) == 1 or set(response["content"]) == {
                "application/json",
                "text/csv",
            }
            for media, content in response["content"].items():
                schema = content["schema"]
                if media == "application/json":
                    named = schema.get("$ref") or schema.get("items", {}).get("$ref")
                    assert named, f"{method} {path} {code} has no named schema: {schema}"
                else:
                    assert schema == {"type": "string"}
    alert = doc["components"]["schemas"]["AlertOut"]
    assert set(alert["properties"]) == ALERT_FIELDS
