"""Importing a visit list (CLI or chat upload) and scheduling each new visit's invitation."""

from __future__ import annotations

from datetime import date, datetime, time

from storage.uow import UnitOfWork
from storage.visits import ImportCounts
from survey.policy import Policies
from survey.visit_import import ParsedVisits, VisitRecord

# Visits have a date but no time: count the visit as having happened at midday.
VISIT_TIME = time(12, 0)


def invitation_due(visit_date: date, policies: Policies) -> datetime:
    return (
        datetime.combine(visit_date, VISIT_TIME, policies.dealer.zone)
        + policies.outreach.invite_delay
    )


async def import_visits(
    db: UnitOfWork, parsed: ParsedVisits, policies: Policies, now: datetime
) -> ImportCounts:
    """Store the valid rows; each new visit gets its invitation due INVITE_DELAY later.

    A visit older than SURVEY_TTL gets no automatic invitation (it would arrive too late
    to be useful); a broadcast can still invite it on purpose.
    """
    counts = await db.visits.import_records(parsed.records, now)
    oldest = now.astimezone(policies.dealer.zone).date() - policies.outreach.survey_ttl
    for survey in counts.new_surveys:
        if survey.visit.visit_date >= oldest:
            await db.outreach.schedule(
                survey, "invitation", invitation_due(survey.visit.visit_date, policies), now
            )
    await db.commit()
    return counts


async def add_visits(db: UnitOfWork, records: list[VisitRecord], now: datetime) -> None:
    """Visits stored without invitations (the `try` demo opens its survey by link)."""
    await db.visits.import_records(records, now)
    await db.commit()
