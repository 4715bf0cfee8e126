"""The body of a POST to the resident's page: JSON, or a form
(``application/x-www-form-urlencoded``) as a plain HTML form or a tool sends it; read as one small
mapping whatever its shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException, Request

MAX_BODY = 4096
"""A body larger than this is not a page's request."""

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Body:
    """A request's fields: a JSON object, or a form's fields (each a list of values)."""

    doc: dict[str, Any]
    form: bool = False

    def text(self, name: str) -> str | None:
        """A text field, stripped; None when absent, empty or not text."""
        value = self.doc.get(name)
        if self.form:
            value = value[0] if value else None
        if not isinstance(value, str) or not value.strip():
            return None
        return value.strip()

    def texts(self, name: str) -> list[str] | None:
        """A list of texts; None when it is not one. A form sends one field per value (none
        at all, or only empty ones: an empty list); JSON must send a list."""
        if self.form:
            return [v.strip() for v in self.doc.get(name, []) if v.strip()]
        value = self.doc.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        return [v.strip() for v in value]

    def number(self, name: str) -> int | None:
        """A whole number (a JSON integer, or a form's digits); None otherwise."""
        value = self.doc.get(name)
        if self.form:
            text = value[0].strip() if value else ""
            return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None
        # bool is an int to Python, not to a resident
        return value if isinstance(value, int) and not isinstance(value, bool) else None


async def read_body(request: Request) -> Body:
    """The request's fields; 422 for a body too large, not a JSON object, or of another type."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(422, "请求内容过长")
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == FORM:
        return Body(parse_qs(raw.decode("utf-8", "replace")), form=True)
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise HTTPException(422, "请求内容无效")
    return Body(doc)
