"""Dates and periods as people read them: 31.10.2026, 01.10–31.10.2026, never ISO."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from handlers.views.text import fill
from survey.periods import Period


def format_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def day_month(value: date) -> str:
    """A chart's axis: 05.10."""
    return value.strftime("%d.%m")


def format_moment(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment in the dealership's time zone: 20.10 09:15."""
    return moment.astimezone(zone).strftime("%d.%m %H:%M") if moment else ""


def period_title(period: Period) -> str:
    if period.first is None:
        return fill(_("all time up to {last}"), last=format_date(period.last))
    if period.first == period.last:
        return format_date(period.first)
    if period.first.year == period.last.year:
        return f"{day_month(period.first)}–{format_date(period.last)}"
    return f"{format_date(period.first)}–{format_date(period.last)}"


def period_example() -> str:
    return _("7d, 30d, 2026-10 or 01.10.2026..31.10.2026")
