"""Importing a visit list (CLI or chat upload) and scheduling each new visit's invitation."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time

from storage.uow import UnitOfWork
from storage.visits import ImportCounts
from survey.policy import Policies
from survey.visit_import import ParsedVisits, VisitRecord

# Rows a transaction of a visit import writes; more would keep other writers waiting.
IMPORT_BATCH = 100
# Visits have a date but no time: count the visit as having happened at midday.
VISIT_TIME = time(12, 0)


def invitation_due(visit_date: date, policies: Policies) -> datetime:
    return (
        datetime.combine(visit_date, VISIT_TIME, policies.dealer.zone)
        + policies.outreach.invite_delay
    )


async def import_visits(
    db: UnitOfWork,
    parsed: ParsedVisits,
    policies: Policies,
    now: datetime,
    *,
    batch: int = IMPORT_BATCH,
) -> ImportCounts:
    """Store the valid rows; each new visit gets its invitation due INVITE_DELAY later.

    A visit older than SURVEY_TTL gets no automatic invitation (it would arrive too late
    to be useful); a broadcast can still invite it on purpose. Written in batches, each
    its own transaction, so customers answering meanwhile wait at most one batch for the
    database (the rows were all validated first; importing the file again updates by
    order_no, so a batch cut short by a crash is simply redone).
    """
    oldest = now.astimezone(policies.dealer.zone).date() - policies.outreach.survey_ttl
    created = updated = 0
    for start in range(0, len(parsed.records), batch):
        counts = await db.visits.import_records(parsed.records[start : start + batch], now)
        await db.flush()  # the new surveys get their ids
        for survey in counts.new_surveys:
            if survey.visit.visit_date >= oldest:
                due = invitation_due(survey.visit.visit_date, policies)
                db.outreach.add_first_send(survey, "invitation", due, now)
        await db.commit()
        db.release()  # the batch's rows leave the session: memory stays flat
        created, updated = created + counts.created, updated + counts.updated
        await asyncio.sleep(0)  # let waiting updates have the loop between batches
    return ImportCounts(created=created, updated=updated)


async def add_visits(db: UnitOfWork, records: list[VisitRecord], now: datetime) -> None:
    """Visits stored without invitations (the `try` demo opens its survey by link)."""
    await db.visits.import_records(records, now)
    await db.commit()
