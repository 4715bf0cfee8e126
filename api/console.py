"""The duty console (SPEC §7): ``GET /`` and its static files, served with strict headers.

The console is plain HTML, CSS and JavaScript modules under ``api/static/``; there is no build
step. Every page and asset goes out with a Content-Security-Policy that allows scripts, styles
and images from the gateway itself only (no inline script, no CDN), and the HTML is never cached,
so a logged-out browser's back button shows nothing of the last session.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from api import docs
from api.headers import SECURITY_HEADERS

STATIC = Path(__file__).resolve().parent / "static"

# What may be served from the static folder, by suffix, with its media type.
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}

router = APIRouter(include_in_schema=False)
router.include_router(docs.router)


def static_file(root: Path, relative: str) -> Path | None:
    """The file ``relative`` under ``root``, or None when it is not a servable file there.

    Refuses anything that resolves outside ``root`` (``..``, absolute paths, links out), hidden
    names and suffixes not listed in ``_TYPES``.
    """
    if not relative or any(part.startswith(".") for part in relative.split("/")):
        return None
    try:
        path = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path if path.suffix in _TYPES else None


@router.get("/")
async def index() -> Response:
    """The console's page: no data in it; the scripts ask the API after login."""
    return FileResponse(
        STATIC / "index.html",
        media_type="text/html; charset=utf-8",
        headers=SECURITY_HEADERS | {"Cache-Control": "no-store"},
    )


@router.get("/static/{relative:path}")
async def static(relative: str) -> Response:
    """A script, style sheet or image of the console."""
    path = static_file(STATIC, relative)
    if path is None:
        raise HTTPException(404, "no such file")
    # Revalidated on each load: a gateway upgraded under an open console serves the new files.
    return FileResponse(
        path,
        media_type=_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0],
        headers=SECURITY_HEADERS | {"Cache-Control": "no-cache"},
    )
