"""Gateway settings: ``ISOGATE_*`` environment variables, or the same keys in a TOML file.

The environment wins over the file (SPEC §5). Keys in the file are the variable names without
the prefix, in lower case: ``mqtt_url = "mqtt://127.0.0.1:1883"``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the gateway process is configured with."""

    model_config = SettingsConfigDict(env_prefix="ISOGATE_", extra="forbid")

    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="Broker; mqtts:// and user:pw@")
    data_dir: Path = Field(Path("./data"), description="SQLite database, snapshots, logs")
    database_url: str | None = Field(None, description="Another database; default SQLite file")
    http_host: str = Field("127.0.0.1", description="API and console bind address")
    http_port: int = Field(8000, ge=0, le=65535, description="0 picks a free port")
    base_topic: str = Field("isogate", min_length=1, description="Native and alert topics")
    client_id: str = Field("isogate-gateway", min_length=1, max_length=64)
    z2m_base_topic: str = Field("zigbee2mqtt", min_length=1)
    omg_base_topic: str = Field("home", min_length=1, description="OpenMQTTGateway/Theengs base")
    rflink_port: str | None = Field(
        None, description="RFLink receiver: device path or pyserial URL"
    )
    rflink_baud: int = Field(57600, gt=0)
    modem_port: str | None = Field(None, description="GSM modem for SMS: path or pyserial URL")
    modem_baud: int = Field(115200, gt=0)
    public_url: str | None = Field(None, description="Base of links in messages (snapshots)")
    tick_s: float = Field(1.0, gt=0, le=60, description="How often time-driven rules run")
    site_poll_s: float = Field(1.0, gt=0, le=60, description="How often to look for a new site")
    retry_base_s: float = Field(2.0, gt=0, le=600, description="First retry of a failed delivery")
    retry_cap_s: float = Field(300.0, gt=0, le=86_400, description="Longest wait between retries")
    log_level: str = Field("INFO")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over values from the TOML file (passed as init values).
        return env_settings, init_settings

    @classmethod
    def load(cls, config: Path | None = None, **overrides: Any) -> Settings:
        """Settings from a TOML file (optional), then the environment."""
        values: dict[str, Any] = {}
        if config is not None:
            with config.open("rb") as f:
                values = tomllib.load(f)
        values.update(overrides)
        return cls(**values)

    @property
    def db_url(self) -> str:
        """The database URL in effect."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'isogate.db'}"

    def link(self, path: str) -> str:
        """An absolute link to an API path, for messages."""
        base = self.public_url or f"http://{self.http_host}:{self.http_port}"
        return base.rstrip("/") + path
