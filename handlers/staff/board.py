"""/board: the button that opens the cases board (a Mini App) in a private chat."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import Message

from handlers.views import board as views
from survey.policy import Policies


async def cmd_board(message: Message, bot: Bot, policies: Policies) -> None:
    url = policies.dealer.board_url
    if url is None:
        await message.answer(views.board_not_set_up())
        return
    if message.chat.type != ChatType.PRIVATE:
        me = await bot.me()
        text, keyboard = views.board_in_private(me.username or "")
        await message.answer(text, reply_markup=keyboard)
        return
    await message.answer(views.board_invitation(), reply_markup=views.board_keyboard(url))


def create_router() -> Router:
    """Registered inside the staff router (managers and admins)."""
    router = Router(name=__name__)
    router.message.register(cmd_board, Command("board"), F.text)
    return router
