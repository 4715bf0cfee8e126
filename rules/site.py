"""The site: staff, watch shifts, households and their devices, and the policy (SPEC §4).

The same models parse the YAML site file and the CSV register, so every error carries its path.
Times without an offset are in the site's ``timezone``; after validation every datetime is aware.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from devices.events import Protocol
from devices.events import normalize_mac as normalize_mac  # the devices' one rule, re-exported
from rules.alerts import AlertType, Severity
from rules.intervals import Interval as Interval  # re-exported: Period and VisitWindow's base
from rules.intervals import localize, naive_lt
from rules.spans import DailySpan as DailySpan  # re-exported: site models use it throughout
from rules.spans import SpanField, span_of
from rules.strict import Strict as Strict  # re-exported: the base of every site model

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
Id = Annotated[str, Field(pattern=_ID, description="Stable identifier, unique in its kind")]


class Role(StrEnum):
    """What a staff member does; also a step of the escalation ladder."""

    WATCHER = "watcher"
    OFFICER = "officer"
    DOCTOR = "doctor"
    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"


class DeviceKind(StrEnum):
    """What a bound device watches."""

    DOOR = "door"
    THERMOMETER = "thermometer"
    CAMERA = "camera"


class DoorSignal(StrEnum):
    """What one radio code of a cheap 433 MHz contact means."""

    OPEN = "open"
    CLOSED = "closed"
    TAMPER = "tamper"
    BATTERY_LOW = "battery_low"


class Policy(Strict):
    """Thresholds and timings every rule reads."""

    fever_celsius: float = Field(37.3, ge=36.0, le=42.0, description="Fever at or above this")
    high_fever_celsius: float = Field(38.5, ge=36.0, le=43.0, description="Said in the message")
    reading_windows: list[SpanField] = Field(
        default_factory=lambda: [DailySpan.parse("06:00-10:00"), DailySpan.parse("17:00-21:00")],
        description="Daily windows in which each resident takes a reading",
    )
    door_left_open_s: int = Field(120, ge=5, le=86_400)
    door_debounce_s: float = Field(
        1.0, ge=0, le=30, description="Contact changes closer than this are one door event"
    )
    device_offline_s: int = Field(600, ge=30, le=7 * 86_400, description="Default silence allowed")
    offline_s_by_kind: dict[DeviceKind, int] = Field(
        # A battery contact sensor reports about hourly when nothing happens (Aqara: ~50 min); a
        # clinical thermometer speaks only when used, twice a day. Mains devices: the default.
        # A camera sends frames all the time, or at least a periodic frame each minute.
        default_factory=lambda: {
            DeviceKind.DOOR: 4200,
            DeviceKind.THERMOMETER: 14 * 3600,
            DeviceKind.CAMERA: 180,
        },
        description="Silence allowed per device kind, overrides device_offline_s",
    )
    offline_grace_s: int = Field(
        300, ge=0, le=86_400, description="An 'offline' status must last this long to alert"
    )
    low_battery_pct: int = Field(15, ge=0, le=100)
    ack_timeout_s: int = Field(120, ge=10, le=86_400)
    escalation: list[Role] = Field(
        default_factory=lambda: [Role.WATCHER, Role.OFFICER, Role.SUPERVISOR], min_length=1
    )
    camera_window_s: float = Field(
        20, ge=1, le=300, description="Motion this close to a door opening is the same visit"
    )
    evidence_before_s: float = Field(5, ge=0, le=60, description="Evidence kept before an alert")
    evidence_after_s: float = Field(10, ge=0, le=120, description="Evidence kept after it")
    evidence_days: int = Field(30, ge=1, le=3650, description="Evidence files kept this long")
    escalate_severities: list[Severity] = Field(
        default_factory=lambda: [Severity.CRITICAL, Severity.HIGH],
        description="Severities that escalate when not acknowledged; a dead battery does not "
        "go to the police",
    )
    handover_accept_s: int = Field(
        600,
        ge=60,
        le=86_400,
        description="A handover nobody accepts this long: its open alerts escalate one step",
    )
    prereport_minutes: int = Field(
        10, ge=1, le=120, description="A resident's announced opening lasts this long"
    )
    prereports_per_day: int = Field(6, ge=0, le=48, description="Announced openings a day")
    checkin_visit_days: int = Field(3, ge=1, le=30, description="每N天上门核实")
    daily_report_at: str = Field(
        "20:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="Local time, HH:MM"
    )
    retention_days: int = Field(30, ge=1, le=3650, description="Personal data kept after release")

    _split_windows = field_validator("reading_windows", mode="before")(
        classmethod(lambda cls, v: [span_of(x) for x in v] if isinstance(v, list) else v)
    )


class Staff(Strict):
    """A person the gateway notifies."""

    id: Id
    name: str = Field(min_length=1, max_length=64)
    role: Role
    phone: str | None = Field(None, pattern=r"^\+?[0-9]{5,15}$")


class Shift(Strict):
    """A watcher's shift: every day at the same hours, or once between two times."""

    watcher: Id
    daily: SpanField | None = None
    start: datetime | None = None
    end: datetime | None = None
    households: Literal["all"] | list[Id] = "all"

    _split_daily = field_validator("daily", mode="before")(classmethod(lambda cls, v: span_of(v)))

    @model_validator(mode="after")
    def _one_form(self) -> Shift:
        dated = self.start is not None or self.end is not None
        if self.daily is not None and dated:
            raise ValueError("a shift is either daily or has start and end, not both")
        if self.daily is None and (self.start is None or self.end is None):
            raise ValueError("a shift needs daily: HH:MM-HH:MM, or both start and end")
        if self.start is not None and self.end is not None and naive_lt(self.end, self.start):
            raise ValueError("shift end is before its start")
        return self

    def covers_household(self, household_id: str) -> bool:
        """Whether the shift's household list names this household."""
        return self.households == "all" or household_id in self.households


class Resident(Strict):
    """A person under isolation in a household."""

    id: Id
    name: str = Field(min_length=1, max_length=64)
    flags: list[str] = Field(default_factory=list)
    phone: str | None = Field(None, pattern=r"^\+?[0-9]{5,15}$")
    _shared: ClassVar[tuple[str, ...]] = ("flags",)


class Period(Interval):
    """The isolation (or health-monitoring) period of a household."""

    _what: ClassVar[str] = "isolation"


class VisitWindow(Interval):
    """A time in which the door may open: a delivery, a nucleic-acid test, a doctor's visit."""

    reason: str = Field("visit", max_length=64)
    escort: Id | None = None
    _what: ClassVar[str] = "visit"
    _shared: ClassVar[tuple[str, ...]] = ("reason", "escort")


class Device(Strict):
    """A device bound to a household."""

    id: Id
    kind: DeviceKind
    protocol: Protocol
    address: str | None = Field(None, min_length=1, max_length=128)
    resident: Id | None = None
    roi: list[tuple[float, float]] | None = Field(None, min_length=3)
    source: str | None = Field(None, description="Camera: URL or video file; Frigate: its URL")
    open_cmd: str = Field("ON", description="RFLink: the CMD that means open")
    codes: dict[str, DoorSignal] = Field(
        default_factory=dict,
        description="RFLink: what each code means; keys as devices/rflink.py documents",
    )
    open_hold_s: float | None = Field(
        None, gt=0, le=3600, description="Open-only sensor: counts as open this long"
    )
    offline_s: int | None = Field(
        None, ge=10, le=7 * 86_400, description="Silence allowed; overrides the policy's"
    )
    sensitivity: float = Field(
        1.0, ge=0.1, le=10, description="Camera: motion sensitivity (2 = twice as sensitive)"
    )
    fps: float = Field(10, gt=0, le=30, description="Camera: frames analysed per second, at most")
    zone: str | None = Field(None, max_length=64, description="Frigate: the door's zone")
    _shared: ClassVar[tuple[str, ...]] = ("open_cmd", "sensitivity", "fps", "zone")

    @model_validator(mode="after")
    def _consistent(self) -> Device:
        if self.kind is DeviceKind.THERMOMETER and self.resident is None:
            raise ValueError("a thermometer needs the resident it belongs to")
        if self.protocol is Protocol.URL and not self.source:
            raise ValueError("protocol url needs source:")
        if self.protocol not in (Protocol.NATIVE, Protocol.MQTT, Protocol.URL) and not self.address:
            raise ValueError(f"protocol {self.protocol.value} needs address:")
        if self.roi is not None and any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in self.roi):
            raise ValueError("roi points are fractions of the frame, 0–1")
        return self

    def wire_address(self) -> str:
        """The address the protocol uses: native and camera devices use their id."""
        if self.protocol is Protocol.BLE and self.address:
            return normalize_mac(self.address)
        return self.address or self.id


class Household(Strict):
    """A household under isolation and the people and devices around it."""

    id: Id
    address: str = Field(min_length=1, max_length=200)
    residents: list[Resident] = Field(default_factory=list)
    officer: Id | None = None
    doctor: Id | None = None
    technician: Id | None = None
    supervisor: Id | None = None
    isolation: Period | None = None
    devices: list[Device] = Field(default_factory=list)
    visits: list[VisitWindow] = Field(default_factory=list)
    _shared: ClassVar[tuple[str, ...]] = ("officer", "doctor", "technician", "supervisor")

    def staff_for(self, role: Role) -> str | None:
        """The household's assigned staff id for a role (watchers come from the roster)."""
        return {
            Role.OFFICER: self.officer,
            Role.DOCTOR: self.doctor,
            Role.TECHNICIAN: self.technician,
            Role.SUPERVISOR: self.supervisor,
        }.get(role)


class ChannelKind(StrEnum):
    """How a channel delivers: a group bot, a generic webhook, or SMS through the modem."""

    WEBHOOK = "webhook"  # generic JSON POST (the SPEC §3 alert JSON)
    WECOM = "wecom"  # 企业微信群机器人
    DINGTALK = "dingtalk"  # 钉钉自定义机器人, signed
    SMS = "sms"  # the gateway's GSM modem, to each recipient's phone


class Channel(Strict):
    """A delivery channel besides MQTT, and which alerts it carries.

    A group channel (webhook, WeCom, DingTalk) gets one message per alert change when the alert
    is for one of ``households`` and one of its recipients has a role in ``roles``. SMS goes to
    each recipient with a phone whose role is in ``roles``: when the alert is raised, and to
    those added by an escalation. Empty ``roles`` means any role.
    """

    id: Id
    kind: ChannelKind
    url: str | None = Field(None, pattern=r"^https?://", description="Webhook address")
    secret: str | None = Field(None, description="DingTalk signing secret (or secret_env)")
    secret_env: str | None = Field(None, description="Environment variable holding the secret")
    msgtype: Literal["markdown", "text"] = "markdown"
    roles: list[Role] = Field(default_factory=list)
    households: Literal["all"] | list[Id] = "all"
    types: list[AlertType] | None = Field(None, description="Only these alert types")
    severities: list[Severity] | None = Field(None, description="Only these severities")
    daily_report: bool = Field(False, description="Also carries the daily report (每日报告)")

    @model_validator(mode="after")
    def _complete(self) -> Channel:
        if self.kind is not ChannelKind.SMS and not self.url:
            raise ValueError(f"a {self.kind.value} channel needs url:")
        if self.kind is ChannelKind.SMS and self.url:
            raise ValueError("an sms channel has no url: it uses the gateway's modem")
        return self

    def carries(self, alert_type: AlertType, severity: Severity, household_id: str) -> bool:
        """Whether this channel is meant for such an alert (before looking at roles)."""
        return (
            (self.types is None or alert_type in self.types)
            and (self.severities is None or severity in self.severities)
            and (self.households == "all" or household_id in self.households)
        )


class Site(Strict):
    """A whole site file. ``shifts``/``policy``/``channels`` absent → the stored ones stay."""

    timezone: str = "Asia/Shanghai"
    policy: Policy | None = None
    staff: list[Staff] = Field(default_factory=list)
    shifts: list[Shift] | None = None
    households: list[Household] = Field(default_factory=list)
    channels: list[Channel] | None = None
    community: str | None = Field(None, max_length=100, description="Shown on notices, reports")
    hotline: str | None = Field(
        None, max_length=100, description="心理援助热线, printed on the notice"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _localize(self) -> Site:
        # Naive times get the site's zone, fixed offsets one shared tzinfo per offset: a site
        # built from entities already so, as a merge is, changes nothing and costs one look
        # per time.
        tz = ZoneInfo(self.timezone)
        for shift in self.shifts or []:
            localize(shift, tz)
        for hh in self.households:
            if hh.isolation:
                localize(hh.isolation, tz)
            for v in hh.visits:
                localize(v, tz)
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.timezone)
