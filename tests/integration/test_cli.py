"""The `isogate` command as an operator uses it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from gateway.store import Store
from tests.conftest import BrokerUnderTest, site_doc, unique_settings

REPO = Path(__file__).resolve().parents[2]


def _isogate(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ISOGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "isogate", *args],
        cwd=REPO,
        env=clean | {"ISOGATE_DATA_DIR": str(data)} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_user_add_prints_the_token_alone_on_the_last_line(tmp_path: Path):
    """The token works against the store; only its hash is kept."""
    out = _isogate("user", "add", "p1", "--role", "officer", data=tmp_path)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert len(token) >= 24 and " " not in token

    async def check() -> tuple[str, str] | None:
        async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}") as store:
            return await store.user_by_token(token)

    assert asyncio.run(check()) == ("p1", "officer")
    assert token.encode() not in (tmp_path / "isogate.db").read_bytes()


def test_load_refuses_a_bad_file_whole_and_lists_every_error(tmp_path: Path):
    """Two mistakes of each kind → exit 1, all named with their place; nothing is stored."""
    doc = site_doc()
    doc["households"][1]["devices"][0]["kind"] = "window"
    doc["staff"][0]["phone"] = "call me"
    bad = tmp_path / "site.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = _isogate("load", str(bad), data=tmp_path)
    assert out.returncode == 1
    assert "refused" in out.stderr
    assert "households[1].devices[0].kind" in out.stderr
    assert "staff[0].phone" in out.stderr
    doc = site_doc()
    doc["households"][0]["officer"] = "nobody"
    doc["shifts"][0]["watcher"] = "p1"  # an officer, not a watcher
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = _isogate("load", str(bad), data=tmp_path)
    assert out.returncode == 1
    assert "households[0].officer" in out.stderr
    assert "shifts[0].watcher" in out.stderr
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(site_doc(), allow_unicode=True))
    ok = _isogate("load", str(good), data=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "revision 1" in ok.stderr  # the refused file left no revision behind


def test_simulate_door_publishes_to_the_broker(tmp_path: Path, broker: BrokerUnderTest):
    """`isogate simulate door` speaks zigbee2mqtt to a real broker."""
    from simulators.link import SimLink

    s = unique_settings(tmp_path, broker)
    got: list[tuple[str, dict]] = []
    with SimLink(broker.host, broker.port) as sub:
        sub.client.on_message = lambda _c, _u, m: got.append((m.topic, json.loads(m.payload)))
        sub.client.subscribe(f"{s.z2m_base_topic}/#", qos=1)
        out = _isogate(
            "simulate",
            "door",
            "h1_door",
            "open",
            data=tmp_path,
            ISOGATE_MQTT_URL=broker.url,
            ISOGATE_Z2M_BASE_TOPIC=s.z2m_base_topic,
        )
        assert out.returncode == 0, out.stderr
        for _ in range(50):
            if got:
                break
            import time

            time.sleep(0.05)
    assert got[0][0] == f"{s.z2m_base_topic}/h1_door"
    assert got[0][1]["contact"] is False
