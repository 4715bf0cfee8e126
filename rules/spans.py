"""Spans of the day, ``HH:MM-HH:MM``: reading windows and daily shifts."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_serializer

_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class DailySpan(BaseModel):
    """A span of the day, ``HH:MM-HH:MM``; an end before the start runs past midnight."""

    model_config = ConfigDict(frozen=True)
    start: time
    end: time  # 24:00 is stored as 00:00 of the next day
    text: str

    @classmethod
    def parse(cls, text: str) -> DailySpan:
        """Parse ``06:00-10:00``; raises ValueError with the text on a bad span."""
        m = _SPAN.match(text.strip())
        if not m:
            raise ValueError(f"{text!r} is not a daily span HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 != 0:
            raise ValueError(f"{text!r}: 24:xx is not a time")
        start, end = time(h1, m1), time(h2 % 24, m2)
        if start == end and not (h1 == m1 == m2 == 0 and h2 == 24):
            raise ValueError(f"{text!r} is empty")
        return cls(start=start, end=end, text=text.strip())

    @model_serializer
    def _as_text(self) -> str:
        return self.text

    def contains(self, t: time) -> bool:
        """Whether a local time of day falls in the span (start inclusive, end exclusive)."""
        if self.start == self.end:  # 00:00-24:00, the whole day
            return True
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def span_of(value: object) -> object:
    """A span from its text (a validator's ``before`` step); anything else as it is."""
    return DailySpan.parse(value) if isinstance(value, str) else value


SpanField = Annotated[DailySpan, Field(description="HH:MM-HH:MM")]
