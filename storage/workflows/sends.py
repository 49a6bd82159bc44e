"""The sender's steps, each committed on its own: claim a due invitation or reminder
(a lease), decide whether it may go now, then record what Telegram said."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.models import Send
from storage.uow import UnitOfWork
from survey.dialogue import SurveyStatus
from survey.outreach import SendStatus
from survey.policy import OutreachPolicy

LATER = "later"  # outside sending hours: due again when they open


async def claim(db: UnitOfWork, send_id: int, now: datetime, lease: timedelta) -> Send | None:
    """The send, leased to this worker; None if another worker holds it or it is done."""
    if not await db.outreach.claim(send_id, now, lease):
        return None
    await db.commit()
    return await db.outreach.get(send_id)


async def settle_uncertain(db: UnitOfWork, now: datetime, policy: OutreachPolicy) -> int:
    """Sends left `sending` by a worker that died: perhaps delivered, so never sent again.
    An invitation's reminder still follows, so a lost invitation is covered."""
    stranded = await db.outreach.stranded(now)
    for send in stranded:
        send.status, send.claimed_until = SendStatus.UNCERTAIN, None
        send.error = "the worker stopped while it was being sent"
        await _reminder_covers(db, send, now, policy)
    if stranded:
        await db.commit()
    return len(stranded)


async def sending(db: UnitOfWork, send: Send, now: datetime, lease: timedelta) -> None:
    """Committed just before the message leaves: a crash from here on leaves it uncertain."""
    send.status, send.claimed_until = SendStatus.SENDING, now + lease
    send.attempts += 1
    await db.commit()


async def not_sent(db: UnitOfWork, send: Send, retry_at: datetime, error: str) -> None:
    """Telegram took nothing (refused the connection, a 5xx, a 429): due again later."""
    send.status, send.next_attempt_at, send.claimed_until = SendStatus.PENDING, retry_at, None
    send.error = error[:300]
    await db.commit()


async def uncertain(
    db: UnitOfWork, send: Send, now: datetime, error: str, policy: OutreachPolicy
) -> None:
    """The request may have reached Telegram (a timeout, a dropped connection): not sent
    again; an invitation's reminder covers it if it was lost."""
    send.status, send.claimed_until, send.error = SendStatus.UNCERTAIN, None, error[:300]
    await _reminder_covers(db, send, now, policy)
    await db.commit()


async def _reminder_covers(
    db: UnitOfWork, send: Send, now: datetime, policy: OutreachPolicy
) -> None:
    """An invitation that may not have arrived still gets its one reminder."""
    if send.kind == "invitation":
        await db.outreach.schedule(send.survey, "reminder", now + policy.reminder_after, now)


async def reason_to_skip(
    db: UnitOfWork, send: Send, now: datetime, policy: OutreachPolicy
) -> str | None:
    """Why this message must not go (now): None when it may."""
    survey = send.survey
    customer = survey.visit.customer
    if send.kind == "invitation" and (
        survey.status != SurveyStatus.INVITED or survey.invited_at is not None
    ):
        return "answered"  # the customer opened the link already, or declined
    if send.kind == "reminder" and survey.status not in (
        SurveyStatus.INVITED,
        SurveyStatus.IN_PROGRESS,
    ):
        return "closed"
    if survey.expires_at is not None and survey.expires_at <= now:
        return "expired"
    if customer.erased_at is not None:
        return "erased"
    if customer.telegram_user_id is None:
        return "no_telegram"
    user = await db.users.get(customer.telegram_user_id)
    if user is not None and user.opted_out_at is not None:
        return "opted_out"
    if send.kind == "invitation" and await db.outreach.recently_surveyed(
        customer.id, survey.id, now - policy.survey_cooldown
    ):
        return "cooldown"
    if not policy.send_hours.contains(now):
        return LATER
    return None


async def postpone(db: UnitOfWork, send: Send, until: datetime) -> None:
    send.next_attempt_at, send.claimed_until = until, None
    await db.commit()


async def skip(db: UnitOfWork, send: Send, reason: str) -> None:
    send.status, send.error, send.claimed_until = SendStatus.SKIPPED, reason, None
    await db.commit()


async def release(db: UnitOfWork, send: Send) -> None:
    """Not sent after all (the sender is stopping): free for whoever runs next."""
    send.claimed_until = None
    await db.commit()


async def rate_limited(db: UnitOfWork, send: Send, now: datetime, retry_after: int) -> None:
    """Telegram said slow down: this one goes again afterwards, not counted as an attempt."""
    send.attempts -= 1
    retry_at = now + timedelta(seconds=retry_after)
    await not_sent(db, send, retry_at, f"429: retry after {retry_after}s")


async def blocked(db: UnitOfWork, send: Send, error: str) -> None:
    """The customer blocked the bot: they go to the call list."""
    send.status, send.error = SendStatus.BLOCKED, error[:300]
    send.survey.visit.customer.unreachable_reason = "blocked"
    await db.commit()


async def failed(db: UnitOfWork, send: Send, error: str) -> None:
    """Telegram refused the message for good (a bad request)."""
    send.status, send.error, send.claimed_until = SendStatus.FAILED, error[:300], None
    await db.commit()


async def sent(
    db: UnitOfWork,
    send: Send,
    chat_id: int,
    message_id: int,
    now: datetime,
    policy: OutreachPolicy,
) -> None:
    """Delivered: the new message carries the survey's live buttons; an invitation starts
    the survey's time to live and schedules its one reminder."""
    survey = send.survey
    send.status, send.sent_at, send.message_id = SendStatus.SENT, now, message_id
    send.error, send.claimed_until = None, None
    db.surveys.set_live_message(survey, chat_id, message_id)
    if send.kind == "invitation":
        survey.invited_at = now
        survey.expires_at = now + policy.survey_ttl
        await db.outreach.schedule(survey, "reminder", now + policy.reminder_after, now)
    await db.commit()
