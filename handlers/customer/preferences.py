"""/language, /stop and /cancel: what a customer controls about the conversation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import SUPPORTED
from bot.settings import Settings
from handlers.customer.survey import show_survey, strip_keyboard, survey_on_screen
from handlers.views.callbacks import LanguageCallback, OptInCallback
from storage.models import Survey
from storage.uow import Repositories

LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


async def cmd_language(message: Message) -> None:
    builder = InlineKeyboardBuilder()
    for code in SUPPORTED:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageCallback(code=code))
    await message.answer(_("Choose the language:"), reply_markup=builder.as_markup())


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    bot: Bot,
    db: Repositories,
    settings: Settings,
    clock: Callable[[], datetime],
    i18n: I18n,
) -> None:
    await db.users.set_language(query.from_user.id, callback_data.code, clock())
    await db.commit()
    with i18n.use_locale(callback_data.code):
        if query.message is not None:
            await bot.edit_message_text(
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
                text=_("Language: {language}").format(language=LANGUAGE_NAMES[callback_data.code]),
            )
        await query.answer()
        # Show the survey in progress again so the question is in the new language too.
        survey = await db.surveys.on_screen(query.from_user.id)
        if survey is not None:
            await show_survey(bot, query.from_user.id, survey, db, settings, callback_data.code)


async def cmd_stop(message: Message, db: Repositories, clock: Callable[[], datetime]) -> None:
    assert message.from_user is not None
    await db.users.set_opted_out(message.from_user.id, True, clock())
    await db.commit()
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Receive surveys again"), callback_data=OptInCallback())
    await message.answer(
        _(
            "Done: we will not send you any more surveys. A survey you have already "
            "started can still be finished with /start."
        ),
        reply_markup=builder.as_markup(),
    )


async def opted_in(query: CallbackQuery, db: Repositories, clock: Callable[[], datetime]) -> None:
    await db.users.set_opted_out(query.from_user.id, False, clock())
    await db.commit()
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Welcome back: we will send you surveys again."))
    await query.answer()


async def cmd_cancel_survey(message: Message, survey: Survey, bot: Bot, db: Repositories) -> None:
    # Without live buttons the survey no longer takes typed text; /start brings it back.
    await strip_keyboard(bot, survey.chat_id, survey.live_message_id)
    db.surveys.set_live_message(survey, message.chat.id, None)
    await db.commit()
    await message.answer(
        _("Paused. Your answers are saved; send /start whenever you want to continue.")
    )


async def cmd_cancel(message: Message) -> None:
    await message.answer(_("There is nothing to cancel."))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(cmd_language, Command("language"))
    router.callback_query.register(language_chosen, LanguageCallback.filter(F.code.in_(SUPPORTED)))
    router.message.register(cmd_stop, Command("stop"))
    router.callback_query.register(opted_in, OptInCallback.filter())
    router.message.register(
        cmd_cancel_survey, Command("cancel"), StateFilter(None), survey_on_screen
    )
    router.message.register(cmd_cancel, Command("cancel"))
    return router
