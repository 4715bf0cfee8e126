"""What the console's paperwork routes (visits, services, sign-offs) share: the care desk, its
refusals as HTTP answers, staff names, and the documented answers of a refused action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException
from pydantic import Field

from api.context import ApiContext
from api.models import ErrorOut
from gateway.alerting.operations import DatabaseBusyError
from gateway.care.desk import CareDesk
from rules.care import CareRefusedError

T = TypeVar("T")

REFUSED: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorOut,
        "description": "the rules refuse it now: done already, not due, out of turn, blocked",
    }
}
"""The OpenAPI answer of a paperwork action the rules refuse (beside ``errors(...)``)."""


def care_desk(ctx: ApiContext) -> CareDesk:
    """The gateway's care desk; 503 when this gateway runs without one."""
    if ctx.care is None:
        raise HTTPException(503, "the isolation's paperwork is not available on this gateway")
    return ctx.care


async def cared(
    action: Awaitable[T],
    refused: Callable[[CareRefusedError], HTTPException] | None = None,
    busy: str | None = None,
) -> T:
    """The result of a care desk operation; its refusal as its HTTP answer, 503 when the
    database did not take the change in time.

    Args:
        action: The care desk's operation.
        refused: The answer to a refusal, for a page that words it itself (default: the
            refusal's code and its text).
        busy: The 503's text, likewise (default: the database's own).
    """
    try:
        return await action
    except CareRefusedError as exc:
        raise (refused(exc) if refused else HTTPException(exc.code, str(exc))) from None
    except DatabaseBusyError as exc:
        raise HTTPException(503, busy or str(exc)) from None


def staff_name(ctx: ApiContext, staff_id: str | None) -> str | None:
    """A staff member's name from the site, or None (unknown id, or none given)."""
    if staff_id is None:
        return None
    person = ctx.desk.directory.staff.get(staff_id)
    return person.name if person is not None else None


def iso_time(description: str | None = None) -> Any:
    """A model's time field: ISO 8601 text in the site's zone."""
    return Field(description=description, json_schema_extra={"format": "date-time"})
