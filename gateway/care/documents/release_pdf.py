"""The release report (解除报告单) as an A4 PDF: the same sections as its HTML page."""

from __future__ import annotations

from gateway.care.documents.fonts import CjkFont
from gateway.care.documents.pdf import Sheet
from gateway.care.documents.release import ReleaseReport
from rules.slots import CheckState, Slot


def release_pdf(r: ReleaseReport, font: CjkFont) -> bytes:
    """The release report as an A4 PDF, dated at the release."""
    pdf = Sheet(
        font,
        f"解除隔离报告单 {r.household_id}",
        f"解除隔离报告单 · {r.address} · {r.fmt(r.period_start, '%Y-%m-%d')}",
        r.released_at,
    )
    pdf.title_block(r.community, "解除隔离报告单")
    pdf.facts(
        [
            ("住址", f"{r.address}（{r.household_id}）"),
            ("隔离人员", "、".join(name for _, name in r.residents)),
            ("隔离期", f"{r.fmt(r.period_start)} 至 {r.fmt(r.period_end)}"),
            ("解除时间", f"{r.fmt(r.released_at)}，门磁由 {r.seal_removed_by} 拆除"),
        ]
    )

    pdf.heading("体温监测表")
    pdf.para(
        f"每日测温时段：{'、'.join(r.windows)}；体温 ≥ {r.fever_celsius}°C 为发热（标红）。",
        size=9.5,
    )
    col = (pdf.epw - 20) / max(1, len(r.windows))
    for rid, name in r.residents:
        total, missed = r.slot_count(rid)
        pdf.bold(11)
        pdf.cell(0, 8, f"{name}    共 {total} 次，漏测 {missed} 次", new_x="LMARGIN", new_y="NEXT")
        rows = [
            [day.strftime("%m-%d"), *(_slot(r, s) for s in cells)] for day, cells in r.rows_of(rid)
        ]
        pdf.grid(("日期", *r.windows), rows, (20, *([col] * len(r.windows))), size=9)
    if r.outside:
        said = "；".join(
            f"{r.name(x.resident)} {r.fmt(x.at, '%m-%d %H:%M')} {x.celsius:.1f}°C"
            for x in r.outside
        )
        pdf.para(f"时段外测量：{said}", size=9)

    pdf.heading("告警及处置")
    if r.alerts:
        rows_a: list[list[str | tuple[str, bool]]] = []
        for a in r.alerts:
            outcome = [a.status]
            if a.acked_by:
                outcome.append(f"确认：{a.acked_by} {r.fmt(a.acked_at, '%m-%d %H:%M')}")
            if a.resolved_at:
                who = a.resolved_by or "系统"
                outcome.append(f"处置：{who} {r.fmt(a.resolved_at, '%m-%d %H:%M')}")
            if a.note:
                outcome.append(f"说明：{a.note}")
            handled = "\n".join(
                f"{h.by} {h.action} {r.fmt(h.at, '%m-%d %H:%M')}" for h in a.handled
            )
            message = a.message + (f"（{a.count} 次）" if a.count > 1 else "")
            rows_a.append(
                [
                    r.fmt(a.raised_at, "%m-%d %H:%M"),
                    a.title,
                    message,
                    "\n".join(outcome),
                    handled or "—",
                ]
            )
        pdf.grid(("时间", "类型", "内容", "结果", "经办"), rows_a, (18, 16, 50, 54, 42), size=8.5)
    else:
        pdf.para("隔离期间无告警。")

    pdf.heading("上门与服务")
    if r.visits:
        pdf.grid(
            ("时间", "事由", "陪同", "登记"),
            [
                (
                    f"{r.fmt(v.start, '%m-%d %H:%M')}–{r.fmt(v.end, '%H:%M')}",
                    v.reason,
                    v.escort or "—",
                    v.by or "登记表",
                )
                for v in r.visits
            ],
            (45, 45, 45, 45),
        )
    else:
        pdf.para("无上门记录。")
    pdf.para(
        f"住户主动报备开门 {r.prereports} 次；申请生活服务 {r.services} 次，"
        f"已办结 {r.services_done} 次。"
    )
    handed = "；".join(f"{r.fmt(h.at)} {h.by}" for h in r.receipts) or "未登记"
    pdf.para(f"告知书送达：{handed}")

    pdf.heading("签字")
    pdf.grid(
        ("职责", "姓名", "时间", "意见", "签名"),
        [(s.role, s.name, r.fmt(s.at), s.note or "", "\n") for s in r.signoffs],
        (46, 24, 32, 48, 30),
        size=10,
    )
    return pdf.render()


def _slot(r: ReleaseReport, s: Slot | None) -> str | tuple[str, bool]:
    """One slot's cell: its readings or 漏测, and the symptom check; red for a miss, a fever or
    a symptom."""
    if s is None:
        return "—"
    lines = ["漏测"] if s.missed else []
    lines += [f"{x.celsius:.1f}°C {r.fmt(x.at, '%H:%M')}" for x in s.readings]
    if s.check_state is CheckState.DONE:
        lines.append(r.symptom_text(s.symptoms))
    elif s.check_state is CheckState.MISSED:
        lines.append("未自查")
    fever = any(x.celsius >= r.fever_celsius for x in s.readings)
    return "\n".join(lines), s.missed or fever or bool(s.symptoms)
