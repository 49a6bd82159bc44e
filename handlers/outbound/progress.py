"""Broadcasts on demand: pick an audience, preview how many it reaches, start, watch, cancel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from handlers.views.callbacks import BroadcastCallback
from storage.models import Broadcast, Survey
from storage.outreach import SendStatus
from storage.uow import Repositories
from survey.dialogue import SurveyStatus
from survey.periods import Period

# The progress message is edited at most this often: Telegram limits edits too.
PROGRESS_EVERY = timedelta(seconds=3)


class Audience(StrEnum):
    PERIOD = "period"
    NOT_COMPLETED = "not_completed"
    ORDER = "order"


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
    db: Repositories,
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
    db: Repositories,
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
    return broadcast


@dataclass(frozen=True, slots=True)
class Progress:
    sent: int
    failed: int
    blocked: int
    skipped: int
    remaining: int
    cancelled: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> Progress:
        return cls(
            sent=counts.get(SendStatus.SENT, 0),
            failed=counts.get(SendStatus.FAILED, 0),
            blocked=counts.get(SendStatus.BLOCKED, 0),
            skipped=counts.get(SendStatus.SKIPPED, 0),
            remaining=counts.get(SendStatus.PENDING, 0),
            cancelled=counts.get(SendStatus.CANCELLED, 0),
        )


def progress_text(broadcast: Broadcast, progress: Progress, now: datetime) -> str:
    elapsed = max((now - broadcast.created_at).total_seconds(), 1.0)
    rate = progress.sent / elapsed
    lines = [
        "<b>" + _("Broadcast #{number}").format(number=broadcast.id) + "</b>",
        _("Sent: {sent} · failed: {failed} · blocked: {blocked} · skipped: {skipped}").format(
            sent=progress.sent,
            failed=progress.failed,
            blocked=progress.blocked,
            skipped=progress.skipped,
        ),
    ]
    if broadcast.status == "running":
        lines.append(_("Remaining: {remaining}").format(remaining=progress.remaining))
        if rate > 0 and progress.remaining:
            lines.append(
                _("Rate: {rate:.1f}/s · about {eta} s left").format(
                    rate=rate, eta=int(progress.remaining / rate)
                )
            )
    elif broadcast.status == "cancelled":
        lines.append(_("Cancelled: {count} not sent.").format(count=progress.cancelled))
    else:
        lines.append(_("Finished."))
    return "\n".join(lines)


def progress_keyboard(broadcast: Broadcast) -> InlineKeyboardMarkup | None:
    if broadcast.status != "running":
        return None
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Cancel"),
        callback_data=BroadcastCallback(broadcast_id=broadcast.id, action="cancel"),
    )
    return builder.as_markup()


async def cancel(db: Repositories, broadcast: Broadcast, now: datetime) -> None:
    await db.outreach.cancel_pending(broadcast.id)
    broadcast.status = "cancelled"
    broadcast.finished_at = now


@dataclass
class ProgressReporter:
    """Keeps each running broadcast's progress message current, and finishes broadcasts."""

    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: Callable[[], datetime]
    i18n: I18n

    async def report(self, bot: Bot) -> None:
        async with self.sessions() as session:
            db = Repositories(session)
            now = self.clock()
            for broadcast in await db.outreach.running_broadcasts():
                progress = Progress.of(await db.outreach.broadcast_counts(broadcast.id))
                finished = progress.remaining == 0
                if finished:
                    broadcast.status, broadcast.finished_at = "finished", now
                due = (
                    broadcast.progress_shown_at is None
                    or now - broadcast.progress_shown_at >= PROGRESS_EVERY
                )
                if broadcast.progress_message_id is not None and (finished or due):
                    await self._show(bot, broadcast, progress, now)
                    broadcast.progress_shown_at = now
            await session.commit()

    async def _show(
        self, bot: Bot, broadcast: Broadcast, progress: Progress, now: datetime
    ) -> None:
        assert broadcast.progress_chat_id is not None
        assert broadcast.progress_message_id is not None
        with self.i18n.context(), self.i18n.use_locale(self.settings.default_language):
            text = progress_text(broadcast, progress, now)
            markup = progress_keyboard(broadcast)
        try:
            await bot.edit_message_text(
                text=text,
                chat_id=broadcast.progress_chat_id,
                message_id=broadcast.progress_message_id,
                reply_markup=markup,
            )
        except TelegramBadRequest as error:
            if "message is not modified" not in error.message:
                raise


def describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())
