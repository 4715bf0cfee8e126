"""``isogate commission HOUSEHOLD``: a live checklist until every bound device has reported.

Works on the database alone, beside a running gateway: it reads what the gateway stores. A
device that publishes under a mistyped address shows up as heard-but-not-bound, which is how
a technician finds a typo in a binding within seconds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from rich.console import Console
from rich.live import Live
from rich.table import Table

from devices.events import Protocol
from gateway.clock import Clock
from gateway.site.stored import stored_site
from gateway.store import Store
from gateway.store.event_data import DoorData, FrameData
from gateway.store.records import EventRecord
from rules.site import Device, DeviceKind, Household


@dataclass
class Check:
    """What one device still has to show."""

    device: Device
    needs: dict[str, bool] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Every step seen."""
        return all(self.needs.values())

    def see(self, e: EventRecord) -> None:
        """Tick off what an event shows."""
        if isinstance(e.data, DoorData):
            self.needs["door opened" if e.data.open else "door closed"] = True
        elif e.kind == "temperature":
            self.needs["a reading"] = True
        elif e.kind == "frame" and isinstance(e.data, FrameData) and e.data.frames != 0:
            self.needs["a frame"] = True  # a summary of bad frames only (frames 0) is not one
        if "Frigate heard" in self.needs:
            self.needs["Frigate heard"] = True


def checklist(household: Household) -> list[Check]:
    """The steps each bound device must show: a door opens and closes, a thermometer reads,
    a camera sends a frame."""
    steps = {
        DeviceKind.DOOR: ("door opened", "door closed"),
        DeviceKind.THERMOMETER: ("a reading",),
        DeviceKind.CAMERA: ("a frame",),
    }
    return [Check(d, dict.fromkeys(_steps(d, steps), False)) for d in household.devices]


def _steps(device: Device, steps: dict[DeviceKind, tuple[str, ...]]) -> tuple[str, ...]:
    """A Frigate camera sends no frames to the gateway: its events or stats show it works."""
    if device.kind is DeviceKind.CAMERA and device.protocol is Protocol.FRIGATE:
        return ("Frigate heard",)
    return steps[device.kind]


def _table(hh: Household, checks: list[Check], strangers: list[str]) -> Table:
    table = Table(title=f"commissioning {hh.id} {hh.address}")
    table.add_column("device")
    table.add_column("kind")
    table.add_column("address")
    table.add_column("still to see")
    for c in checks:
        left = [step for step, seen in c.needs.items() if not seen]
        table.add_row(
            ("✓ " if c.done else "… ") + c.device.id,
            c.device.kind.value,
            c.device.wire_address(),
            ", ".join(left) or "[green]all seen[/green]",
        )
    for key in strangers:
        table.add_row("? heard, not bound", "", key, "[yellow]check the binding's address[/yellow]")
    return table


async def commission(
    store: Store, household_id: str, clock: Clock, console: Console, timeout_s: float
) -> bool:
    """Watch until every device of the household has shown its steps; False on timeout."""
    _, site = await stored_site(store)
    hh = next((h for h in (site.households if site else []) if h.id == household_id), None)
    if hh is None:
        console.print(f"[red]no household {household_id!r} in the site[/red]")
        return False
    checks = checklist(hh)
    started: datetime = clock.now()
    strangers: list[str] = []
    with Live(_table(hh, checks, strangers), console=console, refresh_per_second=4) as live:
        while (clock.now() - started).total_seconds() < timeout_s:
            by_id = {c.device.id: c for c in checks}
            for e in await store.household_events(hh.id, limit=1000):
                if e.received_at >= started and e.device_id in by_id:
                    by_id[e.device_id].see(e)
            strangers = [
                u["device_key"]
                for u in await store.list_unknown(limit=50)
                if u["last_seen"] >= started
            ]
            live.update(_table(hh, checks, strangers))
            if all(c.done for c in checks):
                return True
            await asyncio.sleep(0.5)
    return False
