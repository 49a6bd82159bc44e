"""A photo, voice message or file sent while a survey is on screen: at the comment step
it is part of the comment; at a question, the customer is pointed to the buttons."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import StateFilter
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.customer.survey import alert_managers, show_survey, survey_on_screen
from handlers.outbound.outbox import Outbox
from handlers.telegram import media_of, strip_keyboard
from storage.models import Survey
from storage.uow import UnitOfWork
from storage.workflows import answers
from survey.clock import Clock
from survey.dialogue import COMMENT_STEP
from survey.policy import Policies


async def non_text_received(
    message: Message,
    survey: Survey,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
    outbox: Outbox,
) -> None:
    """A photo, voice message or file: at the comment step it is part of the comment (the
    caption its text); at a question, the customer is pointed to the buttons."""
    run = db.surveys.run_of(survey)
    item = media_of(message)
    if run.step != COMMENT_STEP or item is None:
        await message.answer(_("Please answer with the buttons under the question, or in words."))
        return
    step = run.step
    run.leave_comment(message.caption or "")
    survey.comment_media = [*(survey.comment_media or []), item]
    case = await answers.save_move(db, survey, run, policies, clock(), details_changed=True)
    await strip_keyboard(bot, message.chat.id, survey.live_message_id)
    await message.answer(_("Attached to your comment."))
    await show_survey(bot, message.chat.id, survey, db, policies, i18n.current_locale)
    assert step == COMMENT_STEP
    await alert_managers(outbox, bot, case)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(non_text_received, StateFilter(None), ~F.text, survey_on_screen)
    return router
