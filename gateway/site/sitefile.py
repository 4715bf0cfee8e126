"""Reading the site file (SPEC §4): YAML with line numbers, cross-references, merging by id.

``isogate load site.yaml`` and ``isogate import households.csv`` follow the same path:
:func:`read_site_file` parses the file into the :mod:`rules.site` models (a
:class:`SiteDocument` that also remembers the line of every path), :func:`merge_sites` lays it
over the stored site by id, and :meth:`SiteDocument.check` runs :func:`check_site` on the merged
site. Any error refuses the whole file, and every error is listed with file, line and path.
"""

from __future__ import annotations

import yaml

from gateway.site.check import SiteDocument
from gateway.site.errors import Loc, Locator, SiteError, SiteFileError, render
from gateway.site.partial import validate_partial
from gateway.site.yamlevents import UnusualYamlError, read_events
from rules.site import Site

_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml's parser gives the same nodes and marks as PyYAML's pure-Python one, about 20× faster:
# a 50,000-household file composes in seconds instead of minutes.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_site_yaml(
    text: str, source: str, *, timezone: str | None = None, partial: bool = False
) -> SiteDocument:
    """Parse a YAML site file and remember the line of every path.

    Args:
        text: The file's text.
        source: The file name, used in error messages.
        timezone: The zone for naive times when the file has no ``timezone:`` (the stored one).
        partial: Return the entities that validated, with the duplicate-key and validation
            errors in ``errors``, instead of raising (so that the caller can cross-check them).

    Raises:
        SiteFileError: With every syntax, duplicate-key and validation error found (with
            ``partial``, only when the file is not YAML or not a mapping).
    """
    try:
        data, lines, errors = _read(text, source)
    except yaml.MarkedYAMLError as exc:
        raise SiteFileError([_syntax_error(exc, source)]) from None
    except yaml.YAMLError as exc:  # e.g. a control character the reader refuses
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        raise SiteFileError([SiteError(source, line, "", str(exc))]) from None
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
    valid = validate_partial(data, locator)
    errors.extend(valid.errors)
    if errors and not partial:
        raise SiteFileError(errors)
    return SiteDocument(
        valid.site or Site(),
        locator,
        errors=tuple(errors),
        failed=valid.failed,
        kept=valid.kept,
        checkable=valid.site is not None,
    )


def _read(text: str, source: str) -> tuple[object, dict[str, int], list[SiteError]]:
    """The file's data, the line of every path, and its duplicate keys."""
    loader = _Loader(text)
    try:
        return read_events(loader, source)  # one pass, for the plain YAML site files are
    except UnusualYamlError:
        pass
    finally:
        loader.dispose()
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        lines: dict[str, int] = {}
        errors = _walk(root, (), lines, source, set()) if root is not None else []
        return (loader.construct_document(root) if root is not None else None), lines, errors
    finally:
        loader.dispose()


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
