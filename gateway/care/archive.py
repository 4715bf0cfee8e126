"""The release report archived (归档): written once when a household is released, kept
read-only under ``<data dir>/archive/release/`` with the SHA-256 of its HTML and PDF recorded in
the store, and never written again.

``archive_release`` runs after a release commits (``CareDesk.on_release``); ``archive_pending``
runs at the gateway's start and archives every release still without a report, so a crash
between the release and its archive heals. Two runs racing for the same release each write
their own files; the store keeps the first report recorded and the other run removes its files.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.care.documents import Documents, FontMissingError, gather_release
from gateway.clock import epoch
from gateway.store import Store
from gateway.store.care_records import Release
from rules.directory import Directory

log = logging.getLogger("isogate.archive")

ARCHIVE_DIR = Path("archive") / "release"
"""Where the reports go, relative to the data dir."""
SUFFIXES = (".html", ".pdf")


def report_stem(release: Release, tz: ZoneInfo) -> str:
    """``<household>-<period start yyyymmdd>-<short id>`` (the short id keeps racing runs
    apart)."""
    day = release.period_start.astimezone(tz).strftime("%Y%m%d")
    return f"{release.household_id}-{day}-{secrets.token_hex(3)}"


def report_file(data_dir: Path, release: Release, suffix: str) -> Path | None:
    """Where the archived report of a release is (``.html`` or ``.pdf``); None before it is
    archived."""
    if release.report_path is None or suffix not in SUFFIXES:
        return None
    return data_dir.resolve() / f"{release.report_path}{suffix}"


async def archive_release(
    store: Store,
    directory: Directory,
    data_dir: Path,
    household_id: str,
    period_start: datetime,
    documents: Documents | None = None,
) -> bool:
    """Archive the report of one release; True when this call recorded it.

    False when it is archived already (the first report stays as it is), when there is no
    such release, or when its household is no longer in the site (nothing to name it by).

    Raises:
        FontMissingError: no CJK font for the PDF; the release stays pending.
    """
    release = next(
        (
            r
            for r in await store.releases([household_id])
            if epoch(r.period_start) == epoch(period_start)
        ),
        None,
    )
    if release is None:
        log.warning("no release of %s from %s to archive", household_id, period_start)
        return False
    if release.report_sha256 is not None:
        return False
    if household_id not in directory.households:
        log.error("release of %s not archived: its household left the site", household_id)
        return False
    docs = documents or Documents()
    report = await gather_release(store, directory, release)
    html = docs.release_html(report).encode()
    pdf = await docs.release_pdf(report)
    stem = report_stem(release, directory.tz)
    files = {
        ARCHIVE_DIR / f"{stem}{sfx}": body for sfx, body in zip(SUFFIXES, (html, pdf), strict=True)
    }
    written = await asyncio.to_thread(_write_all, data_dir, files)
    relative = (ARCHIVE_DIR / stem).as_posix()
    pdf_sha, html_sha = hashlib.sha256(pdf).hexdigest(), hashlib.sha256(html).hexdigest()
    try:
        recorded = await store.set_report(
            household_id, release.period_start, pdf_sha, html_sha, relative
        )
    except BaseException:
        _remove(written)
        raise
    if not recorded:
        # Another run recorded its report first: that one is the archive.
        _remove(written)
        return False
    log.info("release report of %s archived: %s (PDF sha256 %s)", household_id, relative, pdf_sha)
    return True


async def archive_pending(
    store: Store, directory: Directory, data_dir: Path, documents: Documents | None = None
) -> int:
    """Archive every release without a report (and not purged); how many were archived.

    A release that fails is logged and left pending for the next start; the others go on.
    """
    docs = documents or Documents()
    done = 0
    for r in await store.releases():
        if r.report_sha256 is not None or r.purged_at is not None:
            continue
        try:
            done += await archive_release(
                store, directory, data_dir, r.household_id, r.period_start, docs
            )
        except FontMissingError as exc:
            log.error("release reports stay pending: %s", exc)
            break
        except Exception:
            log.exception("release report of %s not archived; kept pending", r.household_id)
    if done:
        log.info("%d pending release report(s) archived", done)
    return done


def _write_all(data_dir: Path, files: dict[Path, bytes]) -> list[Path]:
    """Write each file (relative to the data dir) once; on a failure none of them stays."""
    written: list[Path] = []
    try:
        for relative, body in files.items():
            path = data_dir.resolve() / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            written.append(_write_once(path, body))
    except BaseException:
        _remove(written)
        raise
    return written


def _write_once(path: Path, body: bytes) -> Path:
    """Write a new read-only file: to a temporary name first, then renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o444)
        if path.exists():  # a short id drawn twice: never replace an archived file
            raise FileExistsError(path)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def _remove(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
