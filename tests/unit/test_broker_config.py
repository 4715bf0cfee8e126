"""`isogate broker-config`: the logins a site needs, its ACL and Mosquitto's password format."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from isogate.broker_config import (
    GATEWAY_USER,
    BrokerConfigError,
    Topics,
    accounts,
    choose_passwords,
    parse_credentials,
    password_hash,
    render_acl,
    render_conf,
    write_broker_files,
)
from rules.site import Site
from tests.conftest import site_doc

# Written by `mosquitto_passwd -c -b FILE p1 "correct horse 门"` (mosquitto 2.0.11): PBKDF2-SHA512,
# 101 rounds, a 12-byte salt and the 64-byte digest in base64.
MOSQUITTO_PASSWD_P1 = (
    "p1:$7$101$yLn2cmg0NwgZfQUI$tRkfLoSmJI0RuepOL9h8UtgFDCC2tepjlKYvPVhIGRRnhLR5Rg4EwTM0j1euxsDxyfX"
    "y1WnMamE2MV4+NZOlgA=="
)
TOPICS = Topics()


def site(**change: Any) -> Site:
    """The test community, with a camera over MQTT and a Frigate camera at h2."""
    doc = site_doc()
    doc["households"][1]["devices"] += [
        {"id": "cam-h2", "kind": "camera", "protocol": "mqtt"},
        {"id": "fcam-h2", "kind": "camera", "protocol": "frigate", "address": "door_502"},
    ]
    for key, value in change.items():
        doc[key] = value
    return Site.model_validate(doc)


def acl_of(user: str, text: str) -> list[str]:
    """The lines of ``user``'s block in an ACL file."""
    lines = text.splitlines()
    start = lines.index(f"user {user}") + 1
    block = []
    for line in lines[start:]:
        if not line.strip():
            break
        block.append(line)
    return block


def test_our_hash_of_a_password_is_the_one_mosquitto_passwd_wrote():
    """Same password, same salt and rounds: the line mosquitto_passwd wrote, to the byte."""
    user, _, stored = MOSQUITTO_PASSWD_P1.partition(":")
    _, kind, rounds, salt64, _ = stored.split("$")
    assert kind == "7"
    salt = base64.b64decode(salt64)
    assert f"{user}:{password_hash('correct horse 门', salt, int(rounds))}" == MOSQUITTO_PASSWD_P1
    assert password_hash("correct horse 门 ", salt) != stored.partition(":")[2]


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
def test_a_fresh_line_of_mosquitto_passwd_checks_against_our_hash(tmp_path: Path):
    """mosquitto_passwd writes a line with a salt of its own; our hash with that salt matches."""
    file = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(file), "w1", "夜班 pw"], check=True)
    stored = file.read_text().strip().partition(":")[2]
    salt = base64.b64decode(stored.split("$")[3])
    assert password_hash("夜班 pw", salt) == stored


def test_every_staff_member_logs_in_as_their_staff_id_and_devices_as_their_device_id():
    """Gateway, staff, the bridges the site implies, native devices and MQTT cameras."""
    users = [a.user for a in accounts(site(), TOPICS)]
    assert users[0] == GATEWAY_USER
    assert {"w1", "w2", "w3", "p1", "p2", "d1", "t1", "s1"} <= set(users)
    assert {"zigbee2mqtt", "openmqttgateway", "frigate"} <= set(users)
    assert {"door-h2", "therm-r2", "cam-h2"} <= set(users)
    # h1's zigbee door and BLE thermometer, and the Frigate camera, speak through their bridge.
    assert not {"door-h1", "therm-r1", "fcam-h2"} & set(users)
    assert len(users) == len(set(users))


def test_a_site_without_zigbee_devices_has_no_zigbee2mqtt_login():
    """Only the bridges the site's devices need get a login."""
    doc = site_doc()
    doc["households"] = doc["households"][1:]  # h2: native devices only
    users = {a.user for a in accounts(Site.model_validate(doc), TOPICS)}
    assert not {"zigbee2mqtt", "openmqttgateway", "frigate"} & users


def test_the_acl_lets_staff_ack_only_as_themselves_and_read_only_their_own():
    """The patterns of SPEC §3, before any user block; no staff member gets a block."""
    text = render_acl(accounts(site(), TOPICS), TOPICS)
    lines = text.splitlines()
    patterns = [line for line in lines if line.startswith("pattern ")]
    assert patterns == [
        "pattern write isogate/ack/%u/+",
        "pattern read isogate/alerts/to/%u",
        "pattern read isogate/handover/to/%u",
    ]
    assert lines.index(patterns[-1]) < min(i for i, x in enumerate(lines) if x.startswith("user "))
    assert not any(f"user {p}" in lines for p in ("w1", "p1", "p2", "d1", "s1"))


def test_devices_write_only_their_own_topics_and_the_gateway_reads_them_all():
    """door-h2 on its dev topics, cam-h2 on its frame topic; the gateway's reads and writes."""
    text = render_acl(accounts(site(), TOPICS), TOPICS)
    assert acl_of("door-h2", text) == [
        "topic write isogate/dev/door-h2/event",
        "topic write isogate/dev/door-h2/status",
    ]
    assert acl_of("cam-h2", text) == ["topic write isogate/cam/cam-h2/frame"]
    assert acl_of("zigbee2mqtt", text) == ["topic readwrite zigbee2mqtt/#"]
    gateway = acl_of(GATEWAY_USER, text)
    for line in ("topic read isogate/dev/#", "topic read isogate/ack/#", "topic read home/#"):
        assert line in gateway
    assert "topic readwrite isogate/alerts/#" in gateway
    assert "topic readwrite isogate/handover/#" in gateway
    assert "topic readwrite isogate/gateway/#" in gateway  # the echo session's sentinel
    writes = [line for line in gateway if line.startswith(("topic write", "topic readwrite"))]
    assert not [line for line in writes if "/dev/" in line or "/ack/" in line]


def test_the_configured_base_topics_are_the_ones_in_the_acl():
    """ISOGATE_BASE_TOPIC and the bridge bases of the settings are what the ACL names."""
    topics = Topics(base="gw", z2m="zb", omg="ble", frigate="nvr")
    text = render_acl(accounts(site(), topics), topics)
    assert "pattern write gw/ack/%u/+" in text
    assert acl_of("zigbee2mqtt", text) == ["topic readwrite zb/#"]
    assert acl_of("frigate", text) == ["topic readwrite nvr/#"]
    assert "isogate/" not in text


def test_a_device_named_like_a_staff_member_is_refused_naming_both():
    """Device id p2 and officer p2 would share a login: refused, nothing decided quietly."""
    doc = site_doc()
    doc["households"][1]["devices"][0]["id"] = "p2"
    with pytest.raises(BrokerConfigError) as err:
        accounts(Site.model_validate(doc), TOPICS)
    assert "'p2' would be the login of both officer 钱警官 and door p2 of h2" in str(err.value)


def test_a_staff_id_with_a_colon_is_refused():
    """The password file separates user and hash with ':'; such an id cannot log in."""
    doc = site_doc()
    doc["staff"].append({"id": "w:4", "name": "赵六", "role": "watcher"})
    with pytest.raises(BrokerConfigError, match="cannot hold ':'"):
        accounts(Site.model_validate(doc), TOPICS)


def test_passwords_stay_unless_rotated_and_new_logins_get_new_ones():
    """Kept passwords are reused; a new login gets a fresh one; --rotate renews all."""
    logins = accounts(site(), TOPICS)
    fresh = iter(f"new{i}" for i in range(100))
    kept = {"p1": "p1-old", "gone": "x"}
    chosen = choose_passwords(logins, kept, new=lambda: next(fresh))
    assert chosen["p1"] == "p1-old"
    assert chosen["p2"].startswith("new")
    assert "gone" not in chosen
    rotated = choose_passwords(logins, kept, rotate=True, new=lambda: next(fresh))
    assert rotated["p1"].startswith("new")


def test_the_conf_lines_turn_off_anonymous_access_on_loopback(tmp_path: Path):
    """The snippet: a loopback listener, no anonymous clients, the two files by full path."""
    text = render_conf(tmp_path, 1884)
    assert "listener 1884 127.0.0.1" in text.splitlines()
    assert "allow_anonymous false" in text.splitlines()
    assert f"password_file {tmp_path.resolve() / 'passwd'}" in text
    assert f"acl_file {tmp_path.resolve() / 'acl'}" in text


def test_files_are_written_with_private_credentials_and_a_rerun_keeps_the_passwords(
    tmp_path: Path,
):
    """credentials.txt is 0600; a second run keeps every password, --rotate changes them."""
    out = tmp_path / "broker"
    first = write_broker_files(out, site(), TOPICS)
    assert {p.name for p in first.paths} == {"passwd", "acl", "mosquitto.conf", "credentials.txt"}
    assert stat.S_IMODE(os.stat(out / "credentials.txt").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out / "passwd").st_mode) & 0o007 == 0
    creds = parse_credentials((out / "credentials.txt").read_text())
    assert set(creds) == {a.user for a in first.logins}
    hashes = dict(line.split(":", 1) for line in (out / "passwd").read_text().splitlines())
    for user, stored in hashes.items():
        salt = base64.b64decode(stored.split("$")[3])
        assert password_hash(creds[user], salt) == stored
    again = write_broker_files(out, site(), TOPICS)
    assert parse_credentials((out / "credentials.txt").read_text()) == creds
    assert set(again.kept) == set(creds) and again.new == ()
    rotated = write_broker_files(out, site(), TOPICS, rotate=True)
    after = parse_credentials((out / "credentials.txt").read_text())
    assert all(after[u] != creds[u] for u in creds)
    assert set(rotated.new) == set(creds)
