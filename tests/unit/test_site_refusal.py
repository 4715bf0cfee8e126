"""One refusal lists every error of a site file or register: structural and cross-reference."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.site import SiteFileError, read_site_yaml
from gateway.site.stored import load_file, stored_site
from gateway.store import Store

AT = datetime(2026, 11, 23, tzinfo=UTC)

# One mistake of each kind, and two that only follow from another and must not be reported.
SITE_WITH_ONE_OF_EACH = """\
staff:
  - {id: w1, name: 李伟, role: watcher}
  - {id: p1, name: 赵致远, role: officer}
  - {id: p2, name: 钱警官, role: police}
shifts:
  - {watcher: w1, daily: "00:00-08:00", households: [h1, h9]}
  - {watcher: w1, daily: "08:00-16:00", households: [h3]}
households:
  - id: h1
    address: 幸福小区3栋2单元501
    officer: nobody
    devices:
      - {id: door-h1, kind: door, protocol: zigbee2mqtt, address: front_door}
  - id: h2
    address: 幸福小区3栋2单元502
    officer: p2
    devices:
      - {id: door-h2, kind: door, protocol: zigbee2mqtt, address: front_door}
      - {id: cam-h2, kind: window, protocol: mqtt}
  - id: h3
    officer: p1
"""
# Line by line: 4 role "police" (structural: p2 fails, so h2's officer p2 is not reported again);
# 6 shift names h9 (cross-reference); 7 shift names h3, which failed (not reported again);
# 11 officer nobody (cross-reference); 18 duplicate address (cross-reference); 19 kind window
# (structural); 20 household h3 without an address (structural).
EXPECTED_YAML = {
    (4, "staff[2].role"),
    (6, "shifts[0].households[1]"),
    (11, "households[0].officer"),
    (18, "households[1].devices[0].address"),
    (19, "households[1].devices[1].kind"),
    (20, "households[2].address"),
}

STAFF_ONLY = """\
staff:
  - {id: p1, name: 赵致远, role: officer}
  - {id: d1, name: 王医生, role: doctor}
"""
# Row 2: an officer not in staff (cross-reference). Row 3: a resident id the models refuse
# (structural). Row 4: the same RFLink contact as row 2, in other case (cross-reference).
REGISTER_WITH_ONE_OF_EACH = (
    "户号,地址,人员编号,姓名,包保民警,门磁协议,门磁地址\n"
    "h1,a,r1,张三,nobody,rflink,EV1527:0a1b2c\n"
    "h2,b,r 2,李四,p1,,\n"
    "h3,c,r3,王五,p1,rflink,ev1527:0A1B2C\n"
)
EXPECTED_REGISTER = {(2, "包保民警"), (3, "人员编号"), (4, "门磁地址")}


async def _refusal(tmp_path: Path, name: str, text: str) -> list[tuple[int | None, str]]:
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}") as store:
        staff = tmp_path / "staff.yaml"
        staff.write_text(STAFF_ONLY, encoding="utf-8")
        first = await load_file(store, staff, AT)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SiteFileError) as caught:
            await load_file(store, path, AT)
        assert (await stored_site(store))[0] == first  # nothing of the refused file is stored
    return [(e.line, e.path) for e in caught.value.errors]


async def test_load_lists_structural_and_cross_reference_errors_together(tmp_path: Path) -> None:
    """`isogate load`: the refusal names each error on its line, none twice, none that follows."""
    found = await _refusal(tmp_path, "site.yaml", SITE_WITH_ONE_OF_EACH)
    assert set(found) == EXPECTED_YAML
    assert len(found) == len(EXPECTED_YAML)


async def test_import_lists_structural_and_cross_reference_errors_together(
    tmp_path: Path,
) -> None:
    """`isogate import`: the refusal names each error's row and column."""
    found = await _refusal(tmp_path, "hh.csv", REGISTER_WITH_ONE_OF_EACH)
    assert set(found) == EXPECTED_REGISTER
    assert len(found) == len(EXPECTED_REGISTER)


def test_a_partial_document_keeps_the_valid_entities_and_their_lines() -> None:
    """Read partially, the file keeps h1 and the valid part of h2, and knows what failed."""
    doc = read_site_yaml(SITE_WITH_ONE_OF_EACH, "site.yaml", partial=True)
    assert [h.id for h in doc.site.households] == ["h1", "h2"]
    assert [d.id for d in doc.site.households[1].devices] == ["door-h2"]
    assert {("staff", "p2"), ("household", "h3")} <= doc.failed
    assert {(e.line, e.path) for e in doc.errors} == {
        (4, "staff[2].role"),
        (19, "households[1].devices[1].kind"),
        (20, "households[2].address"),
    }


def test_read_without_partial_still_refuses_the_file_at_once() -> None:
    """The plain reader keeps its contract: any structural error raises."""
    with pytest.raises(SiteFileError, match=r"households\[2\]\.address"):
        read_site_yaml(SITE_WITH_ONE_OF_EACH, "site.yaml")


# The first household fails; the second's cross-reference error must still point at its own line.
SITE_FIRST_HOUSEHOLD_FAILS = """\
households:
  - {id: h1, officer: p1}
  - {id: h2, address: 幸福小区3栋2单元502, officer: nobody}
"""


async def test_errors_after_a_failed_entity_keep_their_own_lines(tmp_path: Path) -> None:
    """h1 is taken out of the partial site, yet h2's error is placed on h2's line, as h2."""
    found = await _refusal(tmp_path, "site.yaml", SITE_FIRST_HOUSEHOLD_FAILS)
    assert set(found) == {(2, "households[0].address"), (3, "households[1].officer")}
