"""What the resident's page is answered: counts and choices, never a name, an address or an id."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Choice(BaseModel):
    """One choice the page offers: the key to send and what the page shows."""

    key: str
    label: str


class InfoOut(BaseModel):
    """What the page needs to draw itself; no name, no address, no history."""

    residents: int = Field(description="how many residents (住户1 … 住户N)")
    isolated: bool = Field(description="under isolation now: announcements and checks work")
    reasons: list[Choice] = Field(description="why an opening is announced")
    symptoms: list[Choice]
    services: list[Choice]
    minutes: int = Field(description="how long an announced opening lasts")
    per_day: int = Field(description="announcements a day")
    remaining: int = Field(description="announcements left today")
    open_until: str | None = Field(description="local HH:MM at which the open window ends")
    reading_window: str | None = Field(description="the reading window now, e.g. 06:00-10:00")
    hotline: str | None = Field(description="心理援助热线")


class AnnouncedOut(BaseModel):
    """An announced opening: the door may open from ``start`` until ``end``."""

    reason: str
    start: str = Field(json_schema_extra={"format": "date-time"})
    end: str = Field(json_schema_extra={"format": "date-time"})
    until: str = Field(description="the end as local HH:MM")
    remaining: int = Field(description="announcements left today")


class CheckedOut(BaseModel):
    """A symptom check taken."""

    resident: int = Field(description="the resident's position on the page (1-based)")
    symptoms: list[str]
    at: str = Field(json_schema_extra={"format": "date-time"})
    alerted: bool = Field(description="a symptom was reported: the doctor has been told")


class RequestedOut(BaseModel):
    """A service request taken."""

    kind: str
    requested_at: str = Field(json_schema_extra={"format": "date-time"})
