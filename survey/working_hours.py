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
        try:
            first, last = (part.strip() for part in text.split("-"))
            start, end = time.fromisoformat(first), time.fromisoformat(last)
        except ValueError as error:
            raise ValueError(f"working hours {text!r} are not like 09:00-20:00") from error
        if start >= end:
            raise ValueError(f"working hours {text!r} end before they start")
        return cls(start, end, zone)

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
