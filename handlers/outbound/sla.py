"""Reminders when a case waits too long: due times live on the case rows.

A scheduler job calls check_sla() every minute; it claims each overdue case's reminder
with a conditional UPDATE, so a restart or a second worker never sends it twice.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot

from handlers.filters import admin_chats, alert_chats
from handlers.outbound.outbox import Outbox
from handlers.views.alerts import alert_keyboard, resolve_reminder, take_reminder
from storage.cases import DeliveryStatus
from storage.models import Case, Delivery
from storage.uow import Repositories


async def check_sla(outbox: Outbox, bot: Bot) -> int:
    """Queue the reminders that are due and send them; returns how many cases were reminded."""
    settings, now = outbox.settings, outbox.clock()
    reminded = 0
    async with outbox.sessions() as session:
        db = Repositories(session)
        with outbox.i18n.context(), outbox.i18n.use_locale(settings.default_language):
            for case in await db.cases.cases_past_take_sla(now):
                if not await db.cases.claim_reminder(case.id, "take_reminded_at", now):
                    continue
                # Re-announced to the managers, and escalated to the head of client service.
                text = take_reminder(case, settings.zone)
                markup = alert_keyboard(case).model_dump(mode="json", exclude_none=True)
                chats = [*await alert_chats(settings, db), *await admin_chats(settings, db)]
                for chat_id in dict.fromkeys(chats):
                    _notice(db, case, chat_id, text, markup, now)
                db.cases.record(case, "reminder_sent", now, text="take SLA")
                reminded += 1
            for case in await db.cases.cases_past_resolve_sla(now):
                if case.assignee_id is None:
                    continue
                if not await db.cases.claim_reminder(case.id, "resolve_reminded_at", now):
                    continue
                text = resolve_reminder(case, settings.zone)
                markup = alert_keyboard(case).model_dump(mode="json", exclude_none=True)
                _notice(db, case, case.assignee_id, text, markup, now)
                db.cases.record(case, "reminder_sent", now, text="resolve SLA")
                reminded += 1
        await session.commit()
    if reminded:
        await outbox.deliver(bot)
    return reminded


def _notice(
    db: Repositories,
    case: Case,
    chat_id: int,
    text: str,
    markup: dict[str, object],
    now: datetime,
) -> None:
    db.cases.add_delivery(
        Delivery(
            case=case,
            kind="notice",
            chat_id=chat_id,
            text=text,
            reply_markup=markup,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
    )
