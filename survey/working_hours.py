"""Service-level deadlines counted in the client service's working hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class WorkingHours:
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> WorkingHours:
        """'09:00-20:00' -> WorkingHours; ValueError with a readable message otherwise."""
        start, end = _span(text, "working hours", "09:00-20:00")
        if start >= end:
            raise ValueError(f"working hours {text!r} end before they start")
        return cls(start, end, zone)

    @classmethod
    def outside_quiet(cls, text: str, zone: ZoneInfo) -> WorkingHours:
        """Quiet hours '20:00-10:00' (over midnight) leave 10:00-20:00 for sending."""
        quiet_from, quiet_to = _span(text, "quiet hours", "20:00-10:00")
        if quiet_to >= quiet_from:
            raise ValueError(f"quiet hours {text!r} must run over midnight, like 20:00-10:00")
        return cls(quiet_to, quiet_from, zone)

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself inside the hours, else the next time they start."""
        if self.contains(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, self.zone).astimezone(moment.tzinfo)

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).time()
        return self.start <= local < self.end

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `moment` (time outside hours is skipped)."""
        local = moment.astimezone(self.zone)
        remaining = duration
        while True:
            day_start = datetime.combine(local.date(), self.start, self.zone)
            day_end = datetime.combine(local.date(), self.end, self.zone)
            if local < day_start:
                local = day_start
            if local >= day_end:
                local = datetime.combine(local.date() + timedelta(days=1), self.start, self.zone)
                continue
            available = day_end - local
            if remaining <= available:
                return (local + remaining).astimezone(moment.tzinfo)
            remaining -= available
            local = datetime.combine(local.date() + timedelta(days=1), self.start, self.zone)


def _span(text: str, what: str, example: str) -> tuple[time, time]:
    try:
        first, last = (part.strip() for part in text.split("-"))
        return time.fromisoformat(first), time.fromisoformat(last)
    except ValueError as error:
        raise ValueError(f"{what} {text!r} are not like {example}") from error
