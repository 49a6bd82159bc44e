"""The weekly report to management: claiming the due week once and queueing its messages,
and collecting its figures when they are sent (or printed)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from storage.uow import UnitOfWork
from storage.workflows.report import build_report
from storage.workflows.staff import admin_chats
from survey.digest import Digest, DigestPolicy, OverdueCase, previous, week_label
from survey.periods import Period
from survey.policy import Staffing

# The report's three messages, each sent (and retried) on its own by the outbox:
# the text, the chart, the XLSX of the week.
DIGEST_PARTS = ("digest", "dchart", "dfile")


async def recipients(db: UnitOfWork, policy: DigestPolicy, staffing: Staffing) -> list[int]:
    return list(policy.recipients) or await admin_chats(db, staffing)


async def queue(db: UnitOfWork, week: Period, chats: list[int], now: datetime) -> None:
    """The week's messages for these chats, sent by the outbox after the commit."""
    label = week_label(week)
    for chat_id in chats:
        for part in DIGEST_PARTS:
            db.cases.queue_part(chat_id, part, label, now)
    await db.commit()


async def claim_week(
    db: UnitOfWork, week: Period, policy: DigestPolicy, staffing: Staffing, now: datetime
) -> bool:
    """Queue the week's report once: True for the one instance that claimed it. With
    nobody to send it to (no DIGEST_TO, no admin yet) the week stays unclaimed."""
    chats = await recipients(db, policy, staffing)
    if not chats or not await db.digests.claim(week_label(week), now):
        await db.rollback()
        return False
    await queue(db, week, chats, now)
    return True


async def collect(db: UnitOfWork, week: Period, now: datetime, zone: tzinfo = UTC) -> Digest:
    """The week, the week before, the four weeks before, and the cases as they are now."""
    overdue = [
        OverdueCase(
            case_id=case.id,
            customer=case.customer_name,
            owner=case.assignee_name,
            late="take" if case.status == "open" else "resolve",
        )
        for case in await db.cases.overdue(now)
    ]
    return Digest(
        week=await build_report(db.reports, week, zone),
        previous_week=await build_report(db.reports, previous(week), zone),
        four_weeks=await build_report(db.reports, previous(week, 4), zone),
        open_cases=await db.cases.count_active(),
        overdue=overdue,
    )
