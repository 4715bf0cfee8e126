"""A report for the channels (the daily report, 每日报告), carried by the outbox like an alert.

Its outbox rows have ``alert_id`` ``daily:<day>`` (no alert has such an id, so no ack cancels
them and no alert status makes them moot) and a body of :class:`ReportNotice`'s JSON: a title
and a short Chinese text for people (group bots, SMS) and the report's JSON for a generic
webhook. The channels render it with ``send_report``/``send_text``; the outbox retries it as it
retries any notice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.store.records import OutboxItem
from gateway.store.reports import REPORT_PREFIX


@dataclass(frozen=True, slots=True)
class ReportNotice:
    """One report for one channel (or one phone).

    Attributes:
        key: What it is, ``daily:2026-11-23``; sent as ``X-Isogate-Alert-Id`` so that a
            receiver drops a retried copy as it drops an alert's.
        title: A few words (a DingTalk markdown title).
        text: The summary people read, in Chinese, without names or addresses.
        report: The report's JSON, the body a generic webhook gets.
        phone: For SMS, the number to send the text to.
    """

    key: str
    title: str
    text: str
    report: dict[str, Any]
    phone: str | None = None

    def to_json(self) -> str:
        """The notice as the outbox stores it."""
        doc = {
            "report_key": self.key,
            "title": self.title,
            "text": self.text,
            "report": self.report,
            "phone": self.phone,
        }
        return json.dumps(doc, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReportNotice:
        """Read a notice written by ``to_json``.

        Raises:
            ValueError: not a report notice.
        """
        try:
            d = json.loads(text)
            return cls(d["report_key"], d["title"], d["text"], d["report"], d.get("phone"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored report notice: {exc!r}") from exc


def is_report(item: OutboxItem) -> bool:
    """Whether an outbox item carries a report rather than an alert."""
    return item.alert_id.startswith(REPORT_PREFIX)
