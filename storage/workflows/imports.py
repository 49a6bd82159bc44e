"""Importing a visit list (CLI or chat upload) and scheduling each new visit's invitation."""

from __future__ import annotations

from datetime import date, datetime, time

from bot.settings import Settings
from storage.uow import Repositories
from storage.visits import ImportCounts
from survey.visit_import import ParsedVisits

# Visits have a date but no time: count the visit as having happened at midday.
VISIT_TIME = time(12, 0)


def invitation_due(visit_date: date, settings: Settings) -> datetime:
    return datetime.combine(visit_date, VISIT_TIME, settings.zone) + settings.invite_delay


async def import_visits(
    db: Repositories, parsed: ParsedVisits, settings: Settings, now: datetime
) -> ImportCounts:
    """Store the valid rows; each new visit gets its invitation due INVITE_DELAY later.

    A visit older than SURVEY_TTL gets no automatic invitation (it would arrive too late
    to be useful); a broadcast can still invite it on purpose.
    """
    counts = await db.visits.import_records(parsed.records, now)
    oldest = now.astimezone(settings.zone).date() - settings.survey_ttl
    for survey in counts.new_surveys:
        if survey.visit.visit_date >= oldest:
            await db.outreach.schedule(
                survey, "invitation", invitation_due(survey.visit.visit_date, settings), now
            )
    return counts
