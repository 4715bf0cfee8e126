"""Gateway settings: ``ISOGATE_*`` environment variables, or the same keys in a TOML file.

The environment wins over the file (SPEC §5). Keys in the file are the variable names without
the prefix, in lower case: ``mqtt_url = "mqtt://127.0.0.1:1883"``. ``mqtt_url`` may list several
brokers separated by commas (``mqtt://n1:1883,mqtt://n2:1883,mqtt://n3:1883``): the nodes of one
clustered broker, tried in turn.

A mistake (an unknown key, bad TOML, a value out of bounds, a missing file) is a
:class:`ConfigError` naming where it is and what is wrong, in one line. An ``ISOGATE_*``
variable that is not a setting is refused only when it is close to one (a typo such as
``ISOGATE_MQTT_UR``): the site file may name secrets such as ``ISOGATE_DINGTALK_SECRET``.
"""

from __future__ import annotations

import difflib
import os
import socket
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.cluster.lease import LeaseTimings
from gateway.ingest.broker_url import BrokerAddress, broker_addresses

ENV_PREFIX = "ISOGATE_"


class ConfigError(Exception):
    """The configuration is wrong: ``where`` (a file, the environment) and ``problem``."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class Settings(BaseSettings):
    """Everything the gateway process is configured with."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883",
        description=(
            "Broker; mqtts:// and user:pw@. Several URLs separated by commas are the nodes of a "
            "clustered broker (NATS): on a lost connection the session moves to the next one "
            "with the same client id and persistent session"
        ),
    )
    data_dir: Path = Field(Path("./data"), description="SQLite database, snapshots, logs")
    database_url: str | None = Field(None, description="Another database; default SQLite file")
    http_host: str = Field("127.0.0.1", description="API and console bind address")
    http_port: int = Field(8000, ge=0, le=65535, description="0 picks a free port")
    base_topic: str = Field("isogate", min_length=1, description="Native and alert topics")
    client_id: str = Field("isogate-gateway", min_length=1, max_length=64)
    z2m_base_topic: str = Field("zigbee2mqtt", min_length=1)
    omg_base_topic: str = Field("home", min_length=1, description="OpenMQTTGateway/Theengs base")
    frigate_base_topic: str = Field("frigate", min_length=1, description="Frigate's MQTT base")
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
    session_hours: float = Field(
        12.0, gt=0, le=168, description="How long a console login lasts before it must be renewed"
    )
    link_hours: float = Field(
        24.0, gt=0, le=720, description="How long a signed link in an SMS or bot message works"
    )
    pdf_font: Path | None = Field(
        None, description="A CJK font (.ttf, .otf, .ttc) for the PDFs; default: one installed"
    )
    log_level: str = Field("INFO")
    ha: bool = Field(
        False,
        description=(
            "Two gateways, one active (PostgreSQL only): hold a lease in the database before "
            "ingest; stand by while the other gateway of the pair holds it"
        ),
    )
    lease_renew_s: float = Field(1.0, gt=0, le=60, description="How often the active renews")
    lease_hold_s: float = Field(
        3.0, gt=0, le=600, description="The active stops this long after its last renewal"
    )
    lease_ttl_s: float = Field(
        5.0, gt=0, le=600, description="A standby takes a lease not renewed for this long"
    )

    @field_validator("mqtt_url")
    @classmethod
    def _broker_url(cls, url: str) -> str:
        broker_addresses(url)  # raises ValueError on another scheme, a bad port, a TLS mix
        return url

    @model_validator(mode="after")
    def _pair(self) -> Settings:
        if not self.ha:
            return self
        if not (self.database_url or "").startswith("postgresql"):
            raise ValueError("ha needs a PostgreSQL database_url (SQLite is one box)")
        self.lease_timings()  # raises ValueError unless renew < hold < ttl
        return self

    def lease_timings(self) -> LeaseTimings:
        """The lease timings of a pair of gateways (``ha``)."""
        return LeaseTimings(self.lease_renew_s, self.lease_hold_s, self.lease_ttl_s)

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
        """Settings from a TOML file (optional), then the environment.

        Raises:
            ConfigError: the file is missing or not TOML, a key or variable is unknown, or a
                value is refused; the first such mistake, in one line.
        """
        where = f"config {config}" if config is not None else "settings"
        values: dict[str, Any] = {}
        if config is not None:
            try:
                with config.open("rb") as f:
                    values = tomllib.load(f)
            except OSError as exc:
                raise ConfigError(where, f"cannot read it: {exc.strerror or exc}") from None
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(where, f"not valid TOML: {exc}") from None
        for key in values:
            if key not in cls.model_fields:
                raise ConfigError(where, f"unknown key {key!r}{_did_you_mean(key, repr)}")
        _check_environment(os.environ)
        values.update(overrides)
        try:
            return cls(**values)
        except ValidationError as exc:
            raise _first_problem(exc, where, values) from None

    @property
    def db_url(self) -> str:
        """The database URL in effect."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'isogate.db'}"

    def device_broker(self) -> BrokerAddress:
        """The broker for a one-shot client (the CLI's simulators, the demo's devices): the
        first of ``mqtt_url`` that accepts a connection, else the first."""
        addresses = broker_addresses(self.mqtt_url)
        for a in addresses if len(addresses) > 1 else ():
            try:
                socket.create_connection((a.host, a.port), timeout=1).close()
            except OSError:
                continue
            return a
        return addresses[0]

    def link(self, path: str) -> str:
        """An absolute link to an API path, for messages."""
        base = self.public_url or f"http://{self.http_host}:{self.http_port}"
        return base.rstrip("/") + path


def _did_you_mean(name: str, show: Any) -> str:
    close = difflib.get_close_matches(name, list(Settings.model_fields), n=1, cutoff=0.75)
    return f" (did you mean {show(close[0])}?)" if close else ""


def _check_environment(env: os._Environ[str] | dict[str, str]) -> None:
    """Refuse an ``ISOGATE_*`` variable that is a near miss of a setting's name."""
    for var in env:
        if not var.startswith(ENV_PREFIX):
            continue
        key = var[len(ENV_PREFIX) :].lower()
        if key in Settings.model_fields:
            continue
        hint = _did_you_mean(key, lambda k: ENV_PREFIX + k.upper())
        if hint:
            raise ConfigError("environment", f"unknown variable {var}{hint}")


def _first_problem(exc: ValidationError, where: str, from_file: dict[str, Any]) -> ConfigError:
    """One line for a refused value, naming the variable or the file it came from."""
    err = exc.errors()[0]
    if not err["loc"]:  # a rule across settings (``ha`` and the database)
        return ConfigError(where, str(err["msg"]).removeprefix("Value error, "))
    key = str(err["loc"][0])
    source = where
    if ENV_PREFIX + key.upper() in os.environ:
        source = f"environment {ENV_PREFIX}{key.upper()}"
    elif key not in from_file and err["type"] != "extra_forbidden":
        source = "settings"
    if err["type"] == "extra_forbidden":
        return ConfigError(source, f"unknown key {key!r}{_did_you_mean(key, repr)}")
    message = str(err["msg"]).removeprefix("Value error, ")
    return ConfigError(source, f"{key} = {err.get('input')!r}: {message}")
