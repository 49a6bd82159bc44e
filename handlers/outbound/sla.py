"""Reminders when a case waits too long: due times live on the case rows.

A scheduler job calls check_sla() every minute; storage claims each overdue case's
reminder with a conditional UPDATE, so a restart or a second worker never sends it twice.
"""

from __future__ import annotations

from aiogram import Bot

from handlers.outbound.outbox import Outbox
from handlers.telegram import in_locale
from handlers.views.alerts import alert_keyboard, resolve_reminder, take_reminder
from storage.models import Case
from storage.workflows import cases


async def check_sla(outbox: Outbox, bot: Bot) -> int:
    """Queue the reminders that are due and send them; returns how many cases were reminded."""
    policies = outbox.policies
    zone = policies.dealer.zone

    def notice(case: Case, take: bool) -> cases.Notice:
        text = take_reminder(case, zone) if take else resolve_reminder(case, zone)
        return text, alert_keyboard(case).model_dump(mode="json", exclude_none=True)

    async with outbox.database.unit() as db:
        with in_locale(outbox.i18n, policies.dealer.language):
            reminded = await cases.remind_overdue(db, policies.staffing, outbox.clock(), notice)
    if reminded:
        await outbox.deliver(bot)
    return reminded
