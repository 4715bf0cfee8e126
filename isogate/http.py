"""uvicorn inside the gateway's TaskGroup: the gateway, not uvicorn, owns the signals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to the gateway."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(server: QuietServer) -> None:
    """Serve until cancelled; cancellation shuts the server down and waits for it."""
    inner = asyncio.create_task(server.serve(), name="gateway.http.serve")
    try:
        await asyncio.shield(inner)
    except asyncio.CancelledError:
        server.should_exit = True
        await inner
        raise
