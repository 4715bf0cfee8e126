"""``isogate commission HOUSEHOLD``: a live checklist until every bound device has reported.

Works on the database alone, beside a running gateway: it reads what the gateway stores. A
device that publishes under a mistyped address shows up as heard-but-not-bound, which is how
a technician finds a typo in a binding within seconds.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from rich.console import Console
from rich.live import Live
from rich.table import Table

from gateway.clock import Clock
from gateway.commissioning import Check, checklist, tick_off
from gateway.site.stored import stored_site
from gateway.store import Store
from rules.site import Household


def _table(hh: Household, checks: list[Check], strangers: list[str]) -> Table:
    table = Table(title=f"commissioning {hh.id} {hh.address}")
    table.add_column("device")
    table.add_column("kind")
    table.add_column("address")
    table.add_column("still to see")
    for c in checks:
        left = [step for step, seen in c.needs.items() if seen is None]
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
    # the line a technician (or a script) waits for: what happens from now on is counted
    console.print(f"watching {hh.id} from {started:%H:%M:%S}: operate each device now")
    with Live(_table(hh, checks, strangers), console=console, refresh_per_second=4) as live:
        while (clock.now() - started).total_seconds() < timeout_s:
            tick_off(checks, await store.household_events(hh.id, limit=1000), started)
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
