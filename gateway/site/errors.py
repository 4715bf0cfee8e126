"""Where a site file or register is wrong: errors placed on a line (or row and column) and path."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from rules.site import Site

Loc = tuple[str | int, ...]


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
