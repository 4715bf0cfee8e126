"""The notice (告知书) handed to a household: its printable page and PDF with the QR code of the
household's pre-report page, who may get it (it carries the link's secret), and its receipt."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from gateway.clock import FakeClock
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    at_local,
    fake_time_gateway,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)
from tests.integration.access_support import api, token_for
from tests.pdf_support import page_png, pdf_text, save_artifact

NOW = at_local("2026-11-20 09:30")


def notice_doc() -> dict[str, Any]:
    """The test community with a name, a hotline, a fourteen-day period for h1 and phones."""
    doc = site_doc(door_debounce_s=0)
    doc["community"] = "幸福小区社区"
    doc["hotline"] = "12356"
    doc["households"][0]["isolation"] = {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"}
    doc["staff"][5]["phone"] = "+8613800000005"  # the doctor
    return doc


def _qr(png: bytes) -> str:
    """What the QR code on a rendered page says ("" when no reader finds one).

    The code holds a random secret, so every run draws another, and each of OpenCV's two
    readers misses some (of 1,500 random codes of this size, 15 and 5; none both): the second
    is asked when the first reads nothing.
    """
    grey = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    for reader in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
        text, _points, _ = reader.detectAndDecode(grey)
        if text:
            return str(text)
    return ""


async def test_the_notice_has_the_period_rules_staff_hotline_and_the_pre_report_qr(
    tmp_path: Path, broker: BrokerUnderTest
):
    """A watcher prints h1's notice: the period, the reading times, the rules, who to call, the
    hotline, a signature line, and a QR code (in the page and the PDF) that opens the page of h1
    that the secret names; each read is audited."""
    async with fake_time_gateway(tmp_path, broker, NOW, notice_doc()) as (h, _clock):
        w1 = await token_for(h, "w1", "watcher")
        async with api(h, w1) as c:
            page = await c.get("/api/v1/households/h1/notice")
            pdf = await c.get("/api/v1/households/h1/notice.pdf")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-store"
        csp = page.headers["content-security-policy"]
        assert "style-src 'self'" in csp and "unsafe-inline" not in csp
        html = page.text
        assert "<script" not in html and "style=" not in html and "<style" not in html
        assert '<link rel="stylesheet" href="/static/documents.css">' in html
        for said in (
            "幸福小区社区",
            "居家隔离告知书",
            "幸福小区3栋2单元501",
            "张三",
            "2026-11-20 00:00 至 2026-12-04 00:00（共 14 天）",
            "早间(06:00-10:00)、晚间(17:00-21:00)",
            "不接待来访人员",
            "门磁和摄像头",
            "每天最多 6 次，每次报备后 10 分钟内开门",
            "每 3 天上门核实",
            "严格保密",
            "赵致远",
            "+8613800000002",
            "王医生",
            "+8613800000005",
            "黄主任",
            "李伟",
            "每日 00:00-08:00",
            "心理援助热线：<strong>12356</strong>",
            "住户签字",
            "尚未登记送达签收",
        ):
            assert said in html, said
        url = re.search(r'<span class="url">([^<]+)</span>', html)
        assert url is not None
        base = f"http://127.0.0.1:{h.running.http_port}/r/"
        assert url.group(1).startswith(base)
        secret = url.group(1).removeprefix(base)
        assert h.running.care is not None and h.running.care.household_for(secret) == "h1"
        assert re.search(r'<svg viewBox="0 0 \d+ \d+" class="qr"><path', html)

        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = pdf_text(pdf.content)
        for said in ("居家隔离告知书", "幸福小区社区", "严格保密", "热线：12356", "住户签字"):
            assert said in text, said
        png, dark = page_png(pdf.content, scale=3)
        save_artifact("notice-page1.png", page_png(pdf.content)[0])
        assert dark > 20_000
        assert _qr(png) == url.group(1)

        reads = await h.running.store.list_audit(action="notice_read", limit=10)
        assert sorted((e.actor, e.household, e.detail or "") for e in reads) == [
            ("w1", "h1", ""),
            ("w1", "h1", "pdf"),
        ]
        # The link is made once and stays: a second notice shows the same code.
        async with api(h, w1) as c:
            again = await c.get("/api/v1/households/h1/notice")
        assert url.group(1) in again.text


async def test_only_the_staff_who_hand_it_over_get_the_notice(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Its watcher, its officer, a supervisor and an admin get h1's notice; the doctor, the
    technician and another household's officer do not (403); an unknown household is 404."""
    async with fake_time_gateway(tmp_path, broker, NOW, notice_doc()) as (h, _clock):
        for name, role, want in (
            ("w1", "watcher", 200),
            ("p1", "officer", 200),
            ("s1", "supervisor", 200),
            ("admin", "admin", 200),
            ("d1", "doctor", 403),
            ("t1", "technician", 403),
            ("p2", "officer", 403),
        ):
            async with api(h, await token_for(h, name, role)) as c:
                got = await c.get("/api/v1/households/h1/notice")
                assert got.status_code == want, (name, got.text)
                receipt = await c.post("/api/v1/households/h1/notice/receipt")
                assert receipt.status_code == want, (name, receipt.text)
        async with api(h, h.token) as admin:
            assert (await admin.get("/api/v1/households/h9/notice")).status_code == 404
        handed = await h.running.store.notice_receipts("h1")
        assert [r.by for r in handed] == ["w1", "p1", "s1", "admin"]


async def test_the_receipt_is_shown_on_the_notice_with_who_handed_it_over(
    tmp_path: Path, broker: BrokerUnderTest
):
    """The watcher marks the notice handed over: the receipt says who and when, the page says
    so, the store and the audit log keep it."""
    async with fake_time_gateway(tmp_path, broker, NOW, notice_doc()) as (h, _clock):
        async with api(h, await token_for(h, "w1", "watcher")) as c:
            got = await c.post("/api/v1/households/h1/notice/receipt")
            assert got.status_code == 200, got.text
            assert got.json() == {
                "household": "h1",
                "at": "2026-11-20T09:30:00.000+08:00",
                "by": "w1",
                "via": "rest",
            }
            page = await c.get("/api/v1/households/h1/notice")
        assert "已于 2026-11-20 09:30 由 李伟 送达签收" in page.text
        [entry] = await h.running.store.list_audit(action="notice_receipt", limit=10)
        assert (entry.actor, entry.household) == ("w1", "h1")


async def test_without_a_cjk_font_the_pdf_is_refused_saying_what_to_install(
    tmp_path: Path, broker: BrokerUnderTest
):
    """ISOGATE_PDF_FONT naming no usable font: the PDF is a 503 that says so, never a PDF of
    empty boxes; the printable page still works."""
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"not a font")
    settings = unique_settings(tmp_path, broker, pdf_font=not_a_font)
    token = await prepare(settings, notice_doc(), NOW)
    async with running_gateway(settings, broker, FakeClock(NOW), token) as h:
        assert isinstance(h, Harness)
        async with api(h, token) as admin:
            pdf = await admin.get("/api/v1/households/h1/notice.pdf")
            page = await admin.get("/api/v1/households/h1/notice")
    assert pdf.status_code == 503
    assert "ISOGATE_PDF_FONT" in pdf.json()["detail"] and "font.ttf" in pdf.json()["detail"]
    assert page.status_code == 200
