"""Whole-site checks the models alone cannot make, and merging a file over the stored site."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from devices.events import Protocol, address_key, is_mac
from gateway.site.errors import Loc, Locator, SiteError
from gateway.site.partial import Kept, original_loc
from rules.site import Role, Site, Staff


@dataclass(frozen=True)
class SiteDocument:
    """A parsed site file and where each of its paths came from.

    A document read with ``partial=True`` may hold only the entities that validated: ``errors``
    then lists the file's own errors, ``failed`` the ``(kind, id)`` of the staff, households and
    residents that failed, ``kept`` which list items made it (see ``gateway.site.partial``), and
    ``checkable`` is False when nothing could be kept for a cross-check.
    """

    site: Site
    locator: Locator
    errors: tuple[SiteError, ...] = ()
    failed: frozenset[tuple[str, str]] = frozenset()
    kept: Kept = field(default_factory=dict)
    checkable: bool = True

    def check(self, merged: Site) -> list[SiteError]:
        """Cross-reference errors of the merged site, placed on this file's lines."""
        if not self.checkable:
            return []
        return check_site(
            merged,
            self.locator.source,
            lines=self.locator.lines,
            labels=self.locator.labels,
            failed=self.failed,
            kept=self.kept,
        )

    def all_errors(self, merged: Site) -> list[SiteError]:
        """The file's own errors and the cross-reference errors of the merged site, in one list."""
        return [*self.errors, *self.check(merged)]


def check_site(
    site: Site,
    source: str,
    *,
    lines: Mapping[str, int] | None = None,
    labels: Mapping[str, str] | None = None,
    failed: Collection[tuple[str, str]] = (),
    kept: Kept | None = None,
) -> list[SiteError]:
    """Cross-reference checks that the models alone cannot make.

    Args:
        site: The merged site (stored entries plus the file's).
        source: The file name, used in error messages.
        lines: Path → line of the file being loaded (from its SiteDocument), if known.
        labels: Path → column header, for a register.
        failed: ``(kind, id)`` of entities (``staff``, ``household``, ``resident``) that failed
            validation: a reference to one is already explained by its own error.
        kept: For a partial site, which of the file's list items it holds, so that errors are
            placed on the file's lines.

    Returns:
        Every error found; empty when the site is consistent.
    """
    locator = Locator(source, lines or {}, labels or {})

    def at(loc: Loc, reason: str) -> SiteError:
        return locator.at(original_loc(loc, kept) if kept else loc, reason)

    errors: list[SiteError] = []
    staff: dict[str, Staff] = {}
    for i, person in enumerate(site.staff):
        if person.id in staff:
            errors.append(at(("staff", i, "id"), f"staff id {person.id!r} is used twice"))
        staff.setdefault(person.id, person)

    def has_role(loc: Loc, staff_id: str, role: Role, who: str) -> None:
        person = staff.get(staff_id)
        if person is None and ("staff", staff_id) in failed:
            return
        if person is None:
            errors.append(at(loc, f"{who}{role.value} {staff_id!r} is not in staff"))
        elif person.role is not role:
            errors.append(at(loc, f"{who}{role.value} {staff_id!r} has role {person.role.value}"))

    household_ids: set[str] = set()
    resident_ids: set[str] = set()
    device_ids: set[str] = set()
    addresses: dict[tuple[Protocol, str], str] = {}
    for i, hh in enumerate(site.households):
        base: Loc = ("households", i)
        who = f"household {hh.id}: "
        if hh.id in household_ids:
            errors.append(at((*base, "id"), f"household id {hh.id!r} is used twice"))
        household_ids.add(hh.id)
        for role in (Role.OFFICER, Role.DOCTOR, Role.TECHNICIAN, Role.SUPERVISOR):
            if (staff_id := hh.staff_for(role)) is not None:
                has_role((*base, role.value), staff_id, role, who)
        for j, resident in enumerate(hh.residents):
            if resident.id in resident_ids:
                errors.append(
                    at((*base, "residents", j, "id"), f"resident id {resident.id!r} is used twice")
                )
            resident_ids.add(resident.id)
        own_residents = {r.id for r in hh.residents}
        for j, device in enumerate(hh.devices):
            loc: Loc = (*base, "devices", j)
            if device.id in device_ids:
                errors.append(at((*loc, "id"), f"device id {device.id!r} is used twice"))
            device_ids.add(device.id)
            if (
                device.resident is not None
                and device.resident not in own_residents
                and ("resident", device.resident) not in failed
            ):
                errors.append(at((*loc, "resident"), f"{who}no resident {device.resident!r}"))
            if device.address is None:
                continue
            key = address_key(device.protocol, device.address)
            if device.protocol is Protocol.BLE and not is_mac(device.address):
                errors.append(at((*loc, "address"), f"{device.address!r} is not a Bluetooth MAC"))
            elif (device.protocol, key) in addresses:
                other = addresses[device.protocol, key]
                errors.append(
                    at(
                        (*loc, "address"),
                        f"{device.protocol.value} address "
                        f"{device.address!r} is already bound to {other}",
                    )
                )
            addresses.setdefault((device.protocol, key), device.id)
        for j, visit in enumerate(hh.visits):
            escort = visit.escort
            if escort is not None and escort not in staff and ("staff", escort) not in failed:
                errors.append(
                    at(
                        (*base, "visits", j, "escort"),
                        f"{who}escort {visit.escort!r} is not in staff",
                    )
                )
    for i, shift in enumerate(site.shifts or []):
        has_role(("shifts", i, "watcher"), shift.watcher, Role.WATCHER, "")
        if shift.households != "all":
            for j, hid in enumerate(shift.households):
                if hid not in household_ids and ("household", hid) not in failed:
                    errors.append(at(("shifts", i, "households", j), f"no household {hid!r}"))
    return errors


def merge_sites(stored: Site | None, new: Site) -> Site:
    """Lay a file's site over the stored one, by id.

    Staff and households of ``new`` replace those with the same id; the others stay. Shifts and
    policy are replaced only when ``new`` has them; the time zone, the community's name and the
    hotline only when ``new`` names them.
    The file's entries come first so that their paths (``households[2]``) are the file's own and
    errors found in the merged site point at the file's lines. Neither input is changed: the
    merged site shares their (validated, already localized) entities rather than deep-copying
    tens of thousands of households.
    """
    if stored is None:
        return new.model_copy()
    staff_ids = {s.id for s in new.staff}
    household_ids = {h.id for h in new.households}
    return Site(
        timezone=new.timezone if "timezone" in new.model_fields_set else stored.timezone,
        policy=new.policy if new.policy is not None else stored.policy,
        staff=[*new.staff, *(s for s in stored.staff if s.id not in staff_ids)],
        shifts=new.shifts if new.shifts is not None else stored.shifts,
        households=[*new.households, *(h for h in stored.households if h.id not in household_ids)],
        channels=new.channels if new.channels is not None else stored.channels,
        community=new.community if "community" in new.model_fields_set else stored.community,
        hotline=new.hotline if "hotline" in new.model_fields_set else stored.hotline,
    )
