"""The human text of alerts: SMS and group-bot markdown, and SMS splitting."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.notify.channels.text import (
    markdown_text,
    markdown_title,
    plain_text,
    sms_text,
    split_sms,
    ucs2_safe,
    utf16_len,
)
from rules.alerts import AlertStatus, AlertType, Severity
from tests.samples import ALERT_ID, BREACH

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = "http://10.0.0.5:8000"


def test_breach_sms_says_what_where_when_and_links_the_snapshot() -> None:
    """A breach SMS carries the severity, type, local time, message, snapshot link and a call."""
    text = sms_text(BREACH, tz=SHANGHAI, base_url=BASE)
    assert text.startswith("【isogate】紧急·违规开门 ")
    assert "11-23 03:12" in text
    assert BREACH.message in text
    assert f"快照 {BASE}/api/v1/alerts/{ALERT_ID}/snapshot" in text
    assert text.endswith("请登录控制台确认")
    # The rules' message already names the address: it is not repeated.
    assert text.count("幸福小区3栋2单元501") == 1


def test_sms_names_the_address_when_the_message_does_not() -> None:
    """A message without the address still tells where it happened."""
    fever = replace(
        BREACH,
        type=AlertType.FEVER,
        severity=Severity.HIGH,
        message="张三体温 38.2°C",
        snapshot_url=None,
    )
    text = sms_text(fever, tz=SHANGHAI, base_url=BASE)
    assert text.startswith("【isogate】重要·发热 幸福小区3栋2单元501 11-23 03:12 张三体温 38.2°C")
    assert "快照" not in text


def test_resolved_update_says_so_and_asks_for_nothing() -> None:
    """An update of a resolved alert leads with 已解除 and does not ask to acknowledge."""
    text = sms_text(replace(BREACH, status=AlertStatus.RESOLVED), tz=SHANGHAI, base_url=BASE)
    assert text.startswith("【isogate】已解除·违规开门")
    assert "确认" not in text


def test_escalated_alert_shows_its_level() -> None:
    """An escalation tells the next person in the chain which step this is."""
    n = replace(BREACH, status=AlertStatus.ESCALATED, escalation_level=2)
    assert sms_text(n, tz=SHANGHAI, base_url=BASE).startswith("【isogate】紧急·违规开门(升级2)")
    assert "已升级至第2级" in markdown_text(n, SHANGHAI, BASE)


def test_absolute_snapshot_url_is_kept_as_it_is() -> None:
    """A snapshot already stored with a full URL is not prefixed again."""
    n = replace(BREACH, snapshot_url="https://cdn.example.org/s/1.jpg")
    assert "快照 https://cdn.example.org/s/1.jpg" in sms_text(n, tz=SHANGHAI, base_url=BASE)


def test_time_is_shown_in_the_site_zone_whatever_the_input_offset() -> None:
    """The same instant given with another offset prints the same local time."""
    other = BREACH.raised_at.astimezone(timezone(timedelta(hours=-5)))
    n = replace(BREACH, raised_at=other)
    assert sms_text(n, tz=SHANGHAI, base_url=BASE) == sms_text(BREACH, tz=SHANGHAI, base_url=BASE)


def test_markdown_for_group_bots_has_every_fact_and_a_link() -> None:
    """The markdown names address, household, full time, device, recipient and links the frame."""
    md = markdown_text(BREACH, SHANGHAI, BASE)
    assert md.startswith("### 【isogate】紧急·违规开门\n")
    assert "**地址**：幸福小区3栋2单元501（h1）" in md
    assert "**时间**：2026-11-23 03:12:05" in md
    assert "**设备**：door-h1" in md
    assert "**通知**：赵致远" in md
    assert f"[查看快照]({BASE}/api/v1/alerts/{ALERT_ID}/snapshot)" in md
    assert markdown_title(BREACH) == "【isogate】紧急·违规开门 幸福小区3栋2单元501"
    plain = plain_text(BREACH, SHANGHAI, BASE)
    assert "**" not in plain
    assert "地址：幸福小区3栋2单元501（h1）" in plain


def test_naive_time_is_refused() -> None:
    """A notification with a naive time cannot be built: its local time would be a guess."""
    with pytest.raises(ValueError, match="aware"):
        replace(BREACH, raised_at=datetime(2026, 11, 23, 3, 12))


def test_short_sms_is_one_part_unchanged() -> None:
    """A text within 70 units is sent as it is, without a part prefix."""
    text = "【isogate】紧急·违规开门 11-23 03:12"
    assert split_sms(text) == [text]
    assert split_sms("   ") == []


def test_breach_sms_splits_into_numbered_parts_of_at_most_70_units() -> None:
    """The real breach text becomes (1/n)... parts, each one UCS2 message, the link intact."""
    text = sms_text(BREACH, tz=SHANGHAI, base_url=BASE)
    parts = split_sms(text)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 70 for p in parts)
    link = f"{BASE}/api/v1/alerts/{ALERT_ID}/snapshot"
    # The 67-character link does not fit beside a prefix, so it travels alone and whole.
    assert link in parts
    numbered = [(i, p) for i, p in enumerate(parts, 1) if p != link]
    assert [p[: p.index(")") + 1] for _, p in numbered] == [
        f"({i}/{len(parts)})" for i, _ in numbered
    ]


def test_chinese_text_breaks_after_punctuation() -> None:
    """Without spaces, a part ends after a Chinese comma rather than mid-phrase."""
    text = "门磁告警，" + "幸福小区三栋二单元五零一住户开门" * 3 + "，" + "非授权时段请立即处置" * 3
    parts = split_sms(text)
    assert all(utf16_len(p) <= 70 for p in parts)
    assert parts[0].endswith("，")


def test_characters_outside_the_bmp_count_two_units() -> None:
    """An emoji takes two UTF-16 units; 35 of them fill one message exactly."""
    assert utf16_len("😷") == 2
    assert split_sms("😷" * 35) == ["😷" * 35]
    parts = split_sms("😷" * 36)
    assert len(parts) == 2
    assert all(utf16_len(p) <= 70 for p in parts)
    assert ucs2_safe("发热😷") == "发热\ufffd"


def test_many_parts_get_wider_prefixes_and_still_fit() -> None:
    """Ten or more parts are numbered (01/12)-wide and each part still fits in 70 units."""
    parts = split_sms("告" * 800)
    assert len(parts) >= 10
    assert parts[0].startswith(f"(1/{len(parts)})")
    assert all(utf16_len(p) <= 70 for p in parts)
    assert "".join(re.sub(r"^\(\d+/\d+\)", "", p) for p in parts) == "告" * 800


def test_too_small_limit_is_refused() -> None:
    """A limit that cannot hold a prefix and text is a programming error."""
    with pytest.raises(ValueError, match="limit"):
        split_sms("告" * 20, limit=5)


_TEXT = st.text(
    alphabet=st.sampled_from(["告", "警", "，", " ", "a", "1", "😷", "。", "/", ":"]), max_size=400
)


@given(text=_TEXT, limit=st.integers(min_value=10, max_value=160))
def test_split_parts_fit_and_lose_nothing_but_break_spaces(text: str, limit: int) -> None:
    """Every part fits; removing prefixes and whitespace, the parts spell the original text."""
    parts = split_sms(text, limit)
    assert all(utf16_len(p) <= limit for p in parts)
    assert all(p.strip() for p in parts)
    bodies = parts if len(parts) == 1 else [re.sub(r"^\(\d+/\d+\)", "", p) for p in parts]
    assert re.sub(r"\s", "", "".join(bodies)) == re.sub(r"\s", "", text)


@given(
    before=st.text(alphabet="告警，", min_size=30, max_size=120),
    path=st.text(alphabet="abcdef0123456789/", min_size=1, max_size=30),
)
def test_a_link_that_fits_in_a_part_is_never_cut(before: str, path: str) -> None:
    """A link shorter than a part arrives whole, so it can be tapped."""
    link = f"http://10.0.0.5:8000/{path}"
    parts = split_sms(f"{before} 快照 {link} 请确认")
    assert any(link in p for p in parts)
