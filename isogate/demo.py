"""``isogate demo``: a community of simulated households living through a scripted night.

An embedded broker (unless one is configured), a fresh database in the data dir, about twenty
households, door sensors that speak zigbee2mqtt and the native protocol, the gateway and its API.
Demo time runs ``speed`` times faster than the wall clock so the script plays in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console

from gateway.clock import ScaledClock
from gateway.mqtt import BrokerAddress
from gateway.service import Gateway, Running
from gateway.settings import Settings
from gateway.sitestore import save_site
from gateway.store import Store
from rules.site import Site
from simulators.broker import EmbeddedBroker, free_port
from simulators.door import DoorSensor
from simulators.link import SimLink

TZ = ZoneInfo("Asia/Shanghai")
DEMO_START = datetime(2026, 11, 23, 2, 59, 0, tzinfo=TZ)
STREETS = ["幸福小区", "和平里", "向阳花园", "建设新村"]


def demo_site(households: int) -> Site:
    """A community: watchers on three shifts, an officer, a doctor, households under isolation."""
    staff = [
        {"id": "w1", "name": "李伟", "role": "watcher", "phone": "+8613800000001"},
        {"id": "w2", "name": "刘芳", "role": "watcher"},
        {"id": "w3", "name": "周强", "role": "watcher"},
        {"id": "p1", "name": "赵致远", "role": "officer", "phone": "+8613800000002"},
        {"id": "d1", "name": "王医生", "role": "doctor"},
        {"id": "t1", "name": "陈师傅", "role": "technician"},
        {"id": "s1", "name": "黄主任", "role": "supervisor"},
    ]
    hh = []
    for i in range(1, households + 1):
        hid = f"h{i:02d}"
        street = STREETS[(i - 1) % len(STREETS)]
        door = (
            {
                "id": f"door-{hid}",
                "kind": "door",
                "protocol": "zigbee2mqtt",
                "address": f"{hid}_door",
            }
            if i % 2
            else {"id": f"door-{hid}", "kind": "door", "protocol": "native"}
        )
        visits = []
        if i == 1:
            visits = [
                {
                    "start": "2026-11-23T03:02",
                    "end": "2026-11-23T03:10",
                    "reason": "delivery",
                    "escort": "w1",
                }
            ]
        hh.append(
            {
                "id": hid,
                "address": f"{street}{i % 9 + 1}栋{i % 4 + 1}单元{100 * (i % 6 + 1) + 1}",
                "residents": [{"id": f"r{i:02d}", "name": f"居民{i:02d}"}],
                "officer": "p1",
                "doctor": "d1",
                "technician": "t1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"},
                "devices": [door],
                "visits": visits,
            }
        )
    return Site.model_validate(
        {
            "timezone": "Asia/Shanghai",
            "policy": {"door_left_open_s": 120},
            "staff": staff,
            "shifts": [
                {"watcher": "w1", "daily": "00:00-08:00", "households": "all"},
                {"watcher": "w2", "daily": "08:00-16:00", "households": "all"},
                {"watcher": "w3", "daily": "16:00-24:00", "households": "all"},
            ],
            "households": hh,
        }
    )


# (demo minutes after DEMO_START, household, action, what the audience should see)
SCRIPT: list[tuple[float, str, str, str]] = [
    (1.0, "h03", "open", "深夜 h03 开门：非授权时段 → 民警与值班员收到 door_breach"),
    (1.5, "h03", "close", "h03 关门"),
    (4.0, "h01", "open", "h01 送货，授权时段内开门 → 只记录，不告警"),
    (4.5, "h01", "close", "h01 关门"),
    (5.0, "h06", "open", "h06 开门后未关 → 先 door_breach，两分钟后 door_left_open"),
    (9.0, "h06", "close", "h06 终于关门 → door_left_open 自动解除"),
]


async def run_demo(settings: Settings, *, households: int, speed: float, console: Console) -> None:
    """Run the demo until Ctrl-C."""
    data = settings.data_dir / "demo"
    shutil.rmtree(data, ignore_errors=True)
    clock = ScaledClock(DEMO_START, speed)
    async with contextlib.AsyncExitStack() as stack:
        mqtt_url = os.environ.get("ISOGATE_MQTT_URL")
        if not mqtt_url:
            broker = await stack.enter_async_context(EmbeddedBroker())
            mqtt_url = broker.url
            console.print(f"embedded broker on {mqtt_url}")
        port = settings.http_port if _port_free(settings.http_port) else free_port()
        s = settings.model_copy(
            update={
                "data_dir": data,
                "mqtt_url": mqtt_url,
                "http_port": port,
                "client_id": f"isogate-demo-{secrets.token_hex(3)}",
            }
        )
        token = secrets.token_urlsafe(18)
        async with Store.open(s.db_url) as store:
            await save_site(store, demo_site(households), "demo", clock.now())
            await store.add_user("demo", "admin", token, clock.now())
        ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        gateway = asyncio.create_task(Gateway(s, clock).run(ready.set_result), name="gateway")
        try:
            running = await asyncio.wait_for(asyncio.shield(ready), 30)
            console.print(f"console/API: http://{s.http_host}:{running.http_port}/api/docs")
            console.print(f"login token: {token}")
            console.print(f"{households} households; demo time runs {speed:g}× (Ctrl-C to stop)\n")
            await _play(s, clock, console, gateway.done)
            await gateway
        finally:
            gateway.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gateway


async def _play(
    s: Settings, clock: ScaledClock, console: Console, stopped: Callable[[], bool]
) -> None:
    where = BrokerAddress.parse(s.mqtt_url)
    with contextlib.ExitStack() as stack:
        # Connecting blocks until CONNACK, and the embedded broker runs on this loop: off-thread.
        devices = await asyncio.to_thread(stack.enter_context, SimLink(where.host, where.port))
        watch = await asyncio.to_thread(stack.enter_context, SimLink(where.host, where.port))

        def show(_c: object, _u: object, msg: object) -> None:
            alert = json.loads(msg.payload)  # type: ignore[attr-defined]
            t = datetime.fromisoformat(alert["raised_at"]).strftime("%H:%M:%S")
            console.print(
                f"[bold red]ALERT[/] {t} {alert['type']:<15} {alert['status']:<12} "
                f"→ {','.join(alert['recipients'])}: {alert['message']}"
            )

        watch.client.on_message = show
        watch.client.subscribe(f"{s.base_topic}/alerts", qos=1)
        sensors: dict[str, DoorSensor] = {}
        for minute, hid, action, note in SCRIPT:
            while clock.now() < DEMO_START + timedelta(minutes=minute):
                await asyncio.sleep(0.05)
            n = int(hid[1:])
            sensor = sensors.setdefault(
                hid,
                DoorSensor(
                    devices,
                    f"{hid}_door" if n % 2 else f"door-{hid}",
                    "zigbee2mqtt" if n % 2 else "native",
                    base_topic=s.base_topic,
                ),
            )
            console.print(f"[cyan]{clock.now().astimezone(TZ):%H:%M:%S}[/] {note}")
            await asyncio.to_thread(sensor.report, action == "open")
        console.print("\nscript done; the gateway keeps running (Ctrl-C to stop)")
        while not stopped():
            await asyncio.sleep(0.5)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
