"""The household register (登记册) as a CSV file: ``isogate import households.csv``.

The register is the spreadsheet a community already keeps, saved as CSV: one row per resident.
The file may be UTF-8 (with or without the BOM a spreadsheet writes) or GB18030 (what a Chinese
Excel writes by default); UTF-8 is tried first, strictly, then GB18030. The separator is a comma,
or a tab when the header row has tabs and no comma. Headers may be English or Chinese:

| column | 中文表头 | required | holds |
|---|---|---|---|
| `household_id` | 户号 | yes ¹ | household id: letters, digits, `_ . : -` |
| `address` | 地址 | yes ² | the household's address |
| `resident_id` | 人员编号 | yes | resident id, unique in the site |
| `name` | 姓名 | yes | the resident's name |
| `flags` | 标记 | no | e.g. `elderly_alone`; several split by `;` `；` `、` `,` `，` |
| `phone` | 电话 | no | the resident's phone: `+` and 5–15 digits ³ |
| `officer` | 包保民警 | no ² | staff id of the officer |
| `doctor` | 随访医生 | no ² | staff id of the doctor |
| `technician` | 安装人员 | no ² | staff id of the technician |
| `supervisor` | 包保干部 | no ² | staff id of the supervisor |
| `isolation_start` | 隔离开始 | with the end ² | time ⁴ |
| `isolation_end` | 隔离结束 | with the start ² | time ⁴ |
| `door_protocol` | 门磁协议 | with an address ² | `zigbee2mqtt`, `rflink` or `native` ⁵ |
| `door_address` | 门磁地址 | for zigbee2mqtt, rflink ² | friendly name, or RFLink `EV1527:0a1b2c` |
| `thermometer_address` | 体温计地址 | no | BLE MAC of the resident's thermometer ⁵ |
| `camera` | 摄像头 | no ² | `mqtt`, `frigate:<name>`, an `rtsp://`/`http://` URL or a file ⁵ |
| `no`, `remark` | 序号, 备注 | no | ignored |

¹ Blank: the household of the row above (what merged cells export as).
² A household column: it may be filled on one row of the household only; where several rows
fill it, they must agree.
³ Checked, and kept on the resident.
⁴ ``2026-11-20 00:00``, ``2026/11/20 0:00``, ``2026-11-20T00:00`` or ``2026年11月20日`` (00:00),
in the site's time zone.
⁵ The devices are ``door-<户号>``, ``therm-<人员编号>`` and ``cam-<户号>``; the camera watches the
whole frame (a door region needs the YAML site file).

Any other header is an error, so a mistyped header cannot drop a column silently. Staff are not
created here: the ids must already be in the stored site (checked on the merged site). A
household imported here replaces the stored one whole, as a site file does, visits included.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from devices.events import is_mac, normalize_mac
from gateway.site.check import SiteDocument
from gateway.site.columns import (
    COLUMNS,
    DOOR_PROTOCOLS,
    FLAG_SEP,
    HEADERS,
    HOUSEHOLD,
    IGNORED,
    PHONE,
    REQUIRED,
    VIDEO,
    parse_time,
)
from gateway.site.errors import Loc, Locator, SiteError, SiteFileError, render
from gateway.site.partial import validate_partial
from rules.site import Site


@dataclass
class _Household:
    """The rows of one household as they are read."""

    id: str
    row: int
    values: dict[str, tuple[object, int]] = field(default_factory=dict)  # key → (value, row)
    residents: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)  # columns already reported as bad


class _Reader:
    """Collects rows into households, and every error on the way."""

    def __init__(self, source: str, titles: dict[str, str]) -> None:
        self.source = source
        self.titles = titles  # key → the header as written in the file
        self.errors: list[SiteError] = []
        self.households: dict[str, _Household] = {}
        self.resident_rows: dict[str, int] = {}

    def title(self, key: str) -> str:
        """The column's header as written, or in the file's language when it has none."""
        if key in self.titles or key not in COLUMNS:
            return self.titles.get(key, key)
        chinese = any(not t.isascii() for t in self.titles.values())
        return COLUMNS[key][1 if chinese else 0]

    def error(self, row: int, key: str, reason: str) -> None:
        self.errors.append(SiteError(self.source, row, self.title(key), reason))

    def add_row(self, row: int, cells: dict[str, str], previous: _Household | None) -> _Household:
        hid = cells.get("household_id", "")
        if hid or previous is None:
            if not hid:
                self.error(row, "household_id", "required on the first row")
                hid = f"row{row}"  # a stand-in, so that the rest of the row is still checked
            hh = self.households.setdefault(hid, _Household(hid, row))
        else:
            hh = previous
        for key in HOUSEHOLD:
            text = cells.get(key, "")
            if not text:
                continue
            value: object = text
            if key.startswith("isolation_"):
                value = parse_time(text)
                if value is None:
                    self.error(row, key, f"{text!r} is not a time like 2026-11-20 00:00")
                    hh.unreadable.add(key)
                    continue
            if key not in hh.values:
                hh.values[key] = (value, row)
            elif hh.values[key][0] != value:
                first, first_row = hh.values[key]
                self.error(
                    row,
                    key,
                    f"household {hh.id} has {first!s} on row {first_row}, this row says {value!s}",
                )
        rid = cells.get("resident_id", "")
        for key in ("resident_id", "name"):
            if not cells.get(key):
                self.error(row, key, "required")
        if rid in self.resident_rows:
            self.error(
                row, "resident_id", f"resident {rid} is already on row {self.resident_rows[rid]}"
            )
        elif rid:
            self.resident_rows[rid] = row
            hh.residents.append((row, cells))
        return hh


def read_register(
    data: bytes, source: str, *, timezone: str | None = None, partial: bool = False
) -> SiteDocument:
    """Parse a register and remember the row and column of every path.

    Args:
        data: The file's bytes (UTF-8, UTF-8 with BOM, or GB18030).
        source: The file name, used in error messages.
        timezone: The zone of the register's times (pass the stored site's); the default zone
            of a site otherwise.
        partial: Return the households that are valid, with the errors of the others in
            ``errors``, instead of raising (so that the caller can cross-check them).

    Raises:
        SiteFileError: With every error, each naming its row (header = row 1) and column (with
            ``partial``, only when the file has no usable header).
    """
    text = _decode(data, source)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows or not any(c.strip() for c in rows[0]):
        raise SiteFileError([SiteError(source, 1, "", "no header row")])
    columns, titles, errors = _header(rows[0], source)
    reader = _Reader(source, titles)
    reader.errors += errors
    if any(key not in columns for key in REQUIRED):
        raise SiteFileError(reader.errors)  # every row would repeat it
    hh: _Household | None = None
    for row, raw in enumerate(rows[1:], start=2):
        cells = [c.strip().strip("\u3000") for c in raw]
        if not any(cells):
            continue  # spreadsheets keep blank rows; they still count as rows
        if any(cells[len(rows[0]) :]):
            reader.error(row, "", "more cells than the header has columns")
        hh = reader.add_row(
            row, {key: cells[i] for key, i in columns.items() if i < len(cells)}, hh
        )
    if not reader.households:
        reader.error(1, "", "the register has no rows")
    doc = _build(reader, timezone)
    if doc.errors and not partial:
        raise SiteFileError(doc.errors)
    return doc


def parse_register(data: bytes, source: str, *, timezone: str | None = None) -> Site:
    """Parse a register into a Site of households (no staff, shifts or policy).

    Raises:
        SiteFileError: With every error, each naming its row (header = row 1) and column.
    """
    return read_register(data, source, timezone=timezone).site


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise SiteFileError(
            [SiteError(source, row, "", "neither UTF-8 nor GB18030 text")]
        ) from None


def _header(
    header: list[str], source: str
) -> tuple[dict[str, int], dict[str, str], list[SiteError]]:
    columns: dict[str, int] = {}
    titles: dict[str, str] = {}
    errors: list[SiteError] = []
    for i, raw in enumerate(header):
        title = raw.strip().strip("\u3000")
        key = HEADERS.get(title.casefold())
        if key is None:
            if title and title.casefold() not in IGNORED:
                known = ", ".join(n for names in COLUMNS.values() for n in names)
                errors.append(SiteError(source, 1, title, f"unknown column; known: {known}"))
        elif key in columns:
            errors.append(SiteError(source, 1, title, f"a second {titles[key]} column"))
        else:
            columns[key], titles[key] = i, title
    for key in REQUIRED:
        if key not in columns:
            names = " / ".join(COLUMNS[key])
            errors.append(SiteError(source, 1, names, "required column is missing"))
    return columns, titles, errors


class _Builder:
    """Turns the households read into site data, mapping each path to its row and column."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.lines: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.bad: list[Loc] = []  # paths already reported; the model would only repeat them

    def put(self, loc: Loc, row: int, key: str) -> None:
        self.lines[render(loc)] = row
        self.labels[render(loc)] = self.reader.title(key)

    def household(self, i: int, hh: _Household) -> dict[str, object]:
        base: Loc = ("households", i)
        doc: dict[str, object] = {"id": hh.id}
        self.put(base, hh.row, "household_id")
        for key in ("address", "officer", "doctor", "technician", "supervisor"):
            if key in hh.values:
                doc[key] = hh.values[key][0]
                self.put((*base, key), hh.values[key][1], key)
        if "address" not in hh.values:
            # Said here in the register's words; the model would only say "field required".
            self.reader.error(hh.row, "address", f"household {hh.id} has no address")
            self.bad.append((*base, "address"))
        doc["isolation"] = self.isolation(hh, (*base, "isolation"))
        devices: list[dict[str, object]] = []
        for make in (self.door, self.camera):
            device = make(hh, (*base, "devices", len(devices)))
            if device:
                devices.append(device)
        residents: list[dict[str, object]] = []
        for row, cells in hh.residents:
            residents.append(self.resident((*base, "residents", len(residents)), row, cells))
            device = self.thermometer((*base, "devices", len(devices)), row, cells)
            if device:
                devices.append(device)
        doc["residents"], doc["devices"] = residents, devices
        return {k: v for k, v in doc.items() if v is not None}

    def isolation(self, hh: _Household, loc: Loc) -> dict[str, object] | None:
        start, end = hh.values.get("isolation_start"), hh.values.get("isolation_end")
        if (start is None and end is None) or {"isolation_start", "isolation_end"} & hh.unreadable:
            return None
        if start is None or end is None:
            given, missing = ("isolation_start", "isolation_end")
            if start is None:
                given, missing = missing, given
            row = (start or end or (None, hh.row))[1]
            self.reader.error(row, missing, f"needed with {self.reader.title(given)}")
            return None
        self.put(loc, start[1], "isolation_start")
        self.put((*loc, "start"), start[1], "isolation_start")
        self.put((*loc, "end"), end[1], "isolation_end")
        return {"start": start[0], "end": end[0]}

    def door(self, hh: _Household, loc: Loc) -> dict[str, object] | None:
        protocol, address = hh.values.get("door_protocol"), hh.values.get("door_address")
        if protocol is None:
            if address is not None:
                self.reader.error(address[1], "door_protocol", f"needed with {address[0]}")
            return None
        name = str(protocol[0]).lower()
        if name not in DOOR_PROTOCOLS:
            reason = f"{protocol[0]!r} is not one of {', '.join(DOOR_PROTOCOLS)}"
            self.reader.error(protocol[1], "door_protocol", reason)
            return None
        self.put(loc, protocol[1], "door_protocol")
        self.put((*loc, "id"), hh.row, "household_id")
        door: dict[str, object] = {"id": f"door-{hh.id}", "kind": "door", "protocol": name}
        if address is not None:
            door["address"] = address[0]
            self.put((*loc, "address"), address[1], "door_address")
        return door

    def camera(self, hh: _Household, loc: Loc) -> dict[str, object] | None:
        if "camera" not in hh.values:
            return None
        text, row = str(hh.values["camera"][0]), hh.values["camera"][1]
        cam: dict[str, object] = {"id": f"cam-{hh.id}", "kind": "camera"}
        if text.lower() == "mqtt":
            cam["protocol"] = "mqtt"
        elif text.lower().startswith("frigate:"):
            cam["protocol"], cam["address"] = "frigate", text.split(":", 1)[1].strip()
        elif VIDEO.search(text):
            cam["protocol"], cam["source"] = "url", text
        else:
            reason = f"{text!r}: expected mqtt, frigate:<name>, an rtsp:// or http:// URL or a file"
            self.reader.error(row, "camera", reason)
            return None
        self.put(loc, row, "camera")
        self.put((*loc, "id"), hh.row, "household_id")
        return cam

    def resident(self, loc: Loc, row: int, cells: dict[str, str]) -> dict[str, object]:
        self.put(loc, row, "resident_id")
        for key in ("id", "name", "flags"):
            self.put((*loc, key), row, "resident_id" if key == "id" else key)
        flags = [f.strip() for f in FLAG_SEP.split(cells.get("flags", ""))]
        resident: dict[str, object] = {
            "id": cells["resident_id"],
            "name": cells.get("name", ""),
            "flags": [f for f in flags if f],
        }
        if not resident["name"]:
            self.bad.append((*loc, "name"))  # reported as "required" while reading the row
        phone = re.sub(r"[\s-]", "", cells.get("phone", ""))
        if phone and not PHONE.match(phone):
            self.reader.error(row, "phone", f"{cells['phone']!r} is not a phone number")
        elif phone:
            resident["phone"] = phone
            self.put((*loc, "phone"), row, "phone")
        return resident

    def thermometer(self, loc: Loc, row: int, cells: dict[str, str]) -> dict[str, object] | None:
        text = cells.get("thermometer_address", "")
        if not text:
            return None
        if not is_mac(text):
            self.reader.error(row, "thermometer_address", f"{text!r} is not a Bluetooth MAC")
            return None
        mac = normalize_mac(text)
        self.put(loc, row, "thermometer_address")
        self.put((*loc, "address"), row, "thermometer_address")
        self.put((*loc, "id"), row, "resident_id")
        self.put((*loc, "resident"), row, "resident_id")
        rid = cells["resident_id"]
        return {
            "id": f"therm-{rid}",
            "kind": "thermometer",
            "protocol": "ble",
            "address": mac,
            "resident": rid,
        }


def _build(reader: _Reader, timezone: str | None) -> SiteDocument:
    """Validate the households read as a Site (keeping the valid ones); errors keep their place."""
    builder = _Builder(reader)
    households = [builder.household(i, hh) for i, hh in enumerate(reader.households.values())]
    locator = Locator(reader.source, builder.lines, builder.labels)
    data: dict[str, object] = {"households": households}
    if timezone is not None:
        data["timezone"] = timezone
    valid = validate_partial(data, locator, skip=builder.bad)
    return SiteDocument(
        valid.site or Site(),
        locator,
        errors=(*reader.errors, *valid.errors),
        failed=valid.failed,
        kept=valid.kept,
        checkable=valid.site is not None,
    )
