"""``isogate demo``: a community of simulated households living through a scripted night.

An embedded broker (unless one is configured), a fresh database in the data dir, about twenty
households, door sensors that speak zigbee2mqtt and the native protocol, the gateway, its API and
the console (the printed URL and token log in).
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
from gateway.site.stored import save_site
from gateway.store import Store
from isogate.service import Gateway, Running
from isogate.settings import Settings
from rules.site import Site
from simulators.ble import BleThermometer
from simulators.broker import EmbeddedBroker, free_port
from simulators.community import door_of, household_id, thermometer_mac
from simulators.door import DoorSensor
from simulators.link import SimLink
from simulators.police_app import PoliceApp

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
        hid = household_id(i)
        street = STREETS[(i - 1) % len(STREETS)]
        protocol, address = door_of(i)
        door = (
            {"id": f"door-{hid}", "kind": "door", "protocol": protocol, "address": address}
            if protocol == "zigbee2mqtt"
            else {"id": f"door-{hid}", "kind": "door", "protocol": protocol}
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
                "residents": [
                    {
                        "id": f"r{i:02d}",
                        "name": f"居民{i:02d}",
                        "flags": ["elderly_alone"] if i == 2 else [],
                    }
                ],
                "officer": "p1",
                "doctor": "d1",
                "technician": "t1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"},
                "devices": [
                    door,
                    {
                        "id": f"therm-r{i:02d}",
                        "kind": "thermometer",
                        "protocol": "ble",
                        "address": demo_mac(i),
                        "resident": f"r{i:02d}",
                    },
                ],
                "visits": visits,
            }
        )
    return Site.model_validate(
        {
            "timezone": "Asia/Shanghai",
            "community": "幸福街道社区",
            "hotline": "12356（全国心理援助热线）",
            "policy": {
                "door_left_open_s": 120,
                "offline_grace_s": 120,
                # The night's own short reading window, so a missed reading shows within seconds.
                "reading_windows": ["03:00-03:08", "06:00-10:00", "17:00-21:00"],
            },
            "staff": staff,
            "shifts": [
                {"watcher": "w1", "daily": "00:00-08:00", "households": "all"},
                {"watcher": "w2", "daily": "08:00-16:00", "households": "all"},
                {"watcher": "w3", "daily": "16:00-24:00", "households": "all"},
            ],
            "households": hh,
        }
    )


demo_mac = thermometer_mac
"""Household i's thermometer."""


# (demo minutes after DEMO_START, what, household, argument, what the audience should see)
SCRIPT: list[tuple[float, str, str, object, str]] = [
    (1.0, "door", "h03", True, "深夜 h03 开门：非授权时段 → 民警与值班员收到 door_breach"),
    (1.2, "readings", "*", 36.5, "夜间测温窗口 03:00-03:08：各户体温计上报（h07 没测）"),
    (1.5, "door", "h03", False, "h03 关门（民警 App 一分钟内确认，不再升级）"),
    (2.0, "reading", "h05", 38.6, "h05 体温 38.6°C → 医生与值班员收到 fever"),
    (3.0, "door", "h01", True, "h01 送货，授权时段内开门 → 只记录，不告警"),
    (3.5, "door", "h01", False, "h01 关门"),
    (4.0, "door", "h06", True, "h06 开门后未关 → door_breach，两分钟后 door_left_open"),
    (5.0, "offline", "h09", None, "h09 门磁掉线 → 宽限两分钟后 device_offline 给安装人员"),
    (6.0, "prereport", "h04", "garbage", "h04 住户扫码报备倒垃圾 → 十分钟内开门只记录，不告警"),
    (6.3, "door", "h04", True, "h04 开门倒垃圾（报备时段内）"),
    (6.6, "door", "h04", False, "h04 关门"),
    (
        7.0,
        "symptom",
        "h02",
        "dry_cough",
        "h02 独居老人自报干咳 → 医生与值班员收到 symptom（重点关注）",
    ),
    (8.0, "note", "h07", None, "03:08 测温窗口结束：h07 未测 → missed_reading 给医生"),
    (9.0, "door", "h06", False, "h06 终于关门 → door_left_open 自动解除"),
]
MISSES = {"h07"}  # residents who do not measure in the night window


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
            url = f"http://{s.http_host}:{running.http_port}"
            console.print(f"console: {url}/  (API docs: {url}/api/docs)")
            console.print(f"login token: {token}")
            console.print(f"{households} households; demo time runs {speed:g}× (Ctrl-C to stop)\n")
            if running.care is not None:
                secret = await running.care.link_secret("h01", "demo", "admin", "cli")
                console.print(f"h01 的住户报备页（告知书二维码）: {url}/r/{secret}")
            await _play(s, clock, console, gateway.done, households, running)
            await gateway
        finally:
            gateway.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gateway


async def _play(
    s: Settings,
    clock: ScaledClock,
    console: Console,
    stopped: Callable[[], bool],
    households: int,
    running: Running,
) -> None:
    where = s.device_broker()
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
        police = PoliceApp("p1", host=where.host, port=where.port, base=s.base_topic, ack_delay=1.0)
        await asyncio.to_thread(police.start)
        stack.callback(police.stop)
        sensors: dict[str, DoorSensor] = {}

        def door(hid: str) -> DoorSensor:
            n = int(hid[1:])
            return sensors.setdefault(
                hid,
                DoorSensor(
                    devices,
                    f"{hid}_door" if n % 2 else f"door-{hid}",
                    "zigbee2mqtt" if n % 2 else "native",
                    base_topic=s.base_topic,
                ),
            )

        def thermometer(hid: str) -> BleThermometer:
            return BleThermometer(devices, mac=demo_mac(int(hid[1:])), omg_base=s.omg_base_topic)

        for minute, what, hid, arg, note in SCRIPT:
            while clock.now() < DEMO_START + timedelta(minutes=minute):
                await asyncio.sleep(0.05)
            console.print(f"[cyan]{clock.now().astimezone(TZ):%H:%M:%S}[/] {note}")
            if what == "door":
                await asyncio.to_thread(door(hid).report, bool(arg))
            elif what == "reading":
                await asyncio.to_thread(thermometer(hid).reading, float(arg))  # type: ignore[arg-type]
            elif what == "readings":
                for n in range(1, households + 1):
                    if f"h{n:02d}" not in MISSES | {"h05"}:
                        await asyncio.to_thread(thermometer(f"h{n:02d}").reading, float(arg))  # type: ignore[arg-type]
            elif what == "offline":
                await asyncio.to_thread(door(hid).availability, False)
            elif what == "prereport" and running.care is not None:
                await running.care.prereport(hid, str(arg))
            elif what == "symptom" and running.care is not None:
                resident = f"r{hid[1:]}"
                await running.care.symptoms(
                    hid, resident, [str(arg)], "resident", "resident", "page"
                )
        console.print("\nscript done; the gateway keeps running (Ctrl-C to stop)")
        beat = clock.now()
        while not stopped():
            await asyncio.sleep(0.5)
            if clock.now() - beat > timedelta(minutes=20):
                # Contact sensors report now and then even when nothing happens.
                beat = clock.now()
                for n in range(1, households + 1):
                    if f"h{n:02d}" != "h09":
                        await asyncio.to_thread(door(f"h{n:02d}").heartbeat)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
