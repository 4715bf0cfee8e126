"""A site file by its suffix: YAML (``isogate load``) or the CSV register (``isogate import``)."""

from __future__ import annotations

from pathlib import Path

from gateway.site.check import SiteDocument
from gateway.site.errors import SiteError, SiteFileError
from gateway.site.register import read_register
from gateway.site.sitefile import read_site_yaml
from rules.site import Site


def read_site_file(
    path: Path, *, timezone: str | None = None, partial: bool = False
) -> SiteDocument:
    """Read a ``.yaml``/``.yml`` site file or a ``.csv`` register.

    Args:
        path: The file.
        timezone: The zone for naive times when the file names none (pass the stored site's).
        partial: Return the valid entities with the file's errors in ``errors`` instead of
            raising for them, so that they can be cross-checked and refused together.

    Raises:
        SiteFileError: When the file cannot be read or has any error (with ``partial``, only
            when it cannot be read as a site file at all).
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
        return read_register(data, source, timezone=timezone, partial=partial)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SiteFileError([SiteError(source, line, "", "not UTF-8 text")]) from None
    return read_site_yaml(text, source, timezone=timezone, partial=partial)


def load_site_file(path: Path) -> Site:
    """Parse a site file by its suffix: YAML (``isogate load``) or CSV (``isogate import``).

    Raises:
        SiteFileError: With every error found in the file.
    """
    return read_site_file(path).site
