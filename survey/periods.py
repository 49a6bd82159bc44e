"""Report and audience periods as people type them: 7d (or 7д), 30d, 2026-10,
01.10.2026..31.10.2026 or 2026-10-01..2026-10-31, all (or всё)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_DAYS = re.compile(r"^(\d{1,4})\s*(d|д|дн|дней|days?)$")
_ALL = {"all", "все", "всё", "весь"}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days, both ends included; `first` None means since the beginning."""

    first: date | None
    last: date

    def label(self) -> str:
        if self.first is None:
            return f"…{self.last.isoformat()}"
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def parse_date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise PeriodError(f"{text!r} is not a date")


def parse_period(text: str | None, today: date, default: str = "30d") -> Period:
    said = (text or default).strip().lower()
    if said in _ALL:
        return Period(None, today)
    if match := _DAYS.match(said):
        days = int(match.group(1))
        if days < 1:
            raise PeriodError("a period is at least 1 day")
        return Period(today - timedelta(days=days - 1), today)
    if match := _MONTH.match(said):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"{said!r}: there is no month {month}")
        return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
    if ".." in said:
        first_text, last_text = said.split("..", 1)
        first, last = parse_date(first_text), parse_date(last_text)
        if first > last:
            raise PeriodError(f"{said!r} ends before it starts")
        return Period(first, last)
    day = parse_date(said)
    return Period(day, day)
