"""Reading the site file (SPEC §4): YAML with line numbers, cross-references, merging by id.

``isogate load site.yaml`` and ``isogate import households.csv`` follow the same path:
:func:`read_site_file` parses the file into the :mod:`rules.site` models (a
:class:`SiteDocument` that also remembers the line of every path), :func:`merge_sites` lays it
over the stored site by id, and :meth:`SiteDocument.check` runs :func:`check_site` on the merged
site. Any error refuses the whole file, and every error is listed with file, line and path.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from devices.events import Protocol
from rules.site import Role, Site, Staff, normalize_mac

Loc = tuple[str | int, ...]
_MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class SiteError:
    """One problem in a site file: where it is and what is wrong."""

    source: str
    line: int | None
    path: str
    reason: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where} {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


class SiteFileError(Exception):
    """A site file was refused; ``errors`` lists every problem found, in file order."""

    def __init__(self, errors: Iterable[SiteError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.source, e.line is None, e.line or 0))
        super().__init__("\n".join(str(e) for e in self.errors))


def render(loc: Loc) -> str:
    """``("households", 0, "officer")`` → ``households[0].officer``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True)
class Locator:
    """Turns a model path into a file position: a YAML line, or a register row and column."""

    source: str
    lines: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    def at(self, loc: Loc, reason: str) -> SiteError:
        """An error at ``loc``, placed on the nearest path the file actually has."""
        label = _nearest(loc, self.labels)
        return SiteError(self.source, _nearest(loc, self.lines), label or render(loc), reason)

    def validation_errors(
        self, exc: ValidationError, skip: Collection[Loc] = ()
    ) -> list[SiteError]:
        """Every pydantic error as a SiteError; errors under a path in ``skip`` are dropped."""
        # A union reports one error per branch under a tag such as "list[constrained-str]".
        # Group them by the path before the tag: errors that went inside a branch say the most,
        # and when none did, their reasons are joined into one "... or ..." reason.
        groups: dict[tuple[Loc, bool], list[tuple[Loc, str]]] = {}
        for err in exc.errors(include_url=False):
            loc, base = self._clean(err["loc"])
            if any(loc[: len(s)] == s for s in skip):
                continue
            key = (base, True) if base is not None else (loc, False)
            groups.setdefault(key, []).append((loc, _reason(err, loc)))
        out: list[SiteError] = []
        for (base, tagged), items in groups.items():
            deeper = [(loc, reason) for loc, reason in items if loc != base]
            if tagged and deeper:
                items = deeper
            elif tagged and len(items) > 1:
                items = [(base, " or ".join(dict.fromkeys(reason for _, reason in items)))]
            out.extend(self.at(loc, reason) for loc, reason in items)
        return out

    def _clean(self, raw: tuple[str | int, ...]) -> tuple[Loc, Loc | None]:
        """Drop union tags from a pydantic loc; also return the path where the first tag was."""
        loc: Loc = ()
        base: Loc | None = None
        for part in raw:
            # A key the file has is real even when it is no identifier ("0a1b2c" in codes:);
            # anything else that is no identifier is a union branch tag.
            if (
                isinstance(part, str)
                and not part.isidentifier()
                and render((*loc, part)) not in self.lines
            ):
                base = loc if base is None else base
                continue
            loc = (*loc, part)
        return loc, base


def _nearest(loc: Loc, table: Mapping[str, typing.Any]) -> typing.Any:
    # Stop at the first list item: a merged site lists stored entries after the file's, and
    # "households[7]" must not borrow the line of the file's "households:" key.
    first_item = next((i + 1 for i, p in enumerate(loc) if isinstance(p, int)), 0)
    for k in range(len(loc), first_item - 1, -1):
        found = table.get(render(loc[:k]))
        if found is not None:
            return found
    return None


def _reason(err: typing.Any, loc: Loc) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            return f"unknown key {loc[-1]!r}, did you mean {close[0]!r}?"
        return f"unknown key {loc[-1]!r}" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if isinstance(value, str | int | float) and kind != "value_error":
        msg += f" (got {value!r})"
    if kind == "string_type" and isinstance(value, int | float):
        # YAML reads +8613800000001 or 12:34:56 as numbers; quotes keep them text.
        msg += ", put it in quotes"
    return msg


def _fields_at(loc: Loc) -> list[str]:
    """The keys the model at ``loc`` accepts, for suggesting the right one."""
    model: type[BaseModel] | None = Site
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part) if model else None
        model = _model_in(info.annotation) if info else None
        if model is None:
            return []
    return list(model.model_fields) if model else []


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class SiteDocument:
    """A parsed site file and where each of its paths came from."""

    site: Site
    locator: Locator

    def check(self, merged: Site) -> list[SiteError]:
        """Cross-reference errors of the merged site, placed on this file's lines."""
        return check_site(
            merged, self.locator.source, lines=self.locator.lines, labels=self.locator.labels
        )


def read_site_yaml(text: str, source: str, *, timezone: str | None = None) -> SiteDocument:
    """Parse a YAML site file and remember the line of every path.

    Args:
        text: The file's text.
        source: The file name, used in error messages.
        timezone: The zone for naive times when the file has no ``timezone:`` (the stored one).

    Raises:
        SiteFileError: With every syntax, duplicate-key and validation error found.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[str, int] = {}
        errors = _walk(root, (), lines, source, set()) if root is not None else []
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        raise SiteFileError([_syntax_error(exc, source)]) from None
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        raise SiteFileError([SiteError(source, line, "", str(exc))]) from None
    finally:
        loader.dispose()
    locator = Locator(source, lines)
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        errors.append(
            SiteError(
                source,
                1,
                "",
                f"the site file is {what} of timezone, policy, staff, shifts, households",
            )
        )
        raise SiteFileError(errors)
    if timezone is not None and "timezone" not in data:
        data = {**data, "timezone": timezone}
    try:
        site = Site.model_validate(data)
    except ValidationError as exc:
        errors.extend(locator.validation_errors(exc))
    if errors:
        raise SiteFileError(errors)
    return SiteDocument(site, locator)


def parse_site_yaml(text: str, source: str) -> Site:
    """Parse and validate a YAML site file.

    Raises:
        SiteFileError: With every error, each with its line and path.
    """
    return read_site_yaml(text, source).site


def _syntax_error(exc: yaml.MarkedYAMLError, source: str) -> SiteError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    reason = exc.problem or exc.context or "invalid YAML"
    if exc.problem and exc.context:
        ctx_line = exc.context_mark.line + 1 if exc.context_mark else None
        at = f" on line {ctx_line}" if ctx_line and ctx_line != line else ""
        reason += f" ({exc.context}{at})"
    return SiteError(source, line, "", reason)


def _walk(
    node: yaml.Node, loc: Loc, lines: dict[str, int], source: str, seen: set[int]
) -> list[SiteError]:
    """Record the line of every path under ``node`` and report duplicate keys.

    PyYAML keeps the last of two equal keys without a word; an operator who pasted a household
    twice would lose the first one silently, so this walk runs on the raw node tree.
    """
    if id(node) in seen:  # an alias seen before (or a recursive one): its lines are known
        return []
    seen.add(id(node))
    lines.setdefault(render(loc), node.start_mark.line + 1)
    errors: list[SiteError] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], int] = {}
        for key, value in node.value:
            if key.tag == _MERGE_TAG:  # "<<: *anchor" keys land on the parent's line
                continue
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            line = key.start_mark.line + 1
            if (key.tag, name) in first:
                errors.append(
                    SiteError(
                        source,
                        line,
                        render((*loc, name)),
                        f"duplicate key, first on line {first[key.tag, name]}",
                    )
                )
                continue
            first[key.tag, name] = line
            lines[render((*loc, name))] = line
            errors += _walk(value, (*loc, name), lines, source, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            errors += _walk(item, (*loc, i), lines, source, seen)
    return errors


def check_site(
    site: Site,
    source: str,
    *,
    lines: Mapping[str, int] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[SiteError]:
    """Cross-reference checks that the models alone cannot make.

    Args:
        site: The merged site (stored entries plus the file's).
        source: The file name, used in error messages.
        lines: Path → line of the file being loaded (from its SiteDocument), if known.
        labels: Path → column header, for a register.

    Returns:
        Every error found; empty when the site is consistent.
    """
    at = Locator(source, lines or {}, labels or {}).at
    errors: list[SiteError] = []
    staff: dict[str, Staff] = {}
    for i, person in enumerate(site.staff):
        if person.id in staff:
            errors.append(at(("staff", i, "id"), f"staff id {person.id!r} is used twice"))
        staff.setdefault(person.id, person)

    def has_role(loc: Loc, staff_id: str, role: Role, who: str) -> None:
        person = staff.get(staff_id)
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
            if device.resident is not None and device.resident not in own_residents:
                errors.append(at((*loc, "resident"), f"{who}no resident {device.resident!r}"))
            if device.address is None:
                continue
            key = _address_key(device.protocol, device.address)
            if device.protocol is Protocol.BLE and not _MAC.match(key):
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
            if visit.escort is not None and visit.escort not in staff:
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
                if hid not in household_ids:
                    errors.append(at(("shifts", i, "households", j), f"no household {hid!r}"))
    return errors


def _address_key(protocol: Protocol, address: str) -> str:
    """The form in which two addresses of one protocol are the same device."""
    if protocol is Protocol.BLE:
        return normalize_mac(address)
    if protocol is Protocol.RFLINK:  # receivers print the ID in either case
        return address.casefold()
    return address


def merge_sites(stored: Site | None, new: Site) -> Site:
    """Lay a file's site over the stored one, by id.

    Staff and households of ``new`` replace those with the same id; the others stay. Shifts and
    policy are replaced only when ``new`` has them; the time zone only when ``new`` names one.
    The file's entries come first so that their paths (``households[2]``) are the file's own and
    errors found in the merged site point at the file's lines. Neither input is changed.
    """
    new = new.model_copy(deep=True)
    if stored is None:
        return new
    stored = stored.model_copy(deep=True)
    staff_ids = {s.id for s in new.staff}
    household_ids = {h.id for h in new.households}
    return Site(
        timezone=new.timezone if "timezone" in new.model_fields_set else stored.timezone,
        policy=new.policy if new.policy is not None else stored.policy,
        staff=[*new.staff, *(s for s in stored.staff if s.id not in staff_ids)],
        shifts=new.shifts if new.shifts is not None else stored.shifts,
        households=[*new.households, *(h for h in stored.households if h.id not in household_ids)],
        channels=new.channels if new.channels is not None else stored.channels,
    )


def read_site_file(path: Path, *, timezone: str | None = None) -> SiteDocument:
    """Read a ``.yaml``/``.yml`` site file or a ``.csv`` register.

    Args:
        path: The file.
        timezone: The zone for naive times when the file names none (pass the stored site's).

    Raises:
        SiteFileError: When the file cannot be read or has any error.
    """
    source = path.name
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise SiteFileError([SiteError(source, None, "", "expected a .yaml, .yml or .csv file")])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SiteFileError([SiteError(source, None, "", f"cannot read: {exc}")]) from None
    if suffix == ".csv":
        # Imported here: the register builds on this module's error types.
        from gateway.register import read_register

        return read_register(data, source, timezone=timezone)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SiteFileError([SiteError(source, line, "", "not UTF-8 text")]) from None
    return read_site_yaml(text, source, timezone=timezone)


def load_site_file(path: Path) -> Site:
    """Parse a site file by its suffix: YAML (``isogate load``) or CSV (``isogate import``).

    Raises:
        SiteFileError: With every error found in the file.
    """
    return read_site_file(path).site
