"""Whatever no other handler took: a hint, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.customer.start import customer_help


async def anything_else(message: Message) -> None:
    await message.answer(customer_help())


async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("This button no longer works."), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(anything_else, F.chat.type == ChatType.PRIVATE)
    router.callback_query.register(unknown_button)
    return router
