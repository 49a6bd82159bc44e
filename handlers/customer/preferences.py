"""/language, /stop and /cancel: what a customer controls about the conversation."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.customer.survey import show_survey, survey_on_screen
from handlers.outbound.menus import publish_for
from handlers.telegram import strip_keyboard
from handlers.views.callbacks import LanguageCallback, OptInCallback
from handlers.views.keyboards import LANGUAGE_NAMES, language_keyboard, opt_in_keyboard
from handlers.views.text import fill
from storage.models import Survey
from storage.uow import UnitOfWork
from storage.workflows import customers
from storage.workflows.staff import role_of
from survey.clock import Clock
from survey.policy import LANGUAGES as SUPPORTED
from survey.policy import Policies


async def cmd_language(message: Message) -> None:
    await message.answer(_("Choose the language:"), reply_markup=language_keyboard(SUPPORTED))


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    await customers.set_language(db, query.from_user.id, callback_data.code, clock())
    with i18n.use_locale(callback_data.code):
        if query.message is not None:
            await bot.edit_message_text(
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
                text=fill(_("Language: {language}"), language=LANGUAGE_NAMES[callback_data.code]),
            )
        await query.answer()
        # Show the survey in progress again so the question is in the new language too.
        survey = await db.surveys.on_screen(query.from_user.id)
        if survey is not None:
            await show_survey(bot, query.from_user.id, survey, db, policies, callback_data.code)
    # Staff have a menu of their own, in the language they chose.
    role = await role_of(db, policies.staffing, query.from_user.id)
    if role is not None:
        board = policies.dealer.board_url
        await publish_for(bot, i18n, query.from_user.id, role, callback_data.code, board)


async def cmd_stop(message: Message, db: UnitOfWork, clock: Clock) -> None:
    assert message.from_user is not None
    await customers.set_opted_out(db, message.from_user.id, True, clock())
    await message.answer(
        _(
            "Done: we will not send you any more surveys. A survey you have already "
            "started can still be finished with /start."
        ),
        reply_markup=opt_in_keyboard(),
    )


async def opted_in(query: CallbackQuery, db: UnitOfWork, clock: Clock) -> None:
    await customers.set_opted_out(db, query.from_user.id, False, clock())
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Welcome back: we will send you surveys again."))
    await query.answer()


async def cmd_cancel_survey(message: Message, survey: Survey, bot: Bot, db: UnitOfWork) -> None:
    # Without live buttons the survey no longer takes typed text; /start brings it back.
    old_chat, old_live = survey.chat_id, survey.live_message_id
    await customers.pause(db, survey, message.chat.id)
    await strip_keyboard(bot, old_chat, old_live)
    await message.answer(
        _("Paused. Your answers are saved; send /start whenever you want to continue.")
    )


async def cmd_cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is not None:  # a message not sent yet (feedback's draft)
        await state.clear()
        await message.answer(_("All right, nothing was sent."))
        return
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
