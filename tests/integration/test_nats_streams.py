"""NATS's MQTT message stream, made beforehand with limits retention (isogate/nats_streams.py).

Needs ``nats-server``; skipped, saying so, where it is missing.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import nats
import paho.mqtt.client as mqtt
import pytest
from nats.js.errors import NotFoundError
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from isogate.broker_config import GATEWAY_USER, Topics
from isogate.cli import app
from isogate.nats_config import SETUP, password_of, write_nats_files
from isogate.nats_streams import MESSAGES_STREAM, prepare, prepare_when_ready, prepare_with
from simulators.broker import free_port
from simulators.nats import NatsCluster, mqtt_ready, nats_available
from simulators.police_app import PoliceApp
from tests.unit.test_nats_config import nats_site

pytestmark = pytest.mark.skipif(not nats_available(), reason="nats-server is not installed")


@pytest.fixture(scope="module")
def site_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NatsCluster, Path]]:
    """One node with the site's logins (``broker-config --nats``); its stream made at start."""
    files = tmp_path_factory.mktemp("logins")
    write_nats_files(files, nats_site(), Topics())
    node = NatsCluster(
        tmp_path_factory.mktemp("nats"),
        size=1,
        accounts=files / "accounts.conf",
        login=(GATEWAY_USER, password_of(files)),
        setup=(SETUP.user, password_of(files, SETUP.user)),
    )
    with node:
        yield node, files


def _nats_url(node: NatsCluster) -> str:
    return f"nats://127.0.0.1:{node.ports[0].client}"


async def _as_setup(node: NatsCluster, files: Path) -> nats.NATS:
    return await nats.connect(
        _nats_url(node),
        user=SETUP.user,
        password=password_of(files, SETUP.user),
        allow_reconnect=False,
        error_cb=_ignore,
    )


async def _ignore(_exc: Exception) -> None:
    """A permissions violation comes here too; the request that caused it times out."""


def test_the_node_starts_with_a_limits_stream_and_the_command_says_so(site_node):
    """Made before the first MQTT session; `isogate nats-prepare` finds it and exits 0."""
    node, files = site_node
    out = CliRunner().invoke(
        app, ["nats-prepare", str(files), "--url", _nats_url(node), "--replicas", "1"]
    )
    assert out.exit_code == 0, out.output
    assert f"{MESSAGES_STREAM} already there: limits retention, 1 replicas" in out.output


def test_a_message_one_session_acknowledged_is_still_there_for_another(site_node):
    """Limits retention: an acknowledgement removes nothing; each consumer delivers it."""
    node, files = site_node
    port = node.ports[0].mqtt
    gateway_got = threading.Event()
    gw = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="streams-gateway",
        protocol=mqtt.MQTTv311,
        clean_session=False,
    )
    gw.username_pw_set(GATEWAY_USER, password_of(files))
    subscribed = threading.Event()
    gw.on_subscribe = lambda *_a: subscribed.set()
    gw.on_message = lambda *_a: gateway_got.set()
    gw.connect("127.0.0.1", port)
    gw.loop_start()
    gw.subscribe("isogate/alerts/#", qos=1)
    assert subscribed.wait(10)
    officer = PoliceApp(
        "p1",
        port=port,
        ack_delay=None,
        clean_session=False,
        client_id="streams-p1",
        username="p1",
        password=password_of(files, "p1"),
    ).start(timeout=10)
    try:
        body = json.dumps({"id": "A1", "type": "door_breach", "status": "open"})
        gw.publish("isogate/alerts/to/p1", body, qos=1).wait_for_publish(5)
        officer.wait_for(lambda got: any(a.id == "A1" for a in got), timeout=10)
        assert gateway_got.wait(10)

        async def kept() -> int:
            nc = await _as_setup(node, files)
            try:
                info = await nc.jetstream(timeout=5).stream_info(MESSAGES_STREAM)
                return int(info.state.messages)
            finally:
                await nc.close()

        assert asyncio.run(kept()) >= 1
    finally:
        officer.stop()
        gw.disconnect()
        gw.loop_stop()


def test_the_setup_login_can_delete_nothing(site_node):
    """Its rights are the lookup and the creation: deleting the stream is refused."""
    node, files = site_node

    async def delete() -> None:
        nc = await _as_setup(node, files)
        try:
            await nc.jetstream(timeout=2).delete_stream(MESSAGES_STREAM)
        finally:
            await nc.close()

    with pytest.raises(nats.errors.Error):  # the request is never answered: a timeout
        asyncio.run(delete())
    mqtt_ready(node.ports[0].mqtt, node.login)  # and the stream still serves sessions


def test_a_stream_nats_made_itself_is_reported_not_changed(tmp_path: Path):
    """Where an MQTT session came first, NATS made the stream (interest retention): the command
    says so and how to fix it, and changes nothing."""
    with NatsCluster(tmp_path / "nats", size=1) as node:
        url = _nats_url(node)

        async def remake() -> None:
            nc = await nats.connect(url, allow_reconnect=False)
            try:
                js = nc.jetstream(timeout=5)
                await js.delete_stream(MESSAGES_STREAM)
                with pytest.raises(NotFoundError):
                    await js.stream_info(MESSAGES_STREAM)
            finally:
                await nc.close()

        asyncio.run(remake())
        # Started again (a node alone is not prepared), its first persistent MQTT session finds
        # no stream: NATS makes its own.
        node.kill(0)
        node.start(0)
        found = asyncio.run(prepare(url, 1))
    assert (found.created, found.retention) == (False, "interest")
    assert "delete it" in found.words()


def test_the_command_explains_a_directory_without_the_setup_login(tmp_path: Path):
    """credentials.txt of an older broker-config: no traceback, the way to get the login."""
    (tmp_path / "credentials.txt").write_text("gateway\tsecret\tthe gateway\n")
    status, said = prepare_with(tmp_path, "nats://127.0.0.1:1", 1)
    assert status == 1
    assert "broker-config --nats" in said and SETUP.user in said


def test_a_node_that_never_answers_is_a_timeout_that_names_it():
    """Nothing listening: tried again until the timeout, then one error naming the URL."""
    url = f"nats://127.0.0.1:{free_port()}"
    with pytest.raises(TimeoutError, match=url.replace(".", r"\.")):
        prepare_when_ready(url, 1, timeout=1.0)
