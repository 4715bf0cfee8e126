"""The API's docs at ``/api/docs``: Swagger UI from the packaged ``swagger-ui-bundle`` files.

FastAPI's own docs page fetches Swagger UI from a CDN, which an offline site cannot reach (the
page stays blank). Here the page, its start-up script and Swagger UI's files are all served by
the gateway; the page names no other host.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from api.headers import SECURITY_HEADERS

ASSETS = "/api/docs/assets"

# The Swagger UI files the page uses, with their media types; nothing else is served.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

# Swagger UI sets style attributes from its scripts, so styles may be inline; scripts may not.
_HEADERS = SECURITY_HEADERS | {
    "Content-Security-Policy": "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
}

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>isogate API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/docs/init.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
async def docs() -> Response:
    """Swagger UI over ``/openapi.json``, from local files only."""
    return HTMLResponse(PAGE, headers=_HEADERS | {"Cache-Control": "no-store"})


@router.get("/api/docs/assets/{name}")
async def asset(name: str) -> Response:
    """One of Swagger UI's packaged files."""
    media = _ASSETS.get(name)
    if media is None:
        raise HTTPException(404, "no such file")
    return FileResponse(swagger_ui_path / name, media_type=media, headers=_HEADERS)
