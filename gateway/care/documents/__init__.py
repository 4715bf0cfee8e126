"""The isolation's printed documents: the notice (告知书) and the release report (解除报告单),
each as an HTML page (Jinja2 templates, styled by ``/static/documents.css``) and an A4 PDF.

:class:`Documents` renders them. It finds the CJK font on first use (``ISOGATE_PDF_FONT``
overrides); PDFs are written in a worker thread, so the event loop goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gateway.care.documents.fonts import CjkFont, FontMissingError, find_cjk_font, probe_in_child
from gateway.care.documents.notice import NoticeData, notice_data
from gateway.care.documents.release import ReleaseReport, gather_release

__all__ = [
    "Documents",
    "FontMissingError",
    "NoticeData",
    "ReleaseReport",
    "gather_release",
    "notice_data",
]

log = logging.getLogger("isogate.documents")

_templates = Environment(
    loader=PackageLoader("gateway.care.documents", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Documents:
    """Renders the documents; the PDF font is looked up once, when first needed."""

    def __init__(self, font_path: Path | None = None) -> None:
        self.font_path = font_path
        self._font: CjkFont | None = None

    def font(self) -> CjkFont:
        """The CJK font of the PDFs.

        Raises:
            FontMissingError: no usable font (the message says what to install).
        """
        if self._font is None:
            self._font = find_cjk_font(self.font_path)
            log.info("PDF font: %s (face %d)", self._font.regular.path, self._font.regular.index)
        return self._font

    def check(self) -> str | None:
        """Why no PDF can be made (logged as an error), or None when the font is there.

        The font is probed in a child process: the gateway's own memory holds neither fontTools
        nor fpdf2 until it writes its first PDF.
        """
        try:
            if self._font is None:
                self._font = probe_in_child(self.font_path)
        except FontMissingError as exc:
            log.error("notices and release reports cannot be made as PDF: %s", exc)
            return str(exc)
        return None

    @staticmethod
    def notice_html(n: NoticeData) -> str:
        """The notice's printable page."""
        return _templates.get_template("notice.html").render(n=n, qr=n.qr_svg())

    async def notice_pdf(self, n: NoticeData, created: datetime) -> bytes:
        """The notice as a PDF (FontMissingError without a CJK font)."""
        from gateway.care.documents.pdf import notice_pdf  # fpdf2 loads on the first PDF

        font = self.font()
        return await asyncio.to_thread(notice_pdf, n, font, created)

    @staticmethod
    def release_html(r: ReleaseReport) -> str:
        """The release report's printable page."""
        return _templates.get_template("release.html").render(r=r)

    async def release_pdf(self, r: ReleaseReport) -> bytes:
        """The release report as a PDF (FontMissingError without a CJK font)."""
        from gateway.care.documents.release_pdf import release_pdf  # as above

        font = self.font()
        return await asyncio.to_thread(release_pdf, r, font)
