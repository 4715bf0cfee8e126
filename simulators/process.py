"""The real gateway as a separate process (``python -m isogate run``), for tests and benchmarks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from isogate.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def start_gateway(settings: Settings, log_level: str = "WARNING") -> subprocess.Popen[bytes]:
    """Start ``isogate run`` with these settings passed as ISOGATE_* variables."""
    env = {**os.environ, "ISOGATE_LOG_LEVEL": log_level}
    for key, value in settings.model_dump(exclude_none=True).items():
        env[f"ISOGATE_{key.upper()}"] = str(value)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = (settings.data_dir / "gateway.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "isogate", "run"], cwd=REPO, env=env, stdout=log, stderr=log
    )


async def wait_healthy(port: int, timeout: float = 30) -> None:
    """Wait until GET /healthz answers 200 (broker and database up)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"gateway on port {port} did not become healthy in {timeout}s")
