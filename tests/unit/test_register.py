"""The household register (登记册) imported from a spreadsheet's CSV (SPEC §4)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.site import SiteFileError, merge_sites, parse_site_yaml
from gateway.site.register import parse_register, parse_time, read_register
from rules.site import DeviceKind, Protocol

SHANGHAI = ZoneInfo("Asia/Shanghai")

# As a community's spreadsheet exports it: Chinese headers, household cells merged (blank on the
# household's later rows, even the 户号), mixed time spellings, MACs without colons.
REGISTER_CN = """\
序号,户号,地址,人员编号,姓名,标记,电话,包保民警,随访医生,安装人员,隔离开始,隔离结束,门磁协议,门磁地址,体温计地址,摄像头,备注
1,h1,幸福小区3栋2单元501,r1,张三,独居老人、elderly_alone,138 0000 0001,p1,d1,t1,2026/11/20 0:00,2026-12-04 00:00,zigbee2mqtt,h1_door,a4c138000001,mqtt,
2,,,r2,李四,,,,,,,,,,A4-C1-38-00-00-02,,孙女
3,h2,幸福小区4栋101,r3,王五,,,p1,d1,t1,2026-11-21T00:00,2026-12-05T00:00,rflink,EV1527:0a1b2c,,rtsp://10.0.0.9/stream1,
"""  # noqa: E501 -- a register row is as wide as the spreadsheet

REGISTER_EN = """\
household_id,address,resident_id,name,flags,phone,officer,doctor,technician,isolation_start,isolation_end,door_protocol,door_address,thermometer_address,camera
h1,幸福小区3栋2单元501,r1,张三,独居老人;elderly_alone,13800000001,p1,d1,t1,2026-11-20 00:00,2026-12-04 00:00,zigbee2mqtt,h1_door,A4:C1:38:00:00:01,mqtt
h1,,r2,李四,,,,,,,,,,A4:C1:38:00:00:02,
h2,幸福小区4栋101,r3,王五,,,p1,d1,t1,2026-11-21 00:00,2026-12-05 00:00,rflink,EV1527:0a1b2c,,rtsp://10.0.0.9/stream1
"""  # noqa: E501 -- a register row is as wide as the spreadsheet

# Rows 3 and 5 are wrong: a month 13 and a MAC with a letter that is no hex digit.
TWO_BAD_ROWS = """\
户号,地址,人员编号,姓名,隔离开始,隔离结束,体温计地址
h1,幸福小区1号,r1,张三,2026-11-20 00:00,2026-12-04 00:00,A4:C1:38:00:00:01
h2,幸福小区2号,r2,李四,2026-13-20 00:00,2026-12-04 00:00,A4:C1:38:00:00:02
h3,幸福小区3号,r3,王五,2026-11-20 00:00,2026-12-04 00:00,A4:C1:38:00:00:03
h4,幸福小区4号,r4,赵六,2026-11-20 00:00,2026-12-04 00:00,A4:C1:38:00:00:G4
"""

STAFF = """\
staff:
  - {id: p1, name: 赵致远, role: officer}
  - {id: d1, name: 王医生, role: doctor}
  - {id: t1, name: 陈师傅, role: technician}
"""


def refused(text: str) -> list[tuple[int | None, str]]:
    """The (row, column) of every error in a register that must be refused."""
    with pytest.raises(SiteFileError) as caught:
        parse_register(text.encode("utf-8"), "hh.csv")
    return [(e.line, e.path) for e in caught.value.errors]


def test_utf8_with_bom_and_gb18030_registers_parse_to_the_same_site() -> None:
    """Excel's two usual encodings of one register give equal models."""
    from_bom = parse_register(("\ufeff" + REGISTER_CN).encode("utf-8"), "hh.csv")
    from_gb = parse_register(REGISTER_CN.encode("gb18030"), "hh.csv")
    assert from_bom == from_gb
    assert from_bom.households[0].residents[1].name == "李四"


def test_chinese_and_english_headers_give_the_same_households() -> None:
    """户号/地址/... and household_id/address/... are the same columns."""
    cn = parse_register(REGISTER_CN.encode("gb18030"), "hh.csv")
    en = parse_register(REGISTER_EN.encode("utf-8"), "hh.csv")
    assert en.households == cn.households


def test_rows_of_a_household_are_grouped_with_their_devices() -> None:
    """Residents join their household; door, camera and thermometers get derived ids."""
    site = parse_register(REGISTER_CN.encode("gb18030"), "hh.csv")
    h1, h2 = site.households
    assert [r.id for r in h1.residents] == ["r1", "r2"]
    assert h1.residents[0].flags == ["独居老人", "elderly_alone"]
    assert h1.isolation is not None
    assert h1.isolation.start == datetime(2026, 11, 20, tzinfo=SHANGHAI)
    assert [(d.id, d.protocol, d.address) for d in h1.devices] == [
        ("door-h1", Protocol.ZIGBEE2MQTT, "h1_door"),
        ("cam-h1", Protocol.MQTT, None),
        ("therm-r1", Protocol.BLE, "A4:C1:38:00:00:01"),
        ("therm-r2", Protocol.BLE, "A4:C1:38:00:00:02"),
    ]
    assert h1.devices[3].resident == "r2"
    cam = h2.devices[1]
    assert (cam.kind, cam.protocol, cam.source) == (
        DeviceKind.CAMERA,
        Protocol.URL,
        "rtsp://10.0.0.9/stream1",
    )


def test_two_bad_rows_are_refused_naming_both_rows() -> None:
    """Every bad row is listed with its spreadsheet row and column, not only the first."""
    assert refused(TWO_BAD_ROWS) == [(3, "隔离开始"), (5, "体温计地址")]


def test_household_fields_that_disagree_between_rows_are_refused() -> None:
    """Two addresses for one household name the later row and the column."""
    text = "户号,地址,人员编号,姓名\nh1,幸福小区1号,r1,张三\nh1,幸福小区2号,r2,李四\n"
    with pytest.raises(SiteFileError) as caught:
        parse_register(text.encode("utf-8"), "hh.csv")
    [error] = caught.value.errors
    assert (error.line, error.path) == (3, "地址")
    assert "row 2" in error.reason
    assert str(error).startswith("hh.csv:3 地址: household h1 has 幸福小区1号 on row 2")


def test_unknown_and_missing_columns_are_refused_at_the_header() -> None:
    """A misspelt header fails loudly instead of dropping a column; required ones must exist."""
    assert refused("户号,地址,人员编号,姓名,门磁地趾\nh1,a,r1,张三,x\n") == [(1, "门磁地趾")]
    assert refused("户号,人员编号,姓名\nh1,r1,张三\n") == [(1, "address / 地址")]


def test_a_resident_listed_twice_names_both_rows() -> None:
    """The same 人员编号 on two rows points at the second and names the first."""
    text = "户号,地址,人员编号,姓名\nh1,a,r1,张三\nh2,b,r1,张三\n"
    expected = "hh.csv:3 人员编号: resident r1 is already on row 2"
    with pytest.raises(SiteFileError, match=re.escape(expected)):
        parse_register(text.encode("utf-8"), "hh.csv")


def test_model_errors_name_the_row_and_column_too() -> None:
    """An id the models refuse (a space in 户号) is placed on its row and the 户号 column."""
    assert refused("户号,地址,人员编号,姓名\nh1,a,r1,张三\nh 2,b,r2,李四\n") == [(3, "户号")]


def test_bad_door_protocol_phone_and_half_a_period_are_all_listed() -> None:
    """Row-level mistakes of different kinds are collected in one refusal."""
    text = (
        "户号,地址,人员编号,姓名,电话,隔离开始,门磁协议,门磁地址,摄像头\n"
        "h1,a,r1,张三,call me,2026-11-20,ble,x,webcam\n"
        "h2,b,r2,李四,,,,h2_door,\n"
    )
    assert set(refused(text)) == {
        (2, "电话"),
        (2, "隔离结束"),
        (2, "门磁协议"),
        (2, "摄像头"),
        (3, "门磁协议"),
    }


def test_staff_named_in_the_register_must_already_be_stored() -> None:
    """The register creates no staff: the merged site's check names the row and column."""
    data = REGISTER_CN.encode("gb18030")
    doc = read_register(data, "hh.csv")
    stored = parse_site_yaml(STAFF, "staff.yaml")
    assert doc.check(merge_sites(stored, doc.site)) == []
    errors = doc.check(merge_sites(None, doc.site))
    assert {(e.line, e.path) for e in errors} == {
        (2, "包保民警"),
        (2, "随访医生"),
        (2, "安装人员"),
        (4, "包保民警"),
        (4, "随访医生"),
        (4, "安装人员"),
    }


def test_register_times_follow_the_stored_zone_and_keep_it() -> None:
    """Times are read in the stored site's zone; importing does not reset the zone."""
    stored = parse_site_yaml("timezone: Asia/Urumqi\n" + STAFF, "staff.yaml")
    site = parse_register(REGISTER_CN.encode("gb18030"), "hh.csv", timezone=stored.timezone)
    isolation = site.households[0].isolation
    assert isolation is not None
    assert isolation.start == datetime(2026, 11, 20, tzinfo=ZoneInfo("Asia/Urumqi"))
    plain = parse_register(REGISTER_CN.encode("gb18030"), "hh.csv")
    assert merge_sites(stored, plain).timezone == "Asia/Urumqi"


def test_bytes_that_are_neither_utf8_nor_gb18030_are_refused() -> None:
    """A file in neither encoding is one error naming its row, not a crash."""
    data = "户号,地址,人员编号,姓名\n".encode() + b"h1,\xff\xff,r1,x\n"
    with pytest.raises(SiteFileError) as caught:
        parse_register(data, "hh.csv")
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (2, "neither UTF-8 nor GB18030 text")
    ]


@pytest.mark.parametrize(
    "text",
    ["2026-11-20 00:00", "2026/11/20 0:00", "2026-11-20T00:00", "2026年11月20日", "2026.11.20"],
)
def test_the_usual_spreadsheet_time_spellings_are_understood(text: str) -> None:
    """Each spelling a spreadsheet produces means midnight of 20 November 2026."""
    assert parse_time(text) == datetime(2026, 11, 20)


@pytest.mark.parametrize("text", ["20/11/2026", "2026-02-30", "tomorrow", "2026-11-20 25:00"])
def test_times_that_are_ambiguous_or_impossible_are_not_guessed(text: str) -> None:
    """Day-first dates, impossible dates and words are refused, not guessed at."""
    assert parse_time(text) is None
