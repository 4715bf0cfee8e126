"""A4 PDFs of the documents, written with fpdf2 in the CJK font (the font embedded, subset).

The PDF says what the HTML page says, laid out for paper: a header line, headings, paragraphs
that wrap at any character (Chinese has no spaces to wrap at), bordered tables that repeat their
heading row on a new page, and the QR code drawn as vectors.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from gateway.care.documents.fonts import CjkFont
from gateway.care.documents.notice import NoticeData

FAMILY = "cjk"
RED = (198, 40, 40)
GREY = (238, 240, 243)
MUTED = (90, 90, 90)


class Sheet(FPDF):
    """An A4 document in the CJK font, with a footer naming it and its page numbers."""

    def __init__(self, font: CjkFont, title: str, footer: str, created: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font(FAMILY, "", str(font.regular.path), collection_font_number=font.regular.index)
        self.has_bold = font.bold is not None
        if font.bold is not None:
            self.add_font(FAMILY, "B", str(font.bold.path), collection_font_number=font.bold.index)
        self.footer_text = footer
        self.set_title(title)
        self.set_creator("isogate")
        self.set_lang("zh-CN")
        # The document's date, not the moment it was rendered: the same record, the same file.
        self.set_creation_date(created)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.add_page()
        self.set_font(FAMILY, size=10.5)

    def footer(self) -> None:
        """The document's name and ``page/pages`` at the foot of every page."""
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.footer_text}    第 {self.page_no()}/{{nb}} 页", align=Align.C)
        self.set_text_color(0)

    def bold(self, size: float) -> None:
        """The bold face at ``size`` (the regular one, larger, where the family has none)."""
        self.set_font(FAMILY, "B" if self.has_bold else "", size)

    def regular(self, size: float = 10.5) -> None:
        """The regular face."""
        self.set_font(FAMILY, "", size)

    def title_block(self, community: str | None, title: str) -> None:
        """The community's name and the document's title, centred."""
        if community:
            self.regular(12)
            self.cell(0, 7, community, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.bold(20)
        self.cell(0, 12, title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.regular()

    def heading(self, text: str) -> None:
        """A section heading."""
        self.ln(2)
        self.bold(13)
        self.cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.regular()

    def para(self, text: str, size: float = 10.5, h: float = 6.0, w: float = 0) -> None:
        """A paragraph that wraps at any character."""
        self.regular(size)
        self.multi_cell(
            w, h, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=Align.L
        )
        self.regular()

    def facts(self, rows: Sequence[tuple[str, str]]) -> None:
        """Label: value lines."""
        for label, value in rows:
            self.bold(10.5)
            self.cell(22, 6.5, label)
            self.regular()
            self.multi_cell(
                0, 6.5, value, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str | tuple[str, bool]]],
        widths: Sequence[float],
        size: float = 9.5,
    ) -> None:
        """A bordered table; a cell given as ``(text, True)`` is printed red (a fever, a miss)."""
        self.regular(size)
        head = FontFace(emphasis="BOLD" if self.has_bold else None, fill_color=GREY)
        with self.table(
            col_widths=tuple(widths),
            headings_style=head,
            wrapmode=WrapMode.CHAR,
            line_height=size * 0.55,
            text_align="LEFT",
            repeat_headings=1,
        ) as table:
            top = table.row()
            for h in headings:
                top.cell(h)
            for cells in rows:
                row = table.row()
                for c in cells:
                    text, red = c if isinstance(c, tuple) else (c, False)
                    row.cell(text, style=FontFace(color=RED) if red else None)
        self.regular()

    def render(self) -> bytes:
        """The PDF file."""
        return bytes(self.output())


def notice_pdf(n: NoticeData, font: CjkFont, created: datetime) -> bytes:
    """The notice as an A4 PDF."""
    pdf = Sheet(font, f"居家隔离告知书 {n.household_id}", f"居家隔离告知书 · {n.address}", created)
    pdf.title_block(n.community, "居家隔离告知书")
    period = (
        f"{n.fmt(n.start)} 至 {n.fmt(n.end)}（共 {n.days} 天）" if n.start else "以工作人员通知为准"
    )
    facts = [("住址", n.address)]
    if n.residents:
        facts.append(("隔离人员", "、".join(n.residents)))
    facts.append(("隔离期", period))
    pdf.facts(facts)

    pdf.heading("请您遵守")
    top = pdf.get_y()
    qr_w = 42.0
    text_w = pdf.epw - qr_w - 6
    for i, rule in enumerate(n.rules(), 1):
        pdf.para(f"{i}. {rule}", size=10.5, h=6.2, w=text_w)
    below = pdf.get_y()
    x = pdf.l_margin + text_w + 6
    pdf.image(io.BytesIO(n.qr_svg_file()), x=x, y=top + 2, w=qr_w, h=qr_w)
    pdf.set_xy(x, top + qr_w + 3)
    pdf.regular(8.5)
    pdf.multi_cell(qr_w, 4.5, "扫码报备开门、症状自查、申请服务", align=Align.C)
    pdf.set_x(x)
    pdf.regular(6)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(qr_w, 3, n.url, align=Align.C, wrapmode=WrapMode.CHAR)
    pdf.set_text_color(0)
    pdf.set_y(max(below, pdf.get_y()) + 1)

    pdf.heading("工作人员与联系方式")
    pdf.grid(
        ("职责", "姓名", "电话", "时段"),
        [(s.duty, s.name, s.phone or "—", s.when or "") for s in n.staff],
        (30, 40, 50, 60),
    )
    if n.hotline:
        pdf.ln(2)
        pdf.bold(11)
        pdf.cell(0, 7, f"心理援助热线：{n.hotline}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.regular()

    pdf.heading("签收")
    pdf.para("本户已收到本告知书，知晓并遵守以上事项。")
    for who in ("住户签字：", "送达人："):
        pdf.ln(6)
        pdf.cell(22, 7, who)
        y = pdf.get_y() + 6.5
        pdf.line(pdf.get_x(), y, pdf.get_x() + 70, y)
        pdf.set_x(pdf.get_x() + 76)
        pdf.cell(14, 7, "日期：")
        pdf.line(pdf.get_x(), y, pdf.get_x() + 45, y)
        pdf.ln(7)
    return pdf.render()
