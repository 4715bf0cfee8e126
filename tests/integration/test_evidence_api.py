"""An alert's evidence over the running gateway's API: the snapshot is the kept JPEG, the
manifest's hashes match the files served, and only those who may read the alert see it."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from api.app import create_app
from api.context import ApiContext
from gateway.health import Health
from gateway.ids import ulid
from simulators.door import DoorSensor
from tests.conftest import Harness


def jpeg(seed: int) -> bytes:
    """A real 320×240 JPEG, different for each seed."""
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


def client_of(gateway: Harness, token: str) -> httpx.AsyncClient:
    url = f"http://127.0.0.1:{gateway.running.http_port}"
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
async def admin(gateway: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's HTTP client on the running gateway's API."""
    async with client_of(gateway, gateway.token) as c:
        yield c


async def breach_h2(gateway: Harness) -> dict[str, Any]:
    """Open h2's door (no visit window): the door_breach alert as published."""
    with gateway.link() as link:
        await asyncio.to_thread(DoorSensor(link, "door-h2", "native", base_topic=gateway.base).open)
        _, alert = await gateway.next_alert()
    assert (alert["type"], alert["household"]) == ("door_breach", "h2")
    return alert


async def keep_evidence(gateway: Harness, alert: dict[str, Any], frames: int) -> dict[str, bytes]:
    """Frames around the alert kept in the gateway's evidence store; file name → JPEG bytes."""
    store = gateway.running.evidence
    assert store is not None
    assert store.root == gateway.settings.data_dir.resolve() / "evidence"
    raised = datetime.fromisoformat(alert["raised_at"])
    capture = await asyncio.to_thread(store.open, alert["id"], alert["household"], raised)
    kept = {}
    for i in range(frames):
        data = jpeg(i)
        t = raised + timedelta(seconds=i - 2)
        # The frame at the opening shows the most: it is the snapshot.
        frame = await asyncio.to_thread(capture.add, "cam-h2", t, data, 1.0 if i == 2 else 0.1)
        kept[frame.file] = data
    await asyncio.to_thread(capture.close)
    return kept


async def test_snapshot_is_the_best_frame_and_the_manifest_hashes_match_what_is_served(
    gateway: Harness, admin: httpx.AsyncClient
):
    """The snapshot's bytes are the kept JPEG; each frame served hashes as the manifest says."""
    alert = await breach_h2(gateway)
    kept = await keep_evidence(gateway, alert, frames=5)
    snap = await admin.get(f"/api/v1/alerts/{alert['id']}/snapshot")
    assert snap.status_code == 200, snap.text
    assert snap.headers["content-type"] == "image/jpeg"
    assert snap.content == jpeg(2)
    manifest = (await admin.get(f"/api/v1/alerts/{alert['id']}/evidence")).json()
    assert (manifest["alert_id"], manifest["household"]) == (alert["id"], "h2")
    assert (manifest["status"], manifest["cameras"]) == ("complete", ["cam-h2"])
    assert manifest["snapshot"] == f"/api/v1/alerts/{alert['id']}/snapshot"
    assert snap.headers["etag"] == '"{}"'.format(
        next(f["sha256"] for f in manifest["frames"] if f["file"] == manifest["best"])
    )
    assert [f["file"] for f in manifest["frames"]] == list(kept)
    for f in manifest["frames"]:
        assert f["url"] == f"/api/v1/alerts/{alert['id']}/evidence/{f['file']}"
        served = await admin.get(f["url"])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert hashlib.sha256(served.content).hexdigest() == f["sha256"]
        assert len(served.content) == f["bytes"]
        assert served.content == kept[f["file"]]


async def test_an_officer_of_another_household_is_refused_the_evidence(gateway: Harness):
    """p1 (h1's officer) gets 403 on h2's snapshot, manifest and frames; p2 (h2's) gets them."""
    alert = await breach_h2(gateway)
    kept = await keep_evidence(gateway, alert, frames=3)
    now = gateway.running.pipeline.clock.now()
    await gateway.running.store.add_user("p1", "officer", "p1-token", now)
    await gateway.running.store.add_user("p2", "officer", "p2-token", now)
    base = f"/api/v1/alerts/{alert['id']}"
    paths = [f"{base}/snapshot", f"{base}/evidence", *(f"{base}/evidence/{f}" for f in kept)]
    async with client_of(gateway, "p1-token") as p1, client_of(gateway, "p2-token") as p2:
        for path in paths:
            refused = await p1.get(path)
            assert refused.status_code == 403, path
            assert refused.json()["detail"] == "household h2 is not assigned to p1"
            assert (await p2.get(path)).status_code == 200, path
    async with client_of(gateway, "not-a-token") as nobody:
        assert (await nobody.get(paths[0])).status_code == 401


async def test_unknown_alerts_missing_evidence_and_other_names_are_404(
    gateway: Harness, admin: httpx.AsyncClient
):
    """An unknown alert, an alert without evidence or frames, a name the manifest lacks: 404."""
    unknown = ulid(gateway.running.pipeline.clock.now())
    for tail in ("snapshot", "evidence", "evidence/cam-h2-1.jpg"):
        answer = await admin.get(f"/api/v1/alerts/{unknown}/{tail}")
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"no alert {unknown}"
    alert = await breach_h2(gateway)
    base = f"/api/v1/alerts/{alert['id']}"
    for tail in ("snapshot", "evidence"):
        answer = await admin.get(f"{base}/{tail}")
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"no evidence is kept for alert {alert['id']}"
    await keep_evidence(gateway, alert, frames=0)
    assert (await admin.get(f"{base}/evidence")).json()["frames"] == []
    snap = await admin.get(f"{base}/snapshot")
    assert (snap.status_code, snap.json()["detail"]) == (
        404,
        f"alert {alert['id']} has no snapshot: no frame was kept",
    )
    evidence_dir = gateway.settings.data_dir.resolve() / "evidence" / alert["id"]
    (evidence_dir / "cam-h2-1.jpg").write_bytes(jpeg(9))  # on disk, not in the manifest
    for name in ("cam-h2-1.jpg", "manifest.json", "..%2Fmanifest.json", "%2E%2E"):
        answer = await admin.get(f"{base}/evidence/{name}")
        assert answer.status_code == 404, name


async def test_a_gateway_that_keeps_no_evidence_answers_404(gateway: Harness):
    """With no evidence store in the app's context, the routes say so, after authorization."""
    r = gateway.running
    ctx = ApiContext(r.store, r.pipeline.desk, r.ops, lambda: True, Health(r.pipeline.clock.now))
    assert ctx.evidence is None
    alert = await breach_h2(gateway)
    await keep_evidence(gateway, alert, frames=2)  # on disk, but this app has no store
    transport = httpx.ASGITransport(app=create_app(ctx))
    headers = {"Authorization": f"Bearer {gateway.token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        for tail in ("snapshot", "evidence"):
            answer = await c.get(f"/api/v1/alerts/{alert['id']}/{tail}")
            assert (answer.status_code, answer.json()["detail"]) == (
                404,
                "this gateway keeps no evidence",
            )
        unknown = ulid(datetime.fromisoformat(alert["raised_at"]))
        answer = await c.get(f"/api/v1/alerts/{unknown}/evidence")
        assert (answer.status_code, answer.json()["detail"]) == (404, f"no alert {unknown}")
