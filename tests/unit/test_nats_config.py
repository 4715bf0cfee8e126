"""`isogate broker-config --nats` and deploy/nats: the Mosquitto ACL as NATS permissions."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from isogate.broker_config import GATEWAY_USER, BrokerConfigError, Topics, accounts
from isogate.nats_config import (
    LOOPBACK_NODES,
    SETUP,
    SETUP_PUBLISH,
    parse_credentials,
    permissions,
    render_node,
    subjects,
    write_nats_files,
)
from rules.site import Site
from tests.conftest import site_doc

REPO = Path(__file__).resolve().parents[2]
TOPICS = Topics()


def nats_site(**change: Any) -> Site:
    """The test community with a friendly name NATS can carry (no space)."""
    doc = site_doc()
    doc["households"][0]["devices"][0]["address"] = "h1_door"
    doc.update(change)
    return Site.model_validate(doc)


def by_user(site: Site) -> dict[str, tuple[list[str], list[str]]]:
    return {a.user: permissions(a, TOPICS) for a in accounts(site, TOPICS)}


def test_mqtt_filters_become_subjects():
    """`/` → `.`, `+` → `*`, and `a/#` is `a` and `a.>` (MQTT's `#` matches its parent)."""
    assert subjects("isogate/ack/p1/+") == ["isogate.ack.p1.*"]
    assert subjects("zigbee2mqtt/#") == ["zigbee2mqtt", "zigbee2mqtt.>"]
    assert subjects("home/+/BTtoMQTT/#") == ["home.*.BTtoMQTT", "home.*.BTtoMQTT.>"]


def test_an_officer_acks_as_themself_and_reads_only_their_own():
    """The ACL's patterns written out per person: p1's ack topic and p1's alerts, nothing else."""
    publish, subscribe = by_user(nats_site())["p1"]
    assert publish == ["isogate.ack.p1.*"]
    assert "isogate.alerts.to.p1" in subscribe and "isogate.handover.to.p1" in subscribe
    assert not any("p2" in s or s in ("isogate.alerts", "isogate.alerts.>") for s in subscribe)


def test_the_gateway_reads_devices_and_acks_and_writes_alerts():
    """The gateway's login alone reads every device topic and the acks, and writes alerts."""
    publish, subscribe = by_user(nats_site())[GATEWAY_USER]
    assert "isogate.alerts.>" in publish and "isogate.handover.>" in publish
    for s in ("isogate.dev.>", "isogate.ack.>", "zigbee2mqtt.>", "home.>"):
        assert s in subscribe
    device_publish, _ = by_user(nats_site())["door-h2"]
    assert "isogate.dev.door-h2.event" in device_publish
    assert not any(s.startswith("isogate.alerts") for s in device_publish)


def test_a_topic_nats_cannot_carry_is_refused_by_name(tmp_path: Path):
    """A zigbee2mqtt friendly name with a space is named, and nothing is written."""
    with pytest.raises(BrokerConfigError) as refused:
        write_nats_files(tmp_path, Site.model_validate(site_doc()), TOPICS)
    assert any("'h1/front door'" in p for p in refused.value.problems)
    assert not list(tmp_path.iterdir())


def test_the_accounts_file_holds_hashes_and_keeps_passwords(tmp_path: Path):
    """bcrypt hashes, not passwords; a re-run keeps every password; the credentials are 0600."""
    first = write_nats_files(tmp_path, nats_site(), TOPICS)
    creds = parse_credentials((tmp_path / "credentials.txt").read_text())
    conf = (tmp_path / "accounts.conf").read_text()
    assert creds[GATEWAY_USER] not in conf
    hashed = conf.split(f'user: "{GATEWAY_USER}", password: "', 1)[1].split('"', 1)[0]
    assert bcrypt.checkpw(creds[GATEWAY_USER].encode(), hashed.encode())
    assert (tmp_path / "credentials.txt").stat().st_mode & 0o777 == 0o600
    again = write_nats_files(tmp_path, nats_site(), TOPICS)
    assert set(again.kept) == {a.user for a in first.logins}
    assert parse_credentials((tmp_path / "credentials.txt").read_text()) == creds


def test_the_shipped_node_configs_are_the_rendered_ones():
    """deploy/nats/node-N.conf are what the code renders (one source for both)."""
    for i, me in enumerate(LOOPBACK_NODES, 1):
        shipped = (REPO / "deploy" / "nats" / f"node-{i}.conf").read_text()
        assert shipped == render_node(
            f"node-{i}", me, LOOPBACK_NODES, f"data/node-{i}", "accounts.conf"
        )


@pytest.mark.skipif(shutil.which("nats-server") is None, reason="nats-server is not installed")
def test_nats_server_accepts_the_node_config_with_the_site_accounts(tmp_path: Path):
    """`nats-server -t` reads node-1.conf with the generated accounts.conf as valid."""
    write_nats_files(tmp_path, nats_site(), TOPICS)
    shutil.copyfile(REPO / "deploy" / "nats" / "node-1.conf", tmp_path / "node-1.conf")
    done = subprocess.run(
        ["nats-server", "-t", "-c", str(tmp_path / "node-1.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_setup_login_may_only_look_up_and_make_the_message_stream(tmp_path: Path):
    """One NATS-protocol login, for `isogate nats-prepare`: the message stream's lookup and
    creation, replies on its inbox; every other login stays MQTT-only."""
    done = write_nats_files(tmp_path, nats_site(), TOPICS)
    assert SETUP.user in {a.user for a in done.logins}
    assert SETUP.user in parse_credentials((tmp_path / "credentials.txt").read_text())
    conf = (tmp_path / "accounts.conf").read_text()
    entries = conf.split("{user: ")[1:]
    setup = [e for e in entries if e.startswith(f'"{SETUP.user}"')]
    assert len(setup) == 1
    assert f"publish: {json.dumps(SETUP_PUBLISH)}" in setup[0]
    assert 'subscribe: ["_INBOX.>"]' in setup[0]
    assert 'allowed_connection_types: ["STANDARD"]' in setup[0]
    others = [e for e in entries if e not in setup]
    assert others and all('allowed_connection_types: ["MQTT"]' in e for e in others)
