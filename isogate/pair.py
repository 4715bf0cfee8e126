"""Two gateways, one active (``ISOGATE_HA``): stand by, take the lease, run, stop when lost.

The standby serves only ``/healthz`` (503, ``role: standby``) and ``/metrics`` on the gateway's
HTTP port, and polls the lease. Once it takes the lease it builds the gateway exactly as a
normal start does — state rebuilt from the database, then the MQTT session with the shared
client id — beside the task that renews the lease. A lost lease ends both, and
:func:`run_paired` raises :class:`LeaseLostError`; ``isogate run`` then exits with
``EXIT_LEASE_LOST`` for the service manager to start it again, as a standby. A clean stop
releases the lease so the standby takes over within half a renewal.

Why exit rather than go back to standby in the same process: a gateway that lost its lease holds
state the database may no longer agree with (rules staged for a commit that was refused, paho's
queue, half-done deliveries); a fresh process rebuilds it from the database by the one path every
start takes, and a restart counted by the service manager is what an operator sees and alerts on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

from api.standby import create_standby_app
from gateway.cluster.lease import Lease, LeaseLostError
from gateway.notify.delivery import Send
from isogate.http import QuietServer, serve
from isogate.settings import Settings

Active = Callable[[Lease], Coroutine[Any, Any, None]]


async def run_paired(settings: Settings, active: Active) -> None:
    """Stand by until the lease is ours, then run ``active(lease)`` while renewing it.

    Raises:
        LeaseLostError: the lease was lost (the gateway has been stopped).
    """
    timings = settings.lease_timings()
    async with Lease.open(settings.db_url, settings.client_id, timings) as lease:
        await _stand_by(settings, lease)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(lease.hold(), name="gateway.lease")
                tg.create_task(active(lease), name="gateway.active")
        except* LeaseLostError as group:
            raise group.exceptions[0] from None


async def _stand_by(settings: Settings, lease: Lease) -> None:
    config = uvicorn.Config(
        create_standby_app(lease.view),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="off",
    )
    server = asyncio.create_task(serve(QuietServer(config)), name="gateway.standby.http")
    try:
        await lease.acquire()
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


def guarded(lease: Lease, channels: Callable[[str], Send | None]) -> Callable[[str], Send | None]:
    """The outbox's senders, each refusing to deliver unless the lease is held at that moment.

    A gateway resumed after a freeze must not deliver what it had in hand: the other gateway
    delivers it from the outbox table.
    """

    def pick(channel_id: str) -> Send | None:
        send = channels(channel_id)
        if send is None:
            return None

        async def deliver(item: Any) -> None:
            lease.check(f"delivery on {channel_id}")
            await send(item)

        return deliver

    return pick
