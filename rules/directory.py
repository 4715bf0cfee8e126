"""The site compiled for look-ups: devices by wire address, staff by id, who to tell."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from devices.events import DeviceRef, Protocol, address_key
from rules.alerts import AlertType
from rules.roster import watchers_on_duty
from rules.site import Device, Household, Policy, Role, Shift, Site, Staff

# Who is told of each alert type, in order (SPEC §3). WATCHER means the watchers on duty.
AUDIENCE: dict[AlertType, tuple[Role, ...]] = {
    AlertType.DOOR_BREACH: (Role.OFFICER, Role.WATCHER),
    AlertType.DOOR_LEFT_OPEN: (Role.WATCHER, Role.OFFICER),
    AlertType.TAMPER: (Role.OFFICER, Role.WATCHER, Role.TECHNICIAN),
    AlertType.FEVER: (Role.DOCTOR, Role.WATCHER),
    AlertType.MISSED_READING: (Role.DOCTOR, Role.WATCHER),
    AlertType.DEVICE_OFFLINE: (Role.TECHNICIAN, Role.WATCHER),
    AlertType.LOW_BATTERY: (Role.TECHNICIAN,),
    AlertType.MOTION_AT_DOOR: (Role.WATCHER,),
    AlertType.SYMPTOM: (Role.DOCTOR, Role.WATCHER),
    AlertType.NO_WATCHER_ON_DUTY: (Role.SUPERVISOR,),
}


@dataclass(frozen=True, slots=True)
class Binding:
    """A bound device and the household it belongs to."""

    household: Household
    device: Device


@dataclass
class Directory:
    """Everything the rules look up about a site, indexed once per site revision."""

    site: Site
    policy: Policy
    shifts: list[Shift]
    households: dict[str, Household] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    _by_wire: dict[tuple[Protocol, str], Binding] = field(default_factory=dict)
    _by_id: dict[str, Binding] = field(default_factory=dict)

    @classmethod
    def build(cls, site: Site) -> Directory:
        """Index a (merged, validated) site."""
        d = cls(site=site, policy=site.policy or Policy(), shifts=list(site.shifts or []))
        d.households = {h.id: h for h in site.households}
        d.staff = {s.id: s for s in site.staff}
        by_id, by_wire = d._by_id, d._by_wire
        for hh in site.households:
            for dev in hh.devices:
                b = Binding(hh, dev)
                by_id[dev.id] = b
                wire = dev.wire_address()
                # A BLE wire address is already the normal MAC that address_key would make.
                key = wire if dev.protocol is Protocol.BLE else address_key(dev.protocol, wire)
                if key == dev.address:
                    key = dev.address  # the site's own string, not a second copy of it
                by_wire[(dev.protocol, key)] = b
        return d

    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone."""
        return self.site.tz

    def bound(self, ref: DeviceRef) -> Binding | None:
        """The binding of a device as its protocol names it; None for an unknown device."""
        if ref.protocol is Protocol.NATIVE:
            b = self._by_id.get(ref.address)
            if b is not None:
                return b
        return self.at(ref.protocol, address_key(ref.protocol, ref.address))

    def at(self, protocol: Protocol, key: str) -> Binding | None:
        """The binding of a device by its address in ``address_key`` form (no normalizing)."""
        return self._by_wire.get((protocol, key))

    def device(self, device_id: str) -> Binding | None:
        """The binding of a device by its site-file id."""
        return self._by_id.get(device_id)

    def bindings(self) -> list[Binding]:
        """Every bound device."""
        return list(self._by_id.values())

    def on_duty(self, household_id: str, t: datetime) -> list[str]:
        """Watchers whose shift covers the household at ``t``."""
        return watchers_on_duty(self.shifts, household_id, t, self.site.tz)

    def supervisors(self, household: Household | None) -> list[str]:
        """The household's supervisor, or every supervisor of the site."""
        if household is not None and household.supervisor:
            return [household.supervisor]
        return [s.id for s in self.staff.values() if s.role is Role.SUPERVISOR]

    def people(self, role: Role, household: Household, t: datetime) -> list[str]:
        """Staff ids in a role for a household at ``t`` (watchers from the roster)."""
        if role is Role.WATCHER:
            return self.on_duty(household.id, t)
        if role is Role.SUPERVISOR:
            return self.supervisors(household)
        assigned = household.staff_for(role)
        return [assigned] if assigned else []

    def recipients(self, alert: AlertType, household: Household, t: datetime) -> tuple[str, ...]:
        """Who is told of an alert at ``t``, once each, in SPEC §3 order."""
        out: dict[str, None] = {}
        for role in AUDIENCE[alert]:
            for pid in self.people(role, household, t):
                out.setdefault(pid, None)
        return tuple(out)
