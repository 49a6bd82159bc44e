"""Turning domain refusals and unexpected failures into short replies, never tracebacks."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import gettext as _

from handlers.telegram import strip_keyboard
from storage.database import DATABASE_UNAVAILABLE
from survey.dialogue import (
    DialogueError,
    InvalidAnswer,
    NotYourSurvey,
    StaleStep,
    SurveyClosed,
    SurveyStatus,
)

log = logging.getLogger(__name__)


def _refusal(error: DialogueError) -> str:
    match error:
        case SurveyClosed(status=SurveyStatus.COMPLETED):
            return _("You have already answered this survey. Thank you!")
        case SurveyClosed(status=SurveyStatus.EXPIRED):
            return _("This survey has closed.")
        case SurveyClosed(status=SurveyStatus.DECLINED):
            return _("You declined this survey. Open the invitation link to take it after all.")
        case NotYourSurvey() | InvalidAnswer() | StaleStep():
            return _("This button no longer works.")
    return _("This button no longer works.")


async def dialogue_refused(event: ErrorEvent, bot: Bot) -> None:
    assert isinstance(event.exception, DialogueError)
    text = _refusal(event.exception)
    if event.update.callback_query is not None:
        query: CallbackQuery = event.update.callback_query
        await query.answer(text, show_alert=True)
        if isinstance(query.message, Message) and isinstance(event.exception, SurveyClosed):
            await strip_keyboard(bot, query.message.chat.id, query.message.message_id)
    elif event.update.message is not None:
        await event.update.message.answer(text)


async def database_unavailable(event: ErrorEvent) -> None:
    """The database is down or unreachable: nothing was half-written (the transaction
    rolled back), and the customer's earlier answers are safe on disk."""
    log.warning(
        "update %s: database unavailable (%s: %s)",
        event.update.update_id,
        type(event.exception).__name__,
        getattr(event.exception, "orig", event.exception),
    )
    text = _(
        "The service is temporarily unavailable. Your answers are safe; "
        "please try again in a minute."
    )
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(text, show_alert=True)
        elif event.update.message is not None:
            await event.update.message.answer(text)
    except Exception:  # Telegram unreachable too: the log has it
        log.warning("could not tell the user about update %s", event.update.update_id)


async def unexpected_error(event: ErrorEvent) -> None:
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    text = _("Something went wrong on our side. Your answers are saved; please try again.")
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(text, show_alert=True)
        elif event.update.message is not None:
            await event.update.message.answer(text)
    except Exception:  # the apology itself failed (Telegram down): the log has it all
        log.warning(
            "could not tell the user about the failure of update %s", event.update.update_id
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(dialogue_refused, ExceptionTypeFilter(DialogueError))
    router.errors.register(database_unavailable, ExceptionTypeFilter(*DATABASE_UNAVAILABLE))
    router.errors.register(unexpected_error)
    return router
