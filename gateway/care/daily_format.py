"""The daily report as people read it: a CSV for Excel, and the short text group chats and SMS
get (counts per community only: no address, no name leaves the gateway that way)."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from gateway.care.daily import CommunityTotals, DailyReport, HouseholdRow

COLUMNS: tuple[tuple[str, str], ...] = (
    ("community", "社区"),
    ("household", "户号"),
    ("address", "地址"),
    ("readings", "测温次数"),
    ("readings_missed", "漏测次数"),
    ("symptom_checks", "症状自查次数"),
    ("symptom_checks_missed", "未自查次数"),
    ("symptoms_reported", "报告症状次数"),
    ("fevers", "发热告警"),
    ("breaches", "违规开门"),
    ("breaches_resolved", "开门已解除"),
    ("breaches_acknowledged", "开门已确认"),
    ("breaches_open", "开门未处理"),
    ("breach_outcomes", "开门处置"),
    ("devices_offline", "离线设备"),
    ("device_offline_alerts", "离线告警"),
    ("checkin_due", "上门核实到期"),
    ("checkin_overdue", "上门核实逾期"),
    ("services_requested", "服务请求"),
    ("services_done", "服务完成"),
    ("prereports", "主动报备"),
    ("released", "当日解除隔离"),
)
"""The CSV's columns: the row field each shows, and its header."""

OUTCOME_LABELS = {
    "resolved_with_note": "已解除(有说明)",
    "resolved": "已解除",
    "acknowledged": "已确认",
    "open": "未处理",
}

TOTAL = "合计"
BOM = "\ufeff"
"""Excel takes a CSV for UTF-8 only when it starts with the byte order mark."""


def _cell(row: HouseholdRow, key: str) -> str:
    value = getattr(row, key)
    if key == "breach_outcomes":
        return "；".join(
            " ".join(x for x in (b.at, OUTCOME_LABELS[b.outcome], b.by) if x) for b in value
        )
    if key == "checkin_due":
        return "" if value is None else value[:16].replace("T", " ")
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _total_cells(t: CommunityTotals) -> list[str]:
    cells = {"community": t.community, "household": TOTAL, "address": f"{t.households}户"}
    return [cells.get(key, str(t.sums.get(key, ""))) for key, _ in COLUMNS]


def report_csv(report: DailyReport) -> bytes:
    """The report as CSV (UTF-8 with BOM): a header row, one row per household, then a totals
    row per community."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header in COLUMNS])
    for row in report.rows:
        writer.writerow([_cell(row, key) for key, _ in COLUMNS])
    for totals in report.totals():
        writer.writerow(_total_cells(totals))
    return (BOM + out.getvalue()).encode("utf-8")


def report_title(report: DailyReport) -> str:
    """``每日报告 2026-11-23``."""
    return f"每日报告 {report.day.isoformat()}"


def report_text(report: DailyReport, tz: ZoneInfo) -> str:
    """The summary for people: one paragraph per community, counts only."""
    until = report.generated_at.astimezone(tz).strftime("%H:%M")
    lines = [f"{report_title(report)}（截至{until}）"]
    for t in report.totals():
        s = t.sums
        lines.append(
            f"{t.community}：隔离{t.households}户；"
            f"测温{s['readings']}次，漏测{s['readings_missed']}次；"
            f"症状自查{s['symptom_checks']}次，未自查{s['symptom_checks_missed']}次，"
            f"报告症状{s['symptoms_reported']}次；发热{s['fevers']}次；"
            f"违规开门{s['breaches']}次（已解除{s['breaches_resolved']}，"
            f"已确认{s['breaches_acknowledged']}，未处理{s['breaches_open']}）；"
            f"离线设备{s['devices_offline']}台；上门核实逾期{s['checkin_overdue']}户；"
            f"服务请求{s['services_requested']}件，完成{s['services_done']}件；"
            f"主动报备{s['prereports']}次；解除隔离{s['released']}户。"
        )
    if not report.rows:
        lines.append("当日无隔离住户。")
    return "\n".join(lines)
