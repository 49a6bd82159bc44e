"""Whatever no other handler took: a hint, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.customer.start import customer_help
from handlers.views.callbacks import CaseCallback, CauseCallback


async def anything_else(message: Message) -> None:
    await message.answer(customer_help())


async def not_staff(query: CallbackQuery) -> None:
    await query.answer(_("Only client-service staff can do this."), show_alert=True)


async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("This button no longer works."), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(anything_else, F.chat.type == ChatType.PRIVATE)
    # A case button pressed by someone the staff router turned away.
    router.callback_query.register(not_staff, CaseCallback.filter())
    router.callback_query.register(not_staff, CauseCallback.filter())
    router.callback_query.register(unknown_button)
    return router
