"""The documents' pure parts: what the notice says of a site, the CJK font look-up, and a PDF
whose Chinese text a reader can extract."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTCollection

from gateway.care.documents import Documents, notice_data
from gateway.care.documents.fonts import KNOWN_FONTS, FontMissingError, find_cjk_font
from rules.directory import Directory
from rules.site import Site
from tests.pdf_support import page_png, pdf_text

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
URL = "https://gate.example/r/0123456789abcdefghijklmn"
HAVE_FONT = any(Path(p).is_file() for p in KNOWN_FONTS)


def _site(**extra: Any) -> Directory:
    doc: dict[str, Any] = {
        "staff": [
            {"id": "w1", "name": "李伟", "role": "watcher", "phone": "+8613800000001"},
            {"id": "w3", "name": "孙强", "role": "watcher"},
            {"id": "p1", "name": "赵致远", "role": "officer"},
            {"id": "s1", "name": "黄主任", "role": "supervisor"},
            {"id": "s2", "name": "钱书记", "role": "supervisor"},
        ],
        "shifts": [
            {"watcher": "w1", "daily": "00:00-08:00", "households": "all"},
            {"watcher": "w3", "start": "2026-11-20T16:00", "end": "2026-11-21T00:00"},  # over
            {"watcher": "w3", "start": "2026-11-23T16:00", "end": "2026-11-24T00:00"},
            {"watcher": "w1", "daily": "00:00-08:00", "households": ["h1"]},  # the same, twice
        ],
        "households": [
            {
                "id": "h1",
                "address": "幸福小区3栋2单元501",
                "residents": [{"id": "r1", "name": "张三"}, {"id": "r2", "name": "张小三"}],
                "officer": "p1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"},
            }
        ],
        **extra,
    }
    return Directory.build(Site.model_validate(doc))


def test_the_notice_names_the_households_staff_and_the_watchers_of_its_shifts():
    """Officer, every supervisor (none assigned), each watcher's shift once; a dated shift that
    is over is left out; no doctor assigned, no doctor line."""
    d = _site()
    n = notice_data(d, d.households["h1"], URL, [], NOW)
    assert [(s.duty, s.name, s.phone, s.when) for s in n.staff] == [
        ("包保民警", "赵致远", None, None),
        ("包保干部", "黄主任", None, None),
        ("包保干部", "钱书记", None, None),
        ("值守人员", "李伟", "+8613800000001", "每日 00:00-08:00"),
        ("值守人员", "孙强", None, "11-23 16:00 至 11-24 00:00"),
    ]
    assert n.residents == ("张三", "张小三") and n.days == 14
    assert n.last_receipt is None and n.hotline is None


def test_the_hotline_line_is_printed_only_when_the_site_has_one():
    """No hotline in the site: no 心理援助热线 line; with one, it is printed."""
    d = _site()
    page = Documents.notice_html(notice_data(d, d.households["h1"], URL, [], NOW))
    assert "心理援助热线" not in page and "社区" not in page.split("<h1>")[0]
    d = _site(hotline="12356", community="幸福小区社区")
    page = Documents.notice_html(notice_data(d, d.households["h1"], URL, [], NOW))
    assert "心理援助热线：<strong>12356</strong>" in page and "幸福小区社区" in page


def test_the_page_escapes_what_the_register_says():
    """An address with markup is text on the page, not markup."""
    d = _site()
    hh = d.households["h1"].model_copy(update={"address": '3栋<script>alert("x")</script>'})
    page = Documents.notice_html(notice_data(d, hh, URL, [], NOW))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_a_font_override_that_is_not_a_cjk_font_is_refused_by_name(tmp_path: Path):
    """ISOGATE_PDF_FONT pointing at a non-font, or a missing file: a clear error naming it."""
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"\x00\x01\x00\x00garbage")
    for path in (bad, tmp_path / "missing.otf"):
        with pytest.raises(FontMissingError, match=f"ISOGATE_PDF_FONT={path}"):
            find_cjk_font(path)


@pytest.mark.skipif(not HAVE_FONT, reason="no CJK font installed (apt-get install fonts-noto-cjk)")
def test_the_installed_collection_gives_its_simplified_chinese_face_and_bold():
    """Noto Sans CJK's collection: the SC face (not the Japanese one first in the file)."""
    font = find_cjk_font()
    assert font.regular.path.suffix == ".ttc"
    face = TTCollection(str(font.regular.path), lazy=True).fonts[font.regular.index]
    assert str(face["name"].getDebugName(1)).endswith(" SC")
    assert font.bold is not None and "Bold" in font.bold.path.name


@pytest.mark.skipif(not HAVE_FONT, reason="no CJK font installed (apt-get install fonts-noto-cjk)")
async def test_the_notice_pdf_holds_real_chinese_text_and_ink():
    """The PDF's text extracts as the Chinese it was written in; its page is not blank."""
    d = _site(hotline="12356")
    pdf = await Documents().notice_pdf(notice_data(d, d.households["h1"], URL, [], NOW), NOW)
    text = pdf_text(pdf)
    for said in ("居家隔离告知书", "幸福小区3栋2单元501", "张三、张小三", "心理援助热线：12356"):
        assert said in text, said
    _png, dark = page_png(pdf)
    assert dark > 20_000
