"""A person in a chat with the bot: sends text, presses buttons, reads what the bot shows."""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update

from bot.playground.fake_api import FakeTelegram

_update_ids = itertools.count(1)

# The buttons a content customer presses, from the invitation to the last screen.
CONTENT_ANSWERS = (
    "Ответили быстро",
    "Да, предложили",
    "Да, у автомобиля",
    "Да, объяснили подробно",
    "Да, согласовали",
    "Да, всё выполнено",
    "Нет, новое обращение",
    "Да, вовремя",
    "Да, всё объяснили",
    "Нет, не превысила",
    "5",
    "4",
)
CONTENT_WALK = ("Начать опрос", *CONTENT_ANSWERS, "Без комментария", "Нет, спасибо")


class ChatClient:
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        telegram: FakeTelegram,
        *,
        user_id: int,
        first_name: str = "Иван",
        language_code: str | None = "ru",
        chat_id: int | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.telegram = telegram
        self.user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            self.user["language_code"] = language_code
        # A private chat by default; a group's id for a member writing in that group.
        self.chat_id = chat_id if chat_id is not None else user_id
        self.last_update: Update | None = None
        # The methods the bot returned in its replies to this person's updates.
        self.replies: list[str] = []

    async def send(
        self, text: str, *, thread_id: int | None = None, reply_to: int | None = None
    ) -> None:
        message = self.telegram.user_message(
            self.chat_id, self.user, text, thread_id=thread_id, reply_to=reply_to
        )
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        await self._feed({"message": message})

    async def send_update(self, payload: dict[str, Any]) -> None:
        """Anything else a user can send (a sticker, a contact): the update's body."""
        message = self.telegram.user_message(self.chat_id, self.user, "")
        message.pop("text", None)
        message.update(payload)
        await self._feed({"message": message})

    async def click(self, label: str, message: dict[str, Any] | None = None) -> None:
        """Press the button whose text contains `label` on the newest message that has one."""
        for candidate in [message] if message else reversed(self.messages()):
            for row in (candidate or {}).get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if label in button["text"]:
                        await self.press(button["callback_data"], candidate or {})
                        return
        raise LookupError(f"no button containing {label!r} in {self.describe()}")

    async def press(self, callback_data: str, message: dict[str, Any]) -> None:
        """Press with any callback data, even data no button of ours ever carried."""
        await self._feed(
            {
                "callback_query": {
                    "id": str(time.monotonic_ns()),
                    "from": self.user,
                    "chat_instance": str(self.chat_id),
                    "message": dict(message),
                    "data": callback_data,
                }
            }
        )

    def messages(self) -> list[dict[str, Any]]:
        return self.telegram.bot_messages(self.chat_id)

    @property
    def last(self) -> dict[str, Any]:
        return self.messages()[-1]

    def buttons(self, message: dict[str, Any] | None = None) -> list[str]:
        target = message or self.last
        rows = target.get("reply_markup", {}).get("inline_keyboard", [])
        return [button["text"] for row in rows for button in row]

    def live_keyboards(self) -> list[dict[str, Any]]:
        return [m for m in self.messages() if m.get("reply_markup", {}).get("inline_keyboard")]

    def describe(self) -> str:
        return "\n---\n".join(
            f"{m.get('text', '')} {self.buttons(m)}" for m in self.messages()[-3:]
        )

    async def redeliver(self) -> None:
        """The last update once more, with the same update_id, as Telegram re-delivers."""
        assert self.last_update is not None
        await self.dispatcher.feed_update(self.bot, self.last_update)

    async def _feed(self, body: dict[str, Any]) -> None:
        update = Update.model_validate(
            {"update_id": next(_update_ids), **body}, context={"bot": self.bot}
        )
        self.last_update = update
        # As in webhook mode: a method the handler returns comes back in the reply to
        # Telegram's request (aiogram's polling sends it as a request of its own).
        result = await self.dispatcher.feed_update(self.bot, update)
        if isinstance(result, TelegramMethod):
            self.replies.append(result.__api_method__)
            await self.telegram.webhook_reply(self.bot, result)
