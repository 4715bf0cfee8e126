"""Where the broker is: ``ISOGATE_MQTT_URL`` parsed, one URL or the nodes of a cluster."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the broker is, parsed from ``mqtt://user:pass@host:port`` or ``mqtts://``."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse a broker URL; raises ValueError on another scheme."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def broker_addresses(urls: str) -> list[BrokerAddress]:
    """The brokers of ``ISOGATE_MQTT_URL``: one URL, or several separated by commas (the nodes
    of a clustered broker, tried in turn); raises ValueError on a bad one or a mix of TLS and
    plain URLs (the session sets TLS up once)."""
    found = [BrokerAddress.parse(u.strip()) for u in urls.split(",") if u.strip()]
    if not found:
        raise ValueError("no broker URL")
    if len({a.tls for a in found}) > 1:
        raise ValueError("broker URLs mix mqtts:// and mqtt://: use one kind for every node")
    return found
