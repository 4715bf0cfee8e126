"""The human text of an alert: who, where, what, when and the snapshot link, in Chinese.

Pure functions only: the same notification, zone and base URL always give the same text.

SMS length: the modem sends UCS2 (DCS 8), where one message holds 70 UTF-16 code units. A longer
text is split into independent single messages, each prefixed ``(1/3)``, ``(2/3)``... and each at
most 70 units, rather than one concatenated message: concatenation needs PDU mode, and separate
parts still arrive (and read) when a handset or SMSC mishandles concatenation. Parts break at a
space or after Chinese punctuation where possible and never inside a link that fits a message
(a link too long for a prefixed part is sent alone, unprefixed).
Characters outside the Basic Multilingual Plane count two units; ``ucs2_safe`` replaces them for
modems and handsets that only know true UCS2.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from gateway.notify.channels.base import Notification
from rules.alerts import AlertStatus, AlertType, Severity

SMS_LIMIT = 70
"""UTF-16 code units in one single-part UCS2 message."""

BRAND = "【isogate】"
"""Leads every text; group bots can use it as their keyword filter."""

TITLES: dict[AlertType, str] = {
    AlertType.DOOR_BREACH: "违规开门",
    AlertType.DOOR_LEFT_OPEN: "门未关",
    AlertType.TAMPER: "设备被拆或遮挡",
    AlertType.FEVER: "发热",
    AlertType.MISSED_READING: "未按时测温",
    AlertType.DEVICE_OFFLINE: "设备离线",
    AlertType.LOW_BATTERY: "电量低",
    AlertType.MOTION_AT_DOOR: "门口有人活动",
    AlertType.SYMPTOM: "症状上报",
    AlertType.NO_WATCHER_ON_DUTY: "无人值守",
}

SEVERITY_LABELS: dict[Severity, str] = {
    Severity.CRITICAL: "紧急",
    Severity.HIGH: "重要",
    Severity.WARNING: "提醒",
    Severity.INFO: "通知",
}

_URL = re.compile(r"https?://\S+")
# A part may end right after these; the break costs no character.
_BREAK_AFTER = frozenset("，。；、：！？,;:!?）)】")


def status_label(n: Notification) -> str:
    """The lifecycle word for a message ("" for a fresh alert)."""
    if n.status is AlertStatus.ESCALATED:
        return f"已升级至第{n.escalation_level}级"
    if n.status is AlertStatus.ACKNOWLEDGED:
        return "已确认"
    if n.status is AlertStatus.RESOLVED:
        return "已解除"
    return ""


def headline(n: Notification) -> str:
    """Severity, type and status in a few characters: ``紧急·违规开门``, ``已解除·违规开门``."""
    lead = status_label(n) if n.status in (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED) else None
    head = f"{lead or SEVERITY_LABELS[n.severity]}·{TITLES[n.type]}"
    if n.status is AlertStatus.ESCALATED:
        head += f"(升级{n.escalation_level})"
    return head


def local_time(n: Notification, tz: tzinfo, fmt: str = "%m-%d %H:%M") -> str:
    """When it was raised, in the site's zone."""
    return n.raised_at.astimezone(tz).strftime(fmt)


def _absolute(url: str | None, base_url: str) -> str | None:
    if not url:
        return None
    if url.startswith(("http://", "https://")):
        return url
    return f"{base_url.rstrip('/')}/{url.lstrip('/')}"


def snapshot_link(n: Notification, base_url: str) -> str | None:
    """The absolute snapshot URL, or None when the alert has no snapshot."""
    return _absolute(n.snapshot_url, base_url)


def alert_link(n: Notification, base_url: str) -> str | None:
    """The absolute URL of the alert's page (a signed link), or None without one."""
    return _absolute(n.alert_url, base_url)


def _where(n: Notification) -> str:
    # The rules usually name the address in the message already; SMS units are precious.
    if n.address and n.address in n.message:
        return ""
    return n.address or f"住户{n.household_id}"


def sms_text(n: Notification, *, tz: tzinfo, base_url: str) -> str:
    """The one-line SMS text of a notification, before splitting.

    Example: ``【isogate】紧急·违规开门 11-23 03:12 门磁: 幸福小区3栋2单元501 03:12 开门，非授权时段
    快照 http://host/api/v1/alerts/01J.../snapshot 请登录控制台确认``.

    Args:
        n: The notification.
        tz: The site's time zone.
        base_url: The console's public base URL, prefixed to relative snapshot paths.

    Returns:
        The text; split it with ``split_sms`` before sending.
    """
    pieces = [f"{BRAND}{headline(n)}", _where(n), local_time(n, tz), n.message.strip()]
    # The alert's page shows the snapshot too: one link costs fewer SMS parts than two.
    page = alert_link(n, base_url)
    link = snapshot_link(n, base_url)
    if page:
        pieces.append(f"详情 {page}")
    elif link:
        pieces.append(f"快照 {link}")
    if n.status.is_active:
        pieces.append("请登录控制台确认")
    return " ".join(p for p in pieces if p)


def plain_text(n: Notification, tz: tzinfo, base_url: str) -> str:
    """A multi-line plain text for group bots' ``text`` messages."""
    lines = [f"{BRAND}{headline(n)}", *_detail_lines(n, tz, base_url, markdown=False)]
    return "\n".join(lines)


def markdown_title(n: Notification) -> str:
    """The title a group bot shows in the chat list and the notification."""
    return f"{BRAND}{headline(n)} {n.address or n.household_id}"


def markdown_text(n: Notification, tz: tzinfo, base_url: str) -> str:
    """The markdown body for WeCom and DingTalk group bots.

    Uses only the subset both render: a heading, bold labels, a link. The rules' message is
    inserted as it is; it comes from our own templates, not from residents.
    """
    return "\n".join([f"### {BRAND}{headline(n)}", *_detail_lines(n, tz, base_url, markdown=True)])


def _detail_lines(n: Notification, tz: tzinfo, base_url: str, *, markdown: bool) -> list[str]:
    def field(label: str, value: str) -> str:
        return f"**{label}**：{value}" if markdown else f"{label}：{value}"

    lines = [
        field("地址", f"{n.address}（{n.household_id}）" if n.address else n.household_id),
        field("时间", local_time(n, tz, "%Y-%m-%d %H:%M:%S")),
        field("详情", n.message.strip()),
    ]
    if n.device_id:
        lines.append(field("设备", n.device_id))
    lines.append(field("状态", status_label(n) or "待处理"))
    if n.recipient_name:
        lines.append(field("通知", n.recipient_name))
    link = snapshot_link(n, base_url)
    if link:
        lines.append(f"[查看快照]({link})" if markdown else f"快照：{link}")
    page = alert_link(n, base_url)
    if page:
        lines.append(f"[打开告警]({page})" if markdown else f"告警：{page}")
    if n.status.is_active:
        lines.append("请登录控制台确认处置。")
    # Two trailing spaces are a hard line break in DingTalk's markdown; WeCom breaks on "\n".
    return [line + ("  " if markdown else "") for line in lines]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of a UCS2 SMS."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def ucs2_safe(text: str) -> str:
    """Replace characters outside the BMP (emoji, rare CJK) with U+FFFD, which UCS2 can carry."""
    return "".join(ch if ord(ch) <= 0xFFFF else "\ufffd" for ch in text)


def _fit(text: str, room: int) -> int:
    """How many code points of ``text`` fit in ``room`` UTF-16 units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            return i
    return len(text)


def _cut(rest: str, n: int) -> tuple[int, int]:
    """Where the part ending near code point ``n`` ends, and where the next part starts."""
    urls = [m.span() for m in _URL.finditer(rest)]

    def inside_url(i: int) -> bool:
        return any(start < i < end for start, end in urls)

    for i in range(n, max(1, n // 2) - 1, -1):
        if inside_url(i):
            continue
        if i < len(rest) and rest[i].isspace():
            return i, i + 1
        if rest[i - 1] in _BREAK_AFTER:
            return i, i
    for start, end in urls:
        if 0 < start < n < end:
            return start, start
    return n, n


def _chunks(text: str, room: int, limit: int) -> list[tuple[str, bool]]:
    """Parts of at most ``room`` units, and whether each must go without a prefix."""
    parts: list[tuple[str, bool]] = []
    rest = text.strip()
    while rest:
        if utf16_len(rest) <= room:
            parts.append((rest, False))
            break
        link = _URL.match(rest)
        if link and room < utf16_len(link.group()) <= limit:
            # A link that fits a whole message but not beside the prefix goes alone and bare:
            # a link cut in two cannot be tapped, and a lone link needs no numbering to be read.
            parts.append((link.group(), True))
            rest = rest[link.end() :].lstrip()
            continue
        end, nxt = _cut(rest, _fit(rest, room))
        part = rest[:end].rstrip()
        if part:
            parts.append((part, False))
        rest = rest[nxt:].lstrip()
    return parts


def split_sms(text: str, limit: int = SMS_LIMIT) -> list[str]:
    """Split a text into SMS parts of at most ``limit`` UTF-16 units each.

    A text that fits is returned alone and unchanged (but stripped). A longer one becomes parts
    prefixed ``(i/n)``; the prefix counts against the limit. A link too long to share a part with
    the prefix, but short enough for a message, is sent alone without a prefix (it keeps its
    number in the count), so that it stays in one piece.

    Args:
        text: The text, e.g. from ``sms_text``.
        limit: Units per message; 70 for a single UCS2 message.

    Returns:
        The parts in order; empty for an empty text.

    Raises:
        ValueError: ``limit`` is too small to carry a prefix and some text.
    """
    if limit < 10:
        raise ValueError("split_sms needs a limit of at least 10 units")
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    digits = 1
    while True:
        # "(i/n)" with n of ``digits`` digits: 3 characters of punctuation plus both numbers.
        room = limit - (3 + 2 * digits)
        parts = _chunks(text, room, limit)
        if len(parts) < 10**digits:
            total = len(parts)
            return [
                part if bare else f"({i}/{total}){part}" for i, (part, bare) in enumerate(parts, 1)
            ]
        digits += 1
