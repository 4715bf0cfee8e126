"""Signed links in messages: an SMS carries the alert page (which shows the snapshot) rather
than two links; a group message carries both; the page link survives the outbox's JSON."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from gateway.notify.channels.base import Notification
from gateway.notify.channels.text import markdown_text, plain_text, sms_text
from tests.samples import ALERT_ID, BREACH

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = "https://gw.example.cn"
SIGNED = "?exp=1763920325&sig=" + "A" * 43
LINKED = replace(
    BREACH,
    snapshot_url=f"/api/v1/alerts/{ALERT_ID}/snapshot{SIGNED}",
    alert_url=f"/l/alert/{ALERT_ID}{SIGNED}",
)


def test_an_sms_carries_the_signed_alert_page_instead_of_the_snapshot():
    """One link, absolute, with its signature; the unsigned snapshot path is not there."""
    text = sms_text(LINKED, tz=SHANGHAI, base_url=BASE)
    assert f"详情 {BASE}/l/alert/{ALERT_ID}{SIGNED}" in text
    assert "/snapshot" not in text


def test_a_group_message_carries_both_signed_links():
    """Markdown and plain text: the snapshot and the alert page, each signed."""
    md = markdown_text(LINKED, SHANGHAI, BASE)
    assert f"[查看快照]({BASE}/api/v1/alerts/{ALERT_ID}/snapshot{SIGNED})" in md
    assert f"[打开告警]({BASE}/l/alert/{ALERT_ID}{SIGNED})" in md
    assert f"告警：{BASE}/l/alert/{ALERT_ID}{SIGNED}" in plain_text(LINKED, SHANGHAI, BASE)


def test_without_a_page_link_messages_are_as_before():
    """A notification of an older row (no alert_url) still links its snapshot in the SMS."""
    assert BREACH.alert_url is None
    assert f"快照 {BASE}/api/v1/alerts/{ALERT_ID}/snapshot" in sms_text(
        BREACH, tz=SHANGHAI, base_url=BASE
    )
    assert "打开告警" not in markdown_text(BREACH, SHANGHAI, BASE)


def test_the_page_link_survives_the_outbox():
    """to_json / from_json keep alert_url."""
    assert Notification.from_json(LINKED.to_json()).alert_url == LINKED.alert_url
