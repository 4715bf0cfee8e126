"""The site file: parsed with its lines, checked across references, merged by id (SPEC §4)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.site import (
    SiteError,
    SiteFileError,
    check_site,
    load_site_file,
    merge_sites,
    parse_site_yaml,
    read_site_yaml,
)
from rules.site import Household, Role, Site

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The example of SPEC §4, verbatim. Its roster names watchers w2 and w3 and a household h2 that
# the example itself does not define.
SPEC_EXAMPLE = """\
timezone: Asia/Shanghai
policy:
  fever_celsius: 37.3
  reading_windows: ["06:00-10:00", "17:00-21:00"]
  door_left_open_s: 120
  device_offline_s: 600
  low_battery_pct: 15
  ack_timeout_s: 120
  escalation: [watcher, officer, supervisor]
staff:
  - {id: w1, name: 李伟, role: watcher, phone: "+8613800000001"}
  - {id: p1, name: 赵致远, role: officer, phone: "+8613800000002"}
  - {id: d1, name: 王医生, role: doctor}
  - {id: t1, name: 陈师傅, role: technician}
  - {id: s1, name: 黄主任, role: supervisor}
shifts:
  - {watcher: w1, daily: "00:00-08:00", households: all}
  - {watcher: w2, daily: "08:00-16:00", households: [h1, h2]}
  - {watcher: w3, start: "2026-11-23T16:00", end: "2026-11-24T00:00", households: all}
households:
  - id: h1
    address: 幸福小区3栋2单元501
    residents:
      - {id: r1, name: 张三, flags: [elderly_alone]}
    officer: p1
    doctor: d1
    technician: t1
    isolation: {start: "2026-11-20T00:00", end: "2026-12-04T00:00"}
    devices:
      - {id: door-h1, kind: door, protocol: zigbee2mqtt, address: h1_door}
      - {id: therm-r1, kind: thermometer, protocol: ble, address: "A4:C1:38:00:00:01", resident: r1}
      - {id: cam-h1, kind: camera, protocol: mqtt, roi: [[0.30, 0.10], [0.70, 0.10], [0.70, 0.95], [0.30, 0.95]]}
    visits:
      - {start: "2026-11-23T10:00", end: "2026-11-23T10:20", reason: delivery, escort: w2}
"""  # noqa: E501 -- verbatim from the SPEC

MISSING_FROM_THE_EXAMPLE = """\
staff:
  - {id: w2, name: 刘洋, role: watcher}
  - {id: w3, name: 孙丽, role: watcher}
households:
  - {id: h2, address: 幸福小区3栋2单元502}
"""

# Five mistakes, one per line: a role typo, an unquoted phone (YAML reads a number), a missing
# resident name, a misspelt key, and a zigbee2mqtt door without its address.
SEVERAL_MISTAKES = """\
staff:
  - {id: w1, name: 李伟, role: wacher}
  - {id: p1, name: 赵致远, role: officer, phone: +8613800000002}
households:
  - id: h1
    address: 幸福小区3栋2单元501
    residents:
      - {id: r1}
    oficer: p1
    devices:
      - {id: door-h1, kind: door, protocol: zigbee2mqtt}
"""

CROSS_REFERENCES = """\
staff:
  - {id: w1, name: 李伟, role: watcher}
  - {id: d1, name: 王医生, role: doctor}
shifts:
  - {watcher: d1, daily: "00:00-08:00", households: [h1, h9]}
households:
  - id: h1
    address: 幸福小区1号
    residents: [{id: r1, name: 张三}]
    officer: p9
    doctor: w1
    devices:
      - {id: therm-r1, kind: thermometer, protocol: ble, address: "A4:C1:38:00:00:01", resident: r7}
      - {id: door-1, kind: door, protocol: rflink, address: "EV1527:0A1B2C"}
  - id: h2
    address: 幸福小区2号
    residents: [{id: r1, name: 李四}]
    devices:
      - {id: therm-r2, kind: thermometer, protocol: ble, address: "a4c138000001", resident: r1}
      - {id: door-1, kind: door, protocol: rflink, address: "ev1527:0a1b2c"}
    visits:
      - {start: "2026-11-23T10:00", end: "2026-11-23T10:20", escort: x1}
"""


def where(errors: list[SiteError]) -> set[tuple[int | None, str]]:
    """The (line, path) of each error, which is what an operator reads first."""
    return {(e.line, e.path) for e in errors}


def test_spec_example_loads_with_times_in_the_site_zone() -> None:
    """The SPEC §4 example parses; naive times become Asia/Shanghai times."""
    site = parse_site_yaml(SPEC_EXAMPLE, "site.yaml")
    h1 = site.households[0]
    assert h1.isolation is not None
    assert h1.isolation.start == datetime(2026, 11, 20, tzinfo=SHANGHAI)
    assert [d.id for d in h1.devices] == ["door-h1", "therm-r1", "cam-h1"]
    assert site.shifts is not None and site.shifts[2].end == datetime(2026, 11, 24, tzinfo=SHANGHAI)


def test_spec_example_is_consistent_once_w2_w3_and_h2_exist() -> None:
    """Cross-checks flag only the watchers and household the example uses but does not define."""
    doc = read_site_yaml(SPEC_EXAMPLE, "site.yaml")
    assert where(doc.check(doc.site)) == {
        (18, "shifts[1].watcher"),
        (18, "shifts[1].households[1]"),
        (19, "shifts[2].watcher"),
        (34, "households[0].visits[0].escort"),
    }
    earlier = parse_site_yaml(MISSING_FROM_THE_EXAMPLE, "earlier.yaml")
    assert doc.check(merge_sites(earlier, doc.site)) == []


def test_a_file_with_several_mistakes_lists_every_one_with_line_and_path() -> None:
    """Each mistake is named with its line and path; nothing stops at the first."""
    with pytest.raises(SiteFileError) as caught:
        parse_site_yaml(SEVERAL_MISTAKES, "site.yaml")
    errors = caught.value.errors
    assert where(errors) == {
        (2, "staff[0].role"),
        (3, "staff[1].phone"),
        (8, "households[0].residents[0].name"),
        (9, "households[0].oficer"),
        (11, "households[0].devices[0]"),
    }
    reasons = {e.path: e.reason for e in errors}
    assert reasons["households[0].residents[0].name"] == "field required"
    assert "did you mean 'officer'" in reasons["households[0].oficer"]
    assert "quotes" in reasons["staff[1].phone"]
    assert "needs address" in reasons["households[0].devices[0]"]
    assert "site.yaml:2 staff[0].role: " in str(caught.value)


def test_a_bad_id_in_a_shift_household_list_names_the_item_only() -> None:
    """`households: all | [ids]` reports the bad list item, not also "should be 'all'"."""
    text = 'shifts:\n  - {watcher: w1, daily: "00:00-08:00", households: [h1, "h 2"]}\n'
    with pytest.raises(SiteFileError) as caught:
        parse_site_yaml(text, "site.yaml")
    [error] = caught.value.errors
    assert (error.line, error.path) == (2, "shifts[0].households[1]")
    assert "'h 2'" in error.reason


def test_a_shift_household_that_is_neither_all_nor_a_list_is_one_error() -> None:
    """A scalar other than `all` gives one error that names both accepted forms."""
    text = 'shifts:\n  - {watcher: w1, daily: "00:00-08:00", households: everyone}\n'
    with pytest.raises(SiteFileError) as caught:
        parse_site_yaml(text, "site.yaml")
    [error] = caught.value.errors
    assert error.path == "shifts[0].households"
    assert "'all'" in error.reason and "list" in error.reason


def test_a_missing_field_points_at_its_parent_mapping() -> None:
    """A household without an address is reported on the line where the household starts."""
    text = "households:\n  - id: h1\n    residents: []\n  - id: h2\n"
    with pytest.raises(SiteFileError) as caught:
        parse_site_yaml(text, "site.yaml")
    assert where(caught.value.errors) == {
        (2, "households[0].address"),
        (4, "households[1].address"),
    }


def test_a_duplicate_key_is_refused_instead_of_silently_keeping_the_last() -> None:
    """Two `officer:` keys in one household name the second one's line and the first's."""
    text = "households:\n  - id: h1\n    address: a\n    officer: p1\n    officer: p2\n"
    with pytest.raises(SiteFileError) as caught:
        parse_site_yaml(text, "site.yaml")
    [error] = caught.value.errors
    assert (error.line, error.path) == (5, "households[0].officer")
    assert "first on line 4" in error.reason


def test_a_yaml_syntax_error_names_its_line() -> None:
    """A broken flow mapping is one error at the line YAML stopped on."""
    text = "timezone: Asia/Shanghai\nstaff:\n  - {id: w1, name: 李伟\n  - {id: w2}\n"
    with pytest.raises(SiteFileError) as caught:
        parse_site_yaml(text, "site.yaml")
    [error] = caught.value.errors
    assert error.source == "site.yaml"
    assert error.line == 4


@pytest.mark.parametrize("text", ["", "- h1\n- h2\n", "just words\n"])
def test_a_file_that_is_not_a_mapping_is_refused(text: str) -> None:
    """An empty file, a list or a bare string at the top is refused with line 1."""
    with pytest.raises(SiteFileError) as caught:
        parse_site_yaml(text, "site.yaml")
    assert [e.line for e in caught.value.errors] == [1]


def test_cross_reference_errors_name_each_path_and_line() -> None:
    """Unknown and wrong-role staff, unknown households and residents, reused ids and addresses."""
    doc = read_site_yaml(CROSS_REFERENCES, "site.yaml")
    errors = check_site(doc.site, "site.yaml", lines=doc.locator.lines)
    assert where(errors) == {
        (5, "shifts[0].watcher"),  # d1 is a doctor
        (5, "shifts[0].households[1]"),  # h9 does not exist
        (10, "households[0].officer"),  # p9 is not in staff
        (11, "households[0].doctor"),  # w1 is a watcher
        (13, "households[0].devices[0].resident"),  # r7 is not in h1
        (17, "households[1].residents[0].id"),  # r1 again
        (19, "households[1].devices[0].address"),  # the same MAC, written without colons
        (20, "households[1].devices[1].id"),  # door-1 again
        (20, "households[1].devices[1].address"),  # RFLink ids are case-insensitive
        (22, "households[1].visits[0].escort"),
    }


def test_a_ble_address_that_is_no_mac_is_refused() -> None:
    """A BLE thermometer's address must be a MAC in some spelling."""
    site = parse_site_yaml(
        "households:\n  - id: h1\n    address: a\n    residents: [{id: r1, name: 张三}]\n"
        "    devices:\n"
        "      - {id: t1, kind: thermometer, protocol: ble, address: kitchen, resident: r1}\n",
        "site.yaml",
    )
    [error] = check_site(site, "site.yaml")
    assert (error.line, error.path) == (None, "households[0].devices[0].address")


def test_merge_keeps_earlier_households_and_replaces_by_id() -> None:
    """Loading h1 again replaces it; h2 from an earlier file stays; staff likewise."""
    stored = parse_site_yaml(SPEC_EXAMPLE, "site.yaml")
    stored = merge_sites(
        stored,
        parse_site_yaml("households:\n  - {id: h2, address: 幸福小区4栋}\n", "h2.yaml"),
    )
    new = parse_site_yaml(
        "staff:\n  - {id: p1, name: 赵致远, role: officer, phone: '+8613900000009'}\n"
        "households:\n  - {id: h1, address: 幸福小区3栋2单元502, officer: p1, doctor: d1}\n",
        "fix.yaml",
    )
    merged = merge_sites(stored, new)
    assert [h.id for h in merged.households] == ["h1", "h2"]
    assert merged.households[0].address == "幸福小区3栋2单元502"
    assert merged.households[0].devices == []  # replaced whole, not patched
    assert sorted(s.id for s in merged.staff) == ["d1", "p1", "s1", "t1", "w1"]
    assert next(s for s in merged.staff if s.id == "p1").phone == "+8613900000009"
    stored_h1 = next(h for h in stored.households if h.id == "h1")
    assert stored_h1.address == "幸福小区3栋2单元501"  # the stored site is untouched
    assert merge_sites(merged, new) == merged  # loading the same file twice changes nothing


def test_merge_keeps_the_community_and_hotline_until_a_file_names_them() -> None:
    """The notice's community name and hotline survive a file that does not mention them."""
    stored = parse_site_yaml("community: 幸福小区社区\nhotline: '12356'\n", "site.yaml")
    merged = merge_sites(stored, parse_site_yaml("households:\n  - {id: h2, address: b}\n", "h"))
    assert (merged.community, merged.hotline) == ("幸福小区社区", "12356")
    cleared = merge_sites(merged, parse_site_yaml("hotline: null\n", "no-hotline.yaml"))
    assert (cleared.community, cleared.hotline) == ("幸福小区社区", None)


def test_a_stored_household_broken_by_a_new_file_is_named_by_id() -> None:
    """Making p1 a doctor breaks stored h9; the error names h9 and borrows no line of the file."""
    stored = parse_site_yaml(
        "staff:\n  - {id: p1, name: 赵致远, role: officer}\n"
        "households:\n  - {id: h9, address: a, officer: p1}\n",
        "first.yaml",
    )
    doc = read_site_yaml(
        "staff:\n  - {id: p1, name: 赵致远, role: doctor}\nhouseholds:\n  - {id: h1, address: b}\n",
        "second.yaml",
    )
    [error] = doc.check(merge_sites(stored, doc.site))
    assert (error.line, error.path) == (None, "households[1].officer")
    assert error.reason == "household h9: officer 'p1' has role doctor"


def test_shifts_and_policy_omitted_keep_the_stored_ones() -> None:
    """A file without shifts, policy or timezone keeps the stored roster, policy and zone."""
    stored = parse_site_yaml("timezone: Asia/Urumqi\n" + SPEC_EXAMPLE.split("\n", 1)[1], "a.yaml")
    merged = merge_sites(stored, parse_site_yaml("staff: []\n", "b.yaml"))
    assert merged.shifts == stored.shifts and merged.shifts is not None
    assert merged.policy == stored.policy
    assert merged.timezone == "Asia/Urumqi"
    emptied = merge_sites(stored, parse_site_yaml("shifts: []\n", "c.yaml"))
    assert emptied.shifts == []


def test_staff_loaded_by_an_earlier_file_satisfies_a_later_reference() -> None:
    """A household file may name an officer from the staff file loaded before it."""
    stored = parse_site_yaml("staff:\n  - {id: p1, name: 赵致远, role: officer}\n", "staff.yaml")
    doc = read_site_yaml("households:\n  - {id: h1, address: a, officer: p1}\n", "hh.yaml")
    assert doc.check(merge_sites(stored, doc.site)) == []
    assert [e.path for e in doc.check(merge_sites(None, doc.site))] == ["households[0].officer"]


def test_a_stored_zone_applies_to_a_file_without_one() -> None:
    """Naive times of a file without `timezone:` are read in the stored site's zone."""
    text = (
        "households:\n  - id: h1\n    address: a\n"
        "    isolation: {start: 2026-11-20T00:00, end: 2026-12-04T00:00}\n"
    )
    doc = read_site_yaml(text, "hh.yaml", timezone="Asia/Urumqi")
    isolation = doc.site.households[0].isolation
    assert isolation is not None and isolation.start.utcoffset() is not None
    assert isolation.start == datetime(2026, 11, 20, tzinfo=ZoneInfo("Asia/Urumqi"))


def test_load_site_file_dispatches_on_the_suffix(tmp_path: Path) -> None:
    """.yaml goes to the YAML reader, .csv to the register, anything else is refused."""
    (tmp_path / "site.yml").write_text(SPEC_EXAMPLE, encoding="utf-8")
    (tmp_path / "hh.csv").write_text(
        "户号,地址,人员编号,姓名\nh1,幸福小区,r1,张三\n", encoding="utf-8"
    )
    (tmp_path / "site.json").write_text("{}", encoding="utf-8")
    assert load_site_file(tmp_path / "site.yml").staff[0].role is Role.WATCHER
    assert load_site_file(tmp_path / "hh.csv").households[0].residents[0].name == "张三"
    with pytest.raises(SiteFileError, match=r"site\.json: expected a \.yaml"):
        load_site_file(tmp_path / "site.json")
    with pytest.raises(SiteFileError, match="cannot read"):
        load_site_file(tmp_path / "missing.yaml")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("abhsid:-[]{}, \n\"'&*!|>#0123456789")), max_size=80))
def test_garbled_text_is_refused_as_a_site_file_error_never_a_crash(text: str) -> None:
    """Whatever the bytes, the loader answers with a Site or a SiteFileError."""
    try:
        site = parse_site_yaml(text, "site.yaml")
    except SiteFileError as exc:
        errors = exc.errors
    else:
        assert isinstance(site, Site)
        return
    assert errors
    assert all(e.source == "site.yaml" for e in errors)


def test_models_given_the_same_fields_share_one_set_of_them_and_copies_do_not() -> None:
    """Equal sets of given field names are kept once; a model_copy gets its own."""
    a = Household.model_validate({"id": "h1", "address": "a", "officer": "p1"})
    b = Household.model_validate({"id": "h2", "address": "b", "officer": "p1"})
    c = Household.model_validate({"id": "h3", "address": "c"})
    assert a.model_fields_set is b.model_fields_set
    assert c.model_fields_set == {"id", "address"}
    changed = a.model_copy(update={"doctor": "d1"})
    assert changed.model_fields_set == {"id", "address", "officer", "doctor"}
    assert b.model_fields_set == {"id", "address", "officer"}
    assert a.model_dump(exclude_unset=True) == {"id": "h1", "address": "a", "officer": "p1"}
