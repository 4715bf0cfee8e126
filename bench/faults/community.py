"""The community the fault suite loads, and the traffic it sends: pure, seeded, no I/O.

Households come in three kinds, so that every door opening has a known outcome under the rules
(``rules/door.py``):

- *isolated* (most): the isolation period spans the run and no visit is booked; an opening is a
  ``door_breach``. Each of them opens at most once in a run, so that every opening makes a new
  alert (one alert stays open per household, type and device: a second opening would only raise
  its count);
- *visited*: isolated, but a visit window spans the run: openings are authorized, no alert;
- *free*: the isolation ended long ago: openings are recorded, no alert.

The policy makes the outcome deterministic: no debounce (a bounce never delays or swallows an
opening), acknowledgements due only after an hour (nothing escalates during a run), a door left
open after ten minutes (a breach door closes within seconds, however late its events arrive).
Households have no residents, so no reading window raises ``missed_reading``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

HOUSEHOLD_KINDS = ("isolated", "visited", "free")


def household_id(i: int) -> str:
    """The id of household number ``i`` (1-based)."""
    return f"h{i:04d}"


def kind_of(i: int) -> str:
    """Which of the three kinds household ``i`` is: one in ten visited, one in ten free."""
    if i % 10 == 5:
        return "visited"
    if i % 10 == 0:
        return "free"
    return "isolated"


def native(i: int) -> bool:
    """Even households have a native door sensor, odd ones a zigbee2mqtt Aqara."""
    return i % 2 == 0


def officer_of(i: int, officers: int) -> str:
    """The officer (包保民警) of household ``i``."""
    return f"p{(i % officers) + 1:02d}"


def address(i: int) -> str:
    """Household ``i``'s address: unique, since an SMS is matched to its breach by it."""
    return f"幸福小区{i // 100 + 1}栋{i % 100:02d}号"


def officer_phone(person: str) -> str:
    """An officer's phone number, for the SMS channel."""
    return f"+86139000{int(person[1:]):05d}"


def site_doc(
    households: int, officers: int, now: datetime, channels: list[dict[str, Any]]
) -> dict[str, Any]:
    """The site file (SPEC §4) as a dict: staff, a full roster, the households, ``channels``."""
    local = now.astimezone()
    visit = {
        "start": (local - timedelta(hours=1)).isoformat(timespec="minutes"),
        "end": (local + timedelta(hours=12)).isoformat(timespec="minutes"),
        "reason": "delivery",
        "escort": "w1",
    }
    staff: list[dict[str, Any]] = [
        {"id": "w1", "name": "李伟", "role": "watcher"},
        {"id": "w2", "name": "刘芳", "role": "watcher"},
        {"id": "w3", "name": "周强", "role": "watcher"},
        {"id": "d1", "name": "王医生", "role": "doctor"},
        {"id": "t1", "name": "陈师傅", "role": "technician"},
        {"id": "s1", "name": "黄主任", "role": "supervisor"},
    ]
    for k in range(1, officers + 1):
        person = f"p{k:02d}"
        staff.append(
            {
                "id": person,
                "name": f"民警{k:02d}",
                "role": "officer",
                "phone": officer_phone(person),
            }
        )
    homes = []
    for i in range(1, households + 1):
        hid = household_id(i)
        door: dict[str, Any] = {"id": f"door-{hid}", "kind": "door"}
        door |= {"protocol": "native"} if native(i) else {"protocol": "zigbee2mqtt"}
        if not native(i):
            door["address"] = f"{hid}_door"
        kind = kind_of(i)
        isolation = (
            {"start": "2020-01-01T00:00", "end": "2020-01-15T00:00"}
            if kind == "free"
            else {"start": "2026-01-01T00:00", "end": "2099-12-31T00:00"}
        )
        homes.append(
            {
                "id": hid,
                "address": address(i),
                "officer": officer_of(i, officers),
                "doctor": "d1",
                "technician": "t1",
                "isolation": isolation,
                "devices": [door],
                "visits": [visit] if kind == "visited" else [],
            }
        )
    return {
        "timezone": "Asia/Shanghai",
        "policy": {
            "door_debounce_s": 0,
            "door_left_open_s": 600,
            "ack_timeout_s": 3600,
        },
        "staff": staff,
        "shifts": [
            {"watcher": "w1", "daily": "00:00-08:00", "households": "all"},
            {"watcher": "w2", "daily": "08:00-16:00", "households": "all"},
            {"watcher": "w3", "daily": "16:00-24:00", "households": "all"},
        ],
        "households": homes,
        "channels": channels,
    }


class Action(StrEnum):
    """What one step of the traffic does."""

    HEARTBEAT = "heartbeat"  # the door sensor repeats its state
    OPEN = "open"
    CLOSE = "close"
    GARBAGE = "garbage"  # a message the gateway must refuse (``index`` is its number)


@dataclass(frozen=True, slots=True)
class Step:
    """At ``at`` seconds into the run, ``action`` on household ``index`` (1-based)."""

    at: float
    action: Action
    index: int
    breach: bool = False  # an opening the rules must alert on


@dataclass(frozen=True, slots=True)
class Load:
    """How much traffic: the shape of a community's door sensors, compressed in time."""

    households: int = 1000
    officers: int = 10
    heartbeat_s: float = 5.0  # real sensors: about a minute; compressed for load
    breach_every_s: float = 0.5  # a breach (open, then close) in a new isolated household
    cycle_every_s: float = 0.25  # an opening in a visited or free household (no alert)
    close_after_s: float = 1.5
    garbage_share: float = 0.0  # of all messages
    seed: int = 12


def plan(load: Load, seconds: float) -> list[Step]:
    """The run's steps in time order: heartbeats, breaches, harmless openings, garbage."""
    rnd = random.Random(load.seed)
    steps: list[Step] = []
    for i in range(1, load.households + 1):
        t = rnd.uniform(0, load.heartbeat_s)
        while t < seconds:
            steps.append(Step(t, Action.HEARTBEAT, i))
            t += load.heartbeat_s
    isolated = [i for i in range(1, load.households + 1) if kind_of(i) == "isolated"]
    rnd.shuffle(isolated)
    harmless = [i for i in range(1, load.households + 1) if kind_of(i) != "isolated"]
    rnd.shuffle(harmless)
    last = seconds - load.close_after_s - 0.5
    t, n = 1.0, 0
    while t < last and n < len(isolated):
        steps.append(Step(t, Action.OPEN, isolated[n], breach=True))
        steps.append(Step(t + load.close_after_s, Action.CLOSE, isolated[n]))
        t, n = t + load.breach_every_s, n + 1
    # Harmless doors take turns, so that one never opens again before it closed.
    t, n = 0.7, 0
    while t < last and harmless:
        i = harmless[n % len(harmless)]
        steps.append(Step(t, Action.OPEN, i))
        steps.append(Step(t + load.close_after_s, Action.CLOSE, i))
        t, n = t + load.cycle_every_s, n + 1
    if load.garbage_share > 0:
        count = round(len(steps) * load.garbage_share / (1 - load.garbage_share))
        steps.extend(Step(rnd.uniform(0, seconds), Action.GARBAGE, g) for g in range(count))
    steps.sort(key=lambda s: s.at)
    return steps


def marker(k: int) -> str:
    """The mark garbage message ``k`` carries in its topic or payload, found again in the
    rejected list."""
    return f"GARBAGE-{k:06d}"


def garbage(k: int, base: str, z2m: str, households: int) -> tuple[str, bytes]:
    """Garbage message ``k``: one of eight kinds the gateway must keep as rejected (SPEC §2.6).

    Bound devices' topics carry most of them, so that a bad payload is seen next to good ones.
    """
    m = marker(k)
    pair = 2 * (k % max(1, households // 2))
    door = f"{base}/dev/door-{household_id(pair + 2)}/event"  # an even household: native
    aqara = f"{z2m}/{household_id(pair + 1)}_door"  # an odd one: zigbee2mqtt
    kinds: list[tuple[str, bytes]] = [
        (door, f'{{"type": "door", "open": tru {m}'.encode()),  # not JSON
        (f"{base}/dev/nobody-{m}/event", b'{"type": "door", "open": true}'),  # unbound device
        (f"{z2m}/ghost-{m}", b'{"contact": false}'),  # unbound zigbee2mqtt name
        (door, f'{{"type": "smoke", "mark": "{m}"}}'.encode()),  # unknown type
        (door, f'{{"type": "door", "open": false, "battery": 150, "mark": "{m}"}}'.encode()),
        (aqara, f'{{"contact": "yes", "mark": "{m}"}}'.encode()),  # wrong type
        (door, b"\xff\xfe\x00 " + m.encode()),  # not UTF-8
        (door, f'[1, 2, "{m}"]'.encode()),  # JSON, not an object
    ]
    return kinds[k % len(kinds)]
