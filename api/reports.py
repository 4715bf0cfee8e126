"""The daily report (每日报告, SPEC §6): ``GET /api/v1/reports/daily?date=YYYY-MM-DD``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.audit import audited
from api.context import Authed, Ctx, errors
from gateway.care.daily import HouseholdRow, daily_report
from gateway.care.daily_format import report_csv

router = APIRouter(prefix="/api/v1", tags=["reports"])

CSV = "text/csv"


class CommunityOut(BaseModel):
    """A community's totals: how many households, and the sum of each count of the rows
    (``checkin_overdue`` and ``released``: how many households)."""

    model_config = ConfigDict(extra="allow")
    community: str
    households: int


class DailyReportOut(BaseModel):
    """The report of one local day, as it stands when asked (a past day: as the day ended)."""

    kind: Literal["daily_report"]
    day: str = Field(description="YYYY-MM-DD, the site's local day")
    generated_at: str = Field(json_schema_extra={"format": "date-time"})
    communities: list[CommunityOut]
    rows: list[HouseholdRow] = Field(description="one per household under isolation that day")


_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report; CSV with `Accept: text/csv` or `format=csv`",
        "content": {CSV: {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/reports/daily",
    tags=["reports"],
    response_model=DailyReportOut,
    responses={**_CSV_DOC, **errors(401)},
)
async def daily(
    ctx: Ctx,
    user: Authed,
    request: Request,
    date: Annotated[
        dt.date | None, Query(description="YYYY-MM-DD; today (local) if left out")
    ] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="instead of Accept")] = None,
) -> Response:
    """The daily report of the households in the caller's scope (supervisors and admins: all).

    JSON: ``day``, ``generated_at``, ``communities`` (totals per community) and ``rows`` (one
    per household under isolation that day): ``readings`` taken; ``readings_missed``: reading
    windows of the day that ended while the household was isolated, per resident with no
    reading in them; ``symptom_checks``, ``symptom_checks_missed``, ``symptoms_reported``;
    ``fevers``; ``breaches`` with ``breaches_resolved``/``_acknowledged``/``_open`` and
    ``breach_outcomes`` (``at`` HH:MM, ``outcome`` resolved_with_note | resolved |
    acknowledged | open, ``by``); ``devices_offline`` at the report's time and
    ``device_offline_alerts`` raised; ``checkin_due`` (local time) and ``checkin_overdue``;
    ``services_requested``, ``services_done``; ``prereports``; ``released`` that day.

    CSV (``Accept: text/csv`` or ``format=csv``), UTF-8 with a byte order mark so that Excel
    reads the Chinese: one header row, one row per household, one totals row per community
    (户号 ``合计``, 地址 ``N户``). Columns: 社区 community, 户号 household, 地址 address,
    测温次数 readings, 漏测次数 readings_missed, 症状自查次数 symptom_checks, 未自查次数
    symptom_checks_missed, 报告症状次数 symptoms_reported, 发热告警 fevers, 违规开门 breaches,
    开门已解除 breaches_resolved, 开门已确认 breaches_acknowledged, 开门未处理 breaches_open,
    开门处置 breach_outcomes (``12:00 已确认 p1``, ``；`` between breaches), 离线设备
    devices_offline, 离线告警 device_offline_alerts, 上门核实到期 checkin_due (``YYYY-MM-DD
    HH:MM``), 上门核实逾期 checkin_overdue (是/否), 服务请求 services_requested, 服务完成
    services_done, 主动报备 prereports, 当日解除隔离 released (是/否).

    A day after today answers 422. The read is audited (``read_daily_report``).
    """
    directory = ctx.desk.directory
    now = ctx.now()
    today = now.astimezone(directory.tz).date()
    day = date or today
    if day > today:
        raise HTTPException(422, f"{day.isoformat()} is after today ({today.isoformat()})")
    scope = user.households(directory)
    report = await daily_report(ctx.store, directory, day, now, scope)
    await audited(
        ctx,
        user,
        "read_daily_report",
        target=day.isoformat(),
        detail=f"{len(report.rows)} households",
    )
    if format == "csv" or (format is None and CSV in request.headers.get("accept", "")):
        name = f"daily-{day.isoformat()}.csv"
        return Response(
            report_csv(report),
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(report.to_json(directory.tz))
