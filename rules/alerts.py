"""Alert types and the decisions rules return: raise an alert, clear one, or mark one seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AlertType(StrEnum):
    """SPEC §3 alert types."""

    DOOR_BREACH = "door_breach"
    DOOR_LEFT_OPEN = "door_left_open"
    TAMPER = "tamper"
    FEVER = "fever"
    MISSED_READING = "missed_reading"
    DEVICE_OFFLINE = "device_offline"
    LOW_BATTERY = "low_battery"
    MOTION_AT_DOOR = "motion_at_door"
    SYMPTOM = "symptom"
    NO_WATCHER_ON_DUTY = "no_watcher_on_duty"


class Severity(StrEnum):
    """How urgent; orders the console and picks channels."""

    CRITICAL = "critical"
    HIGH = "high"
    WARNING = "warning"
    INFO = "info"


SEVERITY: dict[AlertType, Severity] = {
    AlertType.DOOR_BREACH: Severity.CRITICAL,
    AlertType.DOOR_LEFT_OPEN: Severity.HIGH,
    AlertType.TAMPER: Severity.CRITICAL,
    AlertType.FEVER: Severity.HIGH,
    AlertType.MISSED_READING: Severity.WARNING,
    AlertType.DEVICE_OFFLINE: Severity.WARNING,
    AlertType.LOW_BATTERY: Severity.INFO,
    AlertType.MOTION_AT_DOOR: Severity.INFO,
    AlertType.SYMPTOM: Severity.HIGH,
    AlertType.NO_WATCHER_ON_DUTY: Severity.HIGH,
}


class AlertStatus(StrEnum):
    """Lifecycle of an alert; ``escalated`` is an open alert past its first step."""

    OPEN = "open"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    @property
    def is_active(self) -> bool:
        """Open or escalated: the one alert per (household, type, device) that repeats count on."""
        return self in (AlertStatus.OPEN, AlertStatus.ESCALATED)


@dataclass(frozen=True, slots=True)
class Raise:
    """Raise an alert, or count a repeat of the active one with the same key."""

    type: AlertType
    household: str
    device: str | None
    at: datetime
    message: str
    recipients: tuple[str, ...]
    resident: str | None = None
    """The resident it is about, where one is (readings, symptoms)."""
    vulnerable: tuple[str, ...] = ()
    """The vulnerability flags of whom it is about (``rules.care``), marked by the watch."""

    @property
    def severity(self) -> Severity:
        """Severity is the type's (SPEC §3)."""
        return SEVERITY[self.type]

    @property
    def key(self) -> tuple[str, str, str]:
        """The de-duplication key of SPEC §3; a resident stands for a device where none is."""
        return (self.household, self.type.value, self.device or self.resident or "")


@dataclass(frozen=True, slots=True)
class Clear:
    """The condition behind an alert is over (door closed, device back): resolve it."""

    type: AlertType
    household: str
    device: str | None
    at: datetime
    reason: str

    @property
    def key(self) -> tuple[str, str, str]:
        """The de-duplication key of SPEC §3."""
        return (self.household, self.type.value, self.device or "")


@dataclass(frozen=True, slots=True)
class Seen:
    """A camera saw someone at the door around a door opening that was a breach.

    Marks the ``door_breach`` alert of ``(household, device)`` as seen by ``camera``: the
    evidence around ``opened_at`` and ``motion_at`` belongs to it.
    """

    household: str
    device: str  # the door device whose door_breach alert is marked
    camera: str
    opened_at: datetime
    motion_at: datetime

    @property
    def key(self) -> tuple[str, str, str]:
        """The de-duplication key of the ``door_breach`` alert this marks."""
        return (self.household, AlertType.DOOR_BREACH.value, self.device)


Decision = Raise | Clear | Seen
