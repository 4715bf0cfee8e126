"""The `isogate` command as an operator uses it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from gateway.store import Store
from tests.conftest import BrokerUnderTest, isogate_cli, site_doc, unique_settings

REPO = Path(__file__).resolve().parents[2]


def test_user_add_prints_the_token_alone_on_the_last_line(tmp_path: Path):
    """The token works against the store; only its hash is kept."""
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(site_doc(), allow_unicode=True))
    assert isogate_cli("load", str(site), data=tmp_path).returncode == 0
    out = isogate_cli("user", "add", "p1", "--role", "officer", data=tmp_path)
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
    out = isogate_cli("load", str(bad), data=tmp_path)
    assert out.returncode == 1
    assert "refused" in out.stderr
    assert "households[1].devices[0].kind" in out.stderr
    assert "staff[0].phone" in out.stderr
    doc = site_doc()
    doc["households"][0]["officer"] = "nobody"
    doc["shifts"][0]["watcher"] = "p1"  # an officer, not a watcher
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = isogate_cli("load", str(bad), data=tmp_path)
    assert out.returncode == 1
    assert "households[0].officer" in out.stderr
    assert "shifts[0].watcher" in out.stderr
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(site_doc(), allow_unicode=True))
    ok = isogate_cli("load", str(good), data=tmp_path)
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
        out = isogate_cli(
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


REGISTER = (
    "户号,地址,人员编号,姓名,标记,电话,包保民警,随访医生,安装人员,隔离开始,隔离结束,"
    "门磁协议,门磁地址,体温计地址\n"
    "h7,和平里1栋101,r7,赵六,独居老人,13800000007,p1,d1,t1,2026/11/20 0:00,2026-12-04 00:00,"
    "zigbee2mqtt,h7_door,A4:C1:38:00:00:07\n"
    ",,r8,钱七,,,,,,,,,,A4:C1:38:00:00:08\n"
)


def _staff_only(tmp_path: Path) -> Path:
    doc = site_doc()
    doc["households"] = []
    doc["shifts"] = [{"watcher": "w1", "daily": "00:00-24:00", "households": "all"}]
    path = tmp_path / "staff.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return path


def _stored(data: Path) -> dict:
    async def read() -> dict:
        async with Store.open(f"sqlite+aiosqlite:///{data / 'isogate.db'}") as store:
            return (await store.read_site())[1]

    return asyncio.run(read())


def test_gb18030_and_utf8_bom_registers_import_the_same_site(tmp_path: Path):
    """The same register saved by two spreadsheet programs gives the same households."""
    sites = []
    for name, data in [
        ("gbk", REGISTER.encode("gb18030")),
        ("bom", b"\xef\xbb\xbf" + REGISTER.encode("utf-8")),
    ]:
        d = tmp_path / name
        assert isogate_cli("load", str(_staff_only(tmp_path)), data=d).returncode == 0
        csv = tmp_path / f"{name}.csv"
        csv.write_bytes(data)
        out = isogate_cli("import", str(csv), data=d)
        assert out.returncode == 0, out.stderr
        sites.append(_stored(d)["households"])
    assert sites[0] == sites[1]
    [h7] = sites[0]
    assert [r["name"] for r in h7["residents"]] == ["赵六", "钱七"]
    assert {d["id"] for d in h7["devices"]} == {"door-h7", "therm-r7", "therm-r8"}


def test_register_with_two_bad_rows_is_refused_naming_both(tmp_path: Path):
    """Row 2's date is not a date and row 3's MAC is not a MAC: both named, nothing stored."""
    assert isogate_cli("load", str(_staff_only(tmp_path)), data=tmp_path).returncode == 0
    bad = REGISTER.replace("2026/11/20 0:00", "20/11/2026").replace(
        "A4:C1:38:00:00:08", "not-a-mac"
    )
    csv = tmp_path / "bad.csv"
    csv.write_bytes(bad.encode("gb18030"))
    out = isogate_cli("import", str(csv), data=tmp_path)
    assert out.returncode == 1
    assert "bad.csv:2" in out.stderr and "隔离开始" in out.stderr
    assert "bad.csv:3" in out.stderr and "体温计地址" in out.stderr
    assert _stored(tmp_path)["households"] == []


def test_register_naming_unknown_staff_is_refused(tmp_path: Path):
    """A register may name only staff already loaded: an unknown officer is refused by row."""
    assert isogate_cli("load", str(_staff_only(tmp_path)), data=tmp_path).returncode == 0
    csv = tmp_path / "bad.csv"
    csv.write_bytes(REGISTER.replace(",p1,d1,", ",p9,d1,").encode("utf-8"))
    out = isogate_cli("import", str(csv), data=tmp_path)
    assert out.returncode == 1
    assert "bad.csv:2" in out.stderr and "p9" in out.stderr


async def test_commission_ticks_off_each_device_and_names_a_mistyped_one(
    tmp_path: Path, broker: BrokerUnderTest
):
    """h2's door opens and closes, its thermometer reads: the checklist completes (exit 0);
    a sensor publishing under a wrong name is shown as heard but not bound."""
    from gateway.clock import SystemClock
    from simulators.door import DoorSensor
    from tests.conftest import prepare, running_gateway

    s = unique_settings(tmp_path, broker)
    clock = SystemClock()
    token = await prepare(s, site_doc(door_debounce_s=0), clock.now())
    async with running_gateway(s, broker, clock, token) as h:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ISOGATE_")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "isogate",
            "commission",
            "h2",
            "--timeout",
            "30",
            cwd=REPO,
            env=env | {"ISOGATE_DATA_DIR": str(s.data_dir), "COLUMNS": "160"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        # events before the checklist started watching are not counted: wait for its word
        await asyncio.wait_for(proc.stdout.readuntil(b"operate each device now"), 60)
        with h.link() as link:
            door = DoorSensor(link, "door-h2", "native", base_topic=h.base)
            await asyncio.to_thread(door.open)
            await asyncio.to_thread(door.close)
            typo = DoorSensor(link, "h2 door", "zigbee2mqtt", z2m_base=h.z2m)
            await asyncio.to_thread(typo.open)

            async def stranger_kept() -> bool:
                return any(u["address"] == "h2 door" for u in await h.running.store.list_unknown())

            await h.wait_for(stranger_kept)  # seen as a stranger before the last step
            await asyncio.to_thread(
                link.publish,
                f"{h.base}/dev/therm-r2/event",
                json.dumps({"type": "temperature", "celsius": 36.6}),
            )
        out, _ = await asyncio.wait_for(proc.communicate(), 40)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "every device reported" in text
    assert "zigbee2mqtt:h2 door" in text


CONFIG_MISTAKES = [
    # (TOML file text or None for a missing file, extra environment, what the line must say)
    ('mqtt_ur = "mqtt://127.0.0.1:1883"\n', {}, "unknown key 'mqtt_ur' (did you mean 'mqtt_url'?)"),
    ("mqtt_url = \n", {}, "not valid TOML"),
    ("http_port = 70000\n", {}, "http_port = 70000: Input should be less than or equal to 65535"),
    (None, {}, "cannot read it: No such file or directory"),
    ("", {"ISOGATE_MQTT_URL": "http://127.0.0.1:1883"}, "scheme must be mqtt:// or mqtts://"),
    ("", {"ISOGATE_MQTT_UR": "mqtt://x"}, "did you mean ISOGATE_MQTT_URL?"),
]


@pytest.mark.parametrize(("toml", "env", "says"), CONFIG_MISTAKES)
@pytest.mark.parametrize("command", [("run",), ("user", "add", "p1", "--role", "officer")])
def test_a_config_mistake_is_one_line_and_exit_status_2(
    tmp_path: Path, toml: str | None, env: dict[str, str], says: str, command: tuple[str, ...]
):
    """A typo, bad TOML, a bad value or a missing file: one clear line on stderr, no traceback."""
    config = tmp_path / "isogate.toml"
    if toml is not None:
        config.write_text(toml)
    out = isogate_cli(*command, "--config", str(config), data=tmp_path, **env)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("isogate: ") and says in lines[0]
