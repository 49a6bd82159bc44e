"""How the bot's requests reach the Bot API: a JSON body where the Bot API takes one (every
method but an upload), with the values Telegram reads from it exactly as the form would
have carried them; an upload as aiogram's multipart form. And the bot an object came
from, which aiogram's objects keep, with the one-step post-init every type now runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.context_controller import BotContextController
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage
from aiogram.types import (
    BufferedInputFile,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LoginUrl,
    Message,
    SwitchInlineQueryChosenChat,
    TelegramObject,
    Update,
)
from pydantic import BaseModel

from bot.dispatcher import create_bot
from bot.playground.fake_chats import ApiCall
from bot.settings import Settings
from handlers.telegram import _EditText, edit_text
from tests.conftest import CUSTOMER_ID
from tests.fakes import FaultyTelegram

# Typed by a customer: Cyrillic, markup characters, a quote, an emoji, a form's separators.
TYPED = 'Привет <b>"мир"</b> & 100% + a=b&c=d 🚗\nвторая строка'
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [InlineKeyboardButton(text="Да ✓", callback_data="a:1:2:yes")],
        [InlineKeyboardButton(text="← Назад", callback_data="n:1:2:back")],
    ]
)
# Buttons of every shape a keyboard of ours may carry: sent without aiogram's preparation.
RICH_KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [
            InlineKeyboardButton(text="Да ✓", callback_data="a:1:2:yes"),
            InlineKeyboardButton(text="Сайт", url="https://example.com/?a=1&b=<2>"),
        ],
        [InlineKeyboardButton(text="Копия", copy_text=CopyTextButton(text=TYPED))],
        [
            InlineKeyboardButton(
                text="Найти",
                switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
                    query="", allow_user_chats=True, allow_bot_chats=False
                ),
            )
        ],
        [InlineKeyboardButton(text="Войти", login_url=LoginUrl(url="https://example.com/login"))],
    ]
)


@pytest.fixture
async def bot(settings: Settings) -> Any:
    bot = create_bot(settings, "4242:TEST-token")
    yield bot
    await bot.session.close()


def last_call(telegram: FaultyTelegram, method: str) -> ApiCall:
    return telegram.calls_of(method)[-1]


async def test_a_message_goes_as_json_with_the_values_the_form_carried(
    bot: Bot, telegram: FaultyTelegram
) -> None:
    await bot.send_message(CUSTOMER_ID, TYPED, reply_markup=RICH_KEYBOARD, parse_mode=None)
    call = last_call(telegram, "sendMessage")
    assert call.sent_as == "application/json"
    assert call.params["text"] == TYPED
    assert call.params["chat_id"] == str(CUSTOMER_ID)  # as a form field reads
    assert "parse_mode" not in call.params
    assert call.params["reply_markup"] == RICH_KEYBOARD.model_dump(exclude_none=True)
    assert call.params["reply_markup"]["inline_keyboard"][2][0][
        "switch_inline_query_chosen_chat"
    ] == {"query": "", "allow_user_chats": True, "allow_bot_chats": False}
    # What the form would have sent, field by field.
    form = SendMessage(
        chat_id=CUSTOMER_ID, text=TYPED, reply_markup=RICH_KEYBOARD, parse_mode=None
    ).model_dump(warnings=False)
    for key, value in form.items():
        prepared = bot.session.prepare_value(value, bot=bot, files={})
        if prepared:
            expected = json.loads(prepared) if key == "reply_markup" else prepared
            assert call.params[key] == expected, key


async def test_defaults_and_flags_reach_the_api_as_in_the_form(
    bot: Bot, telegram: FaultyTelegram
) -> None:
    await bot.send_message(CUSTOMER_ID, "<b>жирный</b>")  # the bot's default: HTML
    call = last_call(telegram, "sendMessage")
    assert call.params["parse_mode"] == "HTML"
    assert telegram.bot_messages(CUSTOMER_ID)[-1]["text"] == "жирный"
    await bot.answer_callback_query("42", text="Готово", show_alert=True)
    answered = last_call(telegram, "answerCallbackQuery")
    assert answered.sent_as == "application/json"
    assert answered.params == {"callback_query_id": "42", "text": "Готово", "show_alert": "true"}


async def test_an_upload_goes_as_aiograms_multipart_form(
    bot: Bot, telegram: FaultyTelegram
) -> None:
    document = BufferedInputFile("номер;дата\n1;2026-11-28\n".encode(), filename="визиты.csv")
    await bot.send_document(CUSTOMER_ID, document, caption=TYPED, parse_mode=None)
    call = last_call(telegram, "sendDocument")
    assert call.sent_as == "multipart/form-data"
    assert call.params["caption"] == TYPED
    sent = telegram.bot_messages(CUSTOMER_ID)[-1]
    assert sent["document"]["file_name"] == "визиты.csv"


def _telegram_types() -> list[type[BaseModel]]:
    found, pending = [], [BotContextController]
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return found


async def test_an_edit_is_checked_but_its_message_not_read_back(
    bot: Bot, telegram: FaultyTelegram
) -> None:
    sent = await bot.send_message(CUSTOMER_ID, "Вопрос 1", reply_markup=KEYBOARD)
    await edit_text(bot, CUSTOMER_ID, sent.message_id, "<b>Вопрос 2</b>", KEYBOARD)
    call = last_call(telegram, "editMessageText")
    assert call.sent_as == "application/json"
    assert call.params["reply_markup"] == KEYBOARD.model_dump(exclude_none=True)
    edited = telegram.bot_messages(CUSTOMER_ID)[-1]
    assert edited["text"] == "Вопрос 2"
    assert edited["entities"] == [{"type": "bold", "offset": 0, "length": 8}]
    # The same screen again (a double tap): Telegram refuses it as a no-op, quietly.
    await edit_text(bot, CUSTOMER_ID, sent.message_id, "<b>Вопрос 2</b>", KEYBOARD)
    # Any other refusal is the caller's error, as before.
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await edit_text(bot, CUSTOMER_ID, sent.message_id + 1000, "Вопрос 3")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await edit_text(bot, CUSTOMER_ID, sent.message_id, "<b>Вопрос 3")


def test_every_aiogram_object_sets_up_its_bot_in_one_step() -> None:
    flat = Message.model_post_init
    # Aiogram's types and methods (imported with aiogram); a type of a module imported
    # later (aiogram.utils.web_app's) keeps pydantic's chain, which does the same.
    types = [
        t
        for t in _telegram_types()
        if t.__module__.startswith(("aiogram.types", "aiogram.methods"))
    ]
    assert len(types) > 400
    assert all(t.model_post_init is flat for t in types), [
        t for t in types if t.model_post_init is not flat
    ][:5]
    # A method of ours declared on one of aiogram's (`declared_here`): the same one step.
    assert _EditText.model_post_init is flat
    edit = _EditText.model_validate(
        {"chat_id": 1, "message_id": 2, "text": "x"}, context={"bot": "the bot"}
    )
    assert edit.__pydantic_private__ == {"_bot": "the bot"}


def test_objects_keep_the_bot_they_came_from(bot: Bot) -> None:
    update = Update.model_validate(
        {
            "update_id": 1,
            "callback_query": {
                "id": "7",
                "from": {"id": 5, "is_bot": False, "first_name": "Иван"},
                "chat_instance": "5",
                "data": "a:1:2:yes",
                "message": {
                    "message_id": 3,
                    "date": 0,
                    "chat": {"id": 5, "type": "private"},
                    "text": "Вопрос",
                    "reply_markup": KEYBOARD.model_dump(exclude_none=True),
                },
            },
        },
        context={"bot": bot},
    )
    query = update.callback_query
    assert query is not None
    assert isinstance(query.message, Message)
    markup = query.message.reply_markup
    assert markup is not None
    objects: list[TelegramObject] = [update, query, query.from_user, query.message, markup]
    objects += [button for row in markup.inline_keyboard for button in row]
    assert all(o.bot is bot for o in objects)
    assert all(o.__pydantic_private__ == {"_bot": bot} for o in objects)
    # Without a context (built in code): no bot, until one is given.
    button = InlineKeyboardButton(text="Да", callback_data="x")
    assert button.bot is None
    assert button.__pydantic_private__ == {"_bot": None}
    assert button.as_(bot).bot is bot
    assert Message.model_construct(message_id=1).bot is None
    # A copy keeps its own private attributes.
    copied = query.model_copy()
    assert copied.bot is bot
    copied.as_(None)
    assert query.bot is bot


def test_a_type_declared_later_keeps_pydantics_own_post_init(bot: Bot) -> None:
    class Counted(TelegramObject):
        text: str
        _seen: int = 3

        def model_post_init(self, context: Any, /) -> None:
            super().model_post_init(context)
            self._seen += 1

    counted = Counted.model_validate({"text": "x"}, context={"bot": bot})
    assert counted.bot is bot
    assert counted._seen == 4  # its own default kept, its own post-init run
