"""Fixtures: a real broker (our own mosquitto), a real SQLite file, the gateway in-process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import Clock, SystemClock
from gateway.site.stored import save_site
from gateway.store import Store
from isogate.service import Gateway, Running
from isogate.settings import Settings
from rules.site import Site
from simulators.broker import EmbeddedBroker, Mosquitto, mosquitto_available
from simulators.link import SimLink


@dataclass
class BrokerUnderTest:
    """The broker the tests talk to."""

    kind: str
    host: str
    port: int
    mosquitto: Mosquitto | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def pytest_report_header() -> str:
    if mosquitto_available():
        return "broker: our own mosquitto on a free loopback port, config/mosquitto.conf"
    return "broker: embedded amqtt (mosquitto not installed; restart tests are skipped)"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerUnderTest]:
    """A broker for the whole session: mosquitto when installed, else embedded amqtt."""
    if mosquitto_available():
        with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as m:
            yield BrokerUnderTest("mosquitto", "127.0.0.1", m.port, m)
        return
    embedded = EmbeddedBroker()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(embedded.__aenter__())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    yield BrokerUnderTest("amqtt", "127.0.0.1", embedded.port)
    loop.call_soon_threadsafe(loop.stop)


@pytest.fixture
def mosquitto_only(broker: BrokerUnderTest) -> Mosquitto:
    """Skip a test that needs mosquitto's persistence or restarts."""
    if broker.mosquitto is None:
        pytest.skip("needs mosquitto")
    return broker.mosquitto


def site_doc(**policy: Any) -> dict[str, Any]:
    """The test community: SPEC §4's example, two households, a full roster."""
    return {
        "timezone": "Asia/Shanghai",
        "policy": {"door_left_open_s": 120, **policy},
        "staff": [
            {"id": "w1", "name": "李伟", "role": "watcher", "phone": "+8613800000001"},
            {"id": "w2", "name": "刘芳", "role": "watcher"},
            {"id": "w3", "name": "周强", "role": "watcher"},
            {"id": "p1", "name": "赵致远", "role": "officer", "phone": "+8613800000002"},
            {"id": "p2", "name": "钱警官", "role": "officer"},
            {"id": "d1", "name": "王医生", "role": "doctor"},
            {"id": "t1", "name": "陈师傅", "role": "technician"},
            {"id": "s1", "name": "黄主任", "role": "supervisor"},
        ],
        "shifts": [
            {"watcher": "w1", "daily": "00:00-08:00", "households": "all"},
            {"watcher": "w2", "daily": "08:00-16:00", "households": ["h1", "h2"]},
            {"watcher": "w3", "daily": "16:00-24:00", "households": "all"},
        ],
        "households": [
            {
                "id": "h1",
                "address": "幸福小区3栋2单元501",
                "residents": [{"id": "r1", "name": "张三", "flags": ["elderly_alone"]}],
                "officer": "p1",
                "doctor": "d1",
                "technician": "t1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2099-12-04T00:00"},
                "devices": [
                    {
                        "id": "door-h1",
                        "kind": "door",
                        "protocol": "zigbee2mqtt",
                        "address": "h1/front door",
                    },
                    {
                        "id": "therm-r1",
                        "kind": "thermometer",
                        "protocol": "ble",
                        "address": "A4:C1:38:00:00:01",
                        "resident": "r1",
                    },
                ],
                "visits": [
                    {
                        "start": "2026-11-23T10:00",
                        "end": "2026-11-23T10:20",
                        "reason": "delivery",
                        "escort": "w2",
                    }
                ],
            },
            {
                "id": "h2",
                "address": "幸福小区3栋2单元502",
                "residents": [{"id": "r2", "name": "李四"}],
                "officer": "p2",
                "doctor": "d1",
                "technician": "t1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2099-12-04T00:00"},
                "devices": [
                    {"id": "door-h2", "kind": "door", "protocol": "native"},
                    {
                        "id": "therm-r2",
                        "kind": "thermometer",
                        "protocol": "native",
                        "resident": "r2",
                    },
                ],
            },
        ],
    }


@dataclass
class Harness:
    """A running in-process gateway and what a test needs around it."""

    settings: Settings
    running: Running
    broker: BrokerUnderTest
    token: str
    task: asyncio.Task[None]
    alerts: queue.Queue[tuple[str, dict[str, Any]]] = field(default_factory=queue.Queue)

    @property
    def base(self) -> str:
        return self.settings.base_topic

    @property
    def z2m(self) -> str:
        return self.settings.z2m_base_topic

    def link(self) -> SimLink:
        return SimLink(self.broker.host, self.broker.port)

    async def next_alert(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        """The next alert publication seen on the alert topics (topic, JSON)."""
        return await asyncio.to_thread(self.alerts.get, True, timeout)

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        """Poll the async ``predicate`` until it holds (TimeoutError after ``timeout`` s)."""
        await eventually(predicate, timeout)


async def eventually(predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll the async ``predicate`` until it holds; TimeoutError after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


# The gateway each running clock drives, so that advance() can wait for its tick.
_TICKED_BY: weakref.WeakKeyDictionary[Any, tuple[Harness, datetime]] = weakref.WeakKeyDictionary()


def unique_settings(tmp_path: Path, broker: BrokerUnderTest, **over: Any) -> Settings:
    """Settings whose topics, client id and database belong to one test."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "mqtt_url": broker.url,
        "data_dir": tmp_path / "data",
        "http_port": 0,
        "base_topic": f"isogate-{tag}",
        "z2m_base_topic": f"z2m-{tag}",
        "omg_base_topic": f"home-{tag}",
        "frigate_base_topic": f"frigate-{tag}",
        "client_id": f"isogate-test-{tag}",
    }
    return Settings(**(values | over))


async def prepare(settings: Settings, doc: dict[str, Any], at: datetime) -> str:
    """Load a site and make an admin token."""
    token = uuid.uuid4().hex
    async with Store.open(settings.db_url) as store:
        await save_site(store, Site.model_validate(doc), "test", at)
        await store.add_user("admin", "admin", token, at)
    return token


async def subscribed(link: SimLink, topic: str, timeout: float = 10.0) -> None:
    """Subscribe ``link`` to ``topic`` at QoS 1 and wait for the broker's SUBACK."""
    suback = threading.Event()
    link.client.on_subscribe = lambda *_args: suback.set()
    link.client.subscribe(topic, qos=1)
    if not await asyncio.to_thread(suback.wait, timeout):
        raise TimeoutError(f"no SUBACK for {topic}")


@contextlib.asynccontextmanager
async def running_gateway(
    settings: Settings, broker: BrokerUnderTest, clock: Clock, token: str, *, watch: bool = True
) -> AsyncIterator[Harness]:
    """Run a gateway in this event loop, with a subscriber on its alert topics (unless not
    ``watch``: a broker with an ACL lets nobody but the gateway near them)."""
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(Gateway(settings, clock).run(ready.set_result))
    try:
        running = await asyncio.wait_for(asyncio.shield(ready), 15)
    except BaseException:
        task.cancel()
        raise
    h = Harness(settings, running, broker, token, task)
    # The ticker started before ready and measures its first tick from the clock's time then.
    _TICKED_BY[clock] = (h, clock.now())
    watcher = SimLink(broker.host, broker.port)

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        h.alerts.put((msg.topic, json.loads(msg.payload)))

    watcher.client.on_message = on_message
    with watcher if watch else contextlib.nullcontext(watcher):
        if watch:
            await subscribed(watcher, f"{settings.base_topic}/alerts/#")
        try:
            yield h
        finally:
            _TICKED_BY.pop(clock, None)
            task.cancel()
            # A gateway that does not stop is a bug to see, not a suite that hangs.
            done, _ = await asyncio.wait({task}, timeout=20)
            if not done:
                stuck = [t.get_name() for t in asyncio.all_tasks() if not t.done()]
                raise RuntimeError(f"the gateway did not stop within 20 s; tasks: {stuck[:20]}")
            with contextlib.suppress(asyncio.CancelledError):
                task.result()


@pytest.fixture
async def gateway(tmp_path: Path, broker: BrokerUnderTest) -> AsyncIterator[Harness]:
    """A gateway on wall time, with the test community loaded."""
    settings = unique_settings(tmp_path, broker)
    clock = SystemClock()
    token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())
    async with running_gateway(settings, broker, clock, token) as h:
        yield h


@contextlib.asynccontextmanager
async def fake_time_gateway(
    tmp_path: Path, broker: BrokerUnderTest, start: datetime, doc: dict[str, Any] | None = None
) -> AsyncIterator[tuple[Harness, Any]]:
    """A gateway whose clock moves only when the test says (FakeClock.advance)."""
    from gateway.clock import FakeClock

    settings = unique_settings(tmp_path, broker)
    clock = FakeClock(start)
    token = await prepare(settings, doc or site_doc(door_debounce_s=0), start)
    async with running_gateway(settings, broker, clock, token) as h:
        yield h, clock


async def advance(clock: Any, seconds: float, settle: float = 0.15) -> None:
    """Move fake time and wait until the gateway's tick has run (and committed) at the new time.

    The ticker ticks once ``tick_s`` passed since its last tick; when that is not yet so, no
    tick is due and nothing is waited for. A tick that never commits (a failing ticker) is a
    TimeoutError: such a test moves the clock itself and waits for what it expects.

    Args:
        clock: The FakeClock of a gateway started by ``running_gateway``.
        seconds: How far to move it.
        settle: Only for a clock no running gateway uses: how long to let pass (in seconds).
    """
    clock.advance(seconds)
    ticked = _TICKED_BY.get(clock)
    if ticked is None:
        await asyncio.sleep(settle)
        return
    h, started = ticked
    pipeline = h.running.pipeline
    now = clock.now()
    last = pipeline.watch.last_tick
    previous = started if last is None else max(last, started)
    if now < previous + timedelta(seconds=h.settings.tick_s):
        return

    async def ticked_now() -> bool:
        # The tick stages its time under the desk lock and installs it after the commit; with
        # the lock free again, the tick at ``now`` committed and handed its notices over.
        last = pipeline.watch.last_tick
        return last is not None and last >= now and not pipeline.desk.lock.locked()

    await eventually(ticked_now, timeout=10)


async def lock_sqlite(h: Harness) -> sqlite3.Connection:
    """Another process's writer holding the gateway's SQLite file (a backup or a stuck tool).

    Taken off the event loop: the gateway commits on the loop's thread, so waiting for the lock
    there could wait on a transaction only the blocked loop can finish."""
    path = h.settings.db_url.split(":///", 1)[1]
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    await asyncio.to_thread(conn.execute, "BEGIN EXCLUSIVE")
    return conn


def at_local(text: str) -> datetime:
    """An aware datetime from local Shanghai wall time ``YYYY-MM-DD HH:MM``."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


REPO = Path(__file__).resolve().parents[1]


def isogate_cli(*args: str, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m isogate ARGS`` on the data dir ``data``, free of the caller's ISOGATE_ env."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ISOGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "isogate", *args],
        cwd=REPO,
        env=clean | {"ISOGATE_DATA_DIR": str(data)} | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
