"""Reading the PDFs the gateway makes as a person would: their text, and their first page as an
image (kept in ``test-artifacts/`` to look at)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def pdf_text(pdf: bytes) -> str:
    """The text of every page, as a PDF reader extracts it (lines joined, no line breaks)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        pages = [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()
    return "".join(pages).replace("\r\n", "").replace("\n", "")


def page_png(pdf: bytes, page: int = 0, scale: float = 1.5) -> tuple[bytes, int]:
    """One page rendered to PNG, and how many of its pixels are dark (ink, not paper)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[page].render(scale=scale).to_pil()
    finally:
        doc.close()
    grey = np.asarray(image.convert("L"))
    dark = int((grey < 128).sum())
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue(), dark


def save_artifact(name: str, data: bytes) -> Path:
    """Keep a file in ``test-artifacts/`` (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    return path
