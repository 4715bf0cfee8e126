"""The register's columns (English and Chinese headers) and how its cells are read."""

from __future__ import annotations

import re
from datetime import datetime

COLUMNS: dict[str, tuple[str, ...]] = {
    "household_id": ("household_id", "户号"),
    "address": ("address", "地址"),
    "resident_id": ("resident_id", "人员编号"),
    "name": ("name", "姓名"),
    "flags": ("flags", "标记"),
    "phone": ("phone", "电话"),
    "officer": ("officer", "包保民警"),
    "doctor": ("doctor", "随访医生"),
    "technician": ("technician", "安装人员"),
    "supervisor": ("supervisor", "包保干部"),
    "isolation_start": ("isolation_start", "隔离开始"),
    "isolation_end": ("isolation_end", "隔离结束"),
    "door_protocol": ("door_protocol", "门磁协议"),
    "door_address": ("door_address", "门磁地址"),
    "thermometer_address": ("thermometer_address", "体温计地址"),
    "camera": ("camera", "摄像头"),
}
IGNORED = ("no", "remark", "序号", "备注")
REQUIRED = ("household_id", "address", "resident_id", "name")
HOUSEHOLD = (
    "address",
    "officer",
    "doctor",
    "technician",
    "supervisor",
    "isolation_start",
    "isolation_end",
    "door_protocol",
    "door_address",
    "camera",
)
HEADERS = {name.casefold(): key for key, names in COLUMNS.items() for name in names}
DOOR_PROTOCOLS = ("zigbee2mqtt", "rflink", "native")
FLAG_SEP = re.compile(r"[;；、,，]")
PHONE = re.compile(r"^\+?[0-9]{5,15}$")
CN_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
VIDEO = re.compile(r"^(rtsps?|https?|file)://|^/|\.(mp4|mkv|avi|mov)$", re.IGNORECASE)


def parse_time(text: str) -> datetime | None:
    """``2026-11-20 00:00``, ``2026/11/20 0:00``, ``2026-11-20T00:00``, ``2026年11月20日`` → naive.

    Returns None when the text is none of these forms.
    """
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    m = CN_DATE.match(text)
    if not m:
        return None
    try:
        year, month, day, hour, minute, second = (int(g or 0) for g in m.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:  # 2026-02-30
        return None
