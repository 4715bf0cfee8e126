"""The generated broker configuration (``isogate broker-config``) for a test's own mosquitto."""

from __future__ import annotations

import asyncio
from pathlib import Path

from isogate.broker_config import gateway_url, parse_credentials
from isogate.settings import Settings
from tests.conftest import isogate_cli


async def generated_config(
    settings: Settings, port: int, files: Path, *, stderr_has: str = ""
) -> tuple[Settings, dict[str, str]]:
    """Write the broker's files for ``settings`` into ``files`` (listener on ``port``).

    Returns:
        The settings with the gateway's own MQTT URL, and every user's password by name.
    """
    bases = {
        "ISOGATE_BASE_TOPIC": settings.base_topic,
        "ISOGATE_Z2M_BASE_TOPIC": settings.z2m_base_topic,
        "ISOGATE_OMG_BASE_TOPIC": settings.omg_base_topic,
        "ISOGATE_FRIGATE_BASE_TOPIC": settings.frigate_base_topic,
    }
    args = ("broker-config", str(files), "--port", str(port))
    out = await asyncio.to_thread(isogate_cli, *args, data=settings.data_dir, **bases)
    assert out.returncode == 0, out.stderr
    assert stderr_has in out.stderr
    creds = parse_credentials((files / "credentials.txt").read_text())
    url = gateway_url(port, creds["gateway"])
    return settings.model_copy(update={"mqtt_url": url}), creds
