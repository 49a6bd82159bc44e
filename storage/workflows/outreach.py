"""Outreach use cases: broadcasts (preview, start, cancel) and closing unanswered surveys."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage.models import Broadcast, Survey
from storage.uow import UnitOfWork
from survey.dialogue import SurveyStatus
from survey.outreach import Audience, Progress, SendStatus
from survey.periods import Period


@dataclass
class Preview:
    audience: Audience
    params: dict[str, str]
    targets: list[tuple[Survey, str]] = field(default_factory=list)
    no_telegram: int = 0
    opted_out: int = 0
    already: int = 0

    @property
    def reach(self) -> int:
        return len(self.targets) - self.no_telegram - self.opted_out


async def preview(
    db: UnitOfWork,
    audience: Audience,
    now: datetime,
    *,
    period: Period | None = None,
    order_no: str | None = None,
) -> Preview:
    params: dict[str, str] = {}
    candidates: list[tuple[Survey, str]] = []
    if audience is Audience.PERIOD:
        assert period is not None
        assert period.first is not None
        params = {"first": period.first.isoformat(), "last": period.last.isoformat()}
        candidates = [
            (s, "invitation") for s in await db.outreach.never_invited(period.first, period.last)
        ]
    elif audience is Audience.NOT_COMPLETED:
        candidates = [(s, "reminder") for s in await db.outreach.invited_not_completed(now)]
    else:
        assert order_no is not None
        params = {"order_no": order_no}
        survey = await db.outreach.by_order(order_no)
        if survey is not None and survey.status in (
            SurveyStatus.INVITED,
            SurveyStatus.IN_PROGRESS,
        ):
            kind = "invitation" if survey.invited_at is None else "reminder"
            candidates = [(survey, kind)]
    result = Preview(audience, params)
    for survey, kind in candidates:
        existing = await db.outreach.send_of(survey.id, kind)
        if existing is not None and existing.status != SendStatus.PENDING:
            result.already += 1  # that message went out (or was settled) before
            continue
        customer = survey.visit.customer
        if customer.erased_at is not None:
            continue
        result.targets.append((survey, kind))
        if customer.telegram_user_id is None:
            result.no_telegram += 1
            continue
        user = await db.users.get(customer.telegram_user_id)
        if user is not None and user.opted_out_at is not None:
            result.opted_out += 1
    return result


async def start(
    db: UnitOfWork,
    plan: Preview,
    now: datetime,
    *,
    created_by: int | None,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
) -> Broadcast:
    broadcast = Broadcast(
        audience=plan.audience.value,
        params=plan.params,
        created_by=created_by,
        status="running",
        total=len(plan.targets),
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
        created_at=now,
    )
    db.outreach.add_broadcast(broadcast)
    await db.flush()
    for survey, kind in plan.targets:
        send, created = await db.outreach.schedule(survey, kind, now, now, broadcast.id)
        if not created and send.status == SendStatus.PENDING:
            send.next_attempt_at = min(send.next_attempt_at, now)  # an on-demand send goes now
        if send.status == SendStatus.PENDING:
            db.outreach.add_recipient(broadcast.id, send.id)
    await db.commit()
    return broadcast


async def cancel(db: UnitOfWork, broadcast: Broadcast, now: datetime) -> None:
    await db.outreach.cancel_pending(broadcast.id)
    broadcast.status = "cancelled"
    broadcast.finished_at = now
    await db.commit()


async def expire_surveys(db: UnitOfWork, now: datetime) -> int:
    """Close surveys left unanswered for SURVEY_TTL; their buttons then say so."""
    expired = await db.outreach.surveys_to_expire(now)
    for survey in expired:
        survey.status = SurveyStatus.EXPIRED
        survey.expired_at = now
        survey.updated_at = now
    await db.commit()
    return len(expired)


async def finish(db: UnitOfWork, broadcast: Broadcast, now: datetime) -> None:
    broadcast.status, broadcast.finished_at = "finished", now
    await db.commit()


async def hand_out_links(db: UnitOfWork, now: datetime, *, mark_invited: bool) -> list[Survey]:
    """Surveys not yet completed, for their links. Only with `mark_invited` (the links go
    out by SMS or e-mail) do they count as invited: no Telegram invitation follows then."""
    surveys = list(await db.surveys.without_completed_answer())
    if mark_invited:
        for survey in surveys:
            db.surveys.mark_invited(survey, now)
        await db.commit()
    return surveys


async def progress_to_show(
    db: UnitOfWork, now: datetime, every: timedelta
) -> list[tuple[Broadcast, Progress]]:
    """Running broadcasts whose progress message is due for an edit (at most every
    `every`, and once more when finished); a broadcast with nothing left is finished."""
    due: list[tuple[Broadcast, Progress]] = []
    for broadcast in await db.outreach.running_broadcasts():
        progress = Progress.of(await db.outreach.broadcast_counts(broadcast.id))
        finished = progress.remaining == 0
        if finished:
            broadcast.status, broadcast.finished_at = "finished", now
        shown = broadcast.progress_shown_at
        if broadcast.progress_message_id is not None and (
            finished or shown is None or now - shown >= every
        ):
            broadcast.progress_shown_at = now
            due.append((broadcast, progress))
    await db.commit()
    return due
