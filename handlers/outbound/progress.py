"""Keeps each running broadcast's progress message current, and finishes broadcasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot
from aiogram.utils.i18n import I18n

from handlers.telegram import edit_text, in_locale
from handlers.views.broadcasts import progress_keyboard, progress_text
from storage.models import Broadcast
from storage.uow import Database
from storage.workflows import outreach
from survey.clock import Clock
from survey.outreach import PROGRESS_EVERY, Progress
from survey.policy import Policies


@dataclass
class ProgressReporter:
    """Keeps each running broadcast's progress message current, and finishes broadcasts."""

    database: Database
    policies: Policies
    clock: Clock
    i18n: I18n

    async def report(self, bot: Bot) -> None:
        now = self.clock()
        async with self.database.unit() as db:
            due = await outreach.progress_to_show(db, now, PROGRESS_EVERY)
        for broadcast, progress in due:
            await self._show(bot, broadcast, progress, now)

    async def _show(
        self, bot: Bot, broadcast: Broadcast, progress: Progress, now: datetime
    ) -> None:
        assert broadcast.progress_chat_id is not None
        assert broadcast.progress_message_id is not None
        with in_locale(self.i18n, self.policies.dealer.language):
            text = progress_text(broadcast, progress, now)
            markup = progress_keyboard(broadcast)
        await edit_text(
            bot, broadcast.progress_chat_id, broadcast.progress_message_id, text, markup
        )
