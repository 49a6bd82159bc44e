"""A dealership's whole day in Russian, and not one English word or stored code on any
screen: every message, caption, button and pop-up the bot shows a customer, a manager and
the head of client service, and every cell of the files they download.

"English" means a word of the catalogue's English side (msgids) that no Russian text uses
(so "CSI", "Telegram" or "Excel" may appear), or a value the program stores (statuses,
causes, call windows, roles). The test data is Cyrillic, so a Latin word can only be ours.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from babel.messages.pofile import read_po
from openpyxl import load_workbook

from bot.i18n import LOCALES
from storage.cases import DeliveryStatus
from survey.calls import OUTCOMES
from survey.cases import CALL_WINDOWS, CAUSES, CaseStatus
from survey.dialogue import SurveyStatus
from survey.feedback import TOPICS
from survey.metrics import Segment
from survey.outreach import SendStatus
from tests.conftest import App

GROUP, ADMIN, MANAGER, OPERATOR, STRANGER = -100_900, 1, 2, 9, 4_444
WORD = re.compile(r"[A-Za-z][A-Za-z_]{3,}")
# Raw values the program stores: on a screen they would be a slip, whatever their length.
RAW = {
    *(s.value for s in SurveyStatus),
    *(s.value for s in CaseStatus),
    *(s.value for s in DeliveryStatus),
    *(s.value for s in SendStatus),
    *(s.value for s in Segment),
    *CAUSES,
    *CALL_WINDOWS,
    *TOPICS,
    *OUTCOMES,
    "admin",
    "manager",
    "take SLA",
    "resolve SLA",
}


def english_words() -> set[str]:
    def catalogue(language: str) -> Any:
        with (LOCALES / language / "LC_MESSAGES/messages.po").open("rb") as source:
            return read_po(source)

    english = {w.lower() for m in catalogue("en") if m.id for w in WORD.findall(str(m.id))}
    russian = {w.lower() for m in catalogue("ru") if m.string for w in WORD.findall(str(m.string))}
    return english - russian


ENGLISH = english_words()


def slips(text: str) -> list[str]:
    # Commands, links and the example period "30d"-style tokens are not words.
    text = re.sub(r"/[a-z_]+|https?://\S+|@\w+", " ", text)
    found = [w for w in WORD.findall(text) if w.lower() in ENGLISH]
    found += [raw for raw in RAW if re.search(rf"(?<![\w.]){re.escape(raw)}(?![\w.])", text)]
    return sorted(set(found))


def test_the_check_itself_catches_english_and_raw_values() -> None:
    assert slips("Кейс №1: configuration") == ["configuration"]
    assert slips("опрос in_progress") == ["in_progress"]
    assert slips("Звонок: morning") == ["morning"]
    assert slips("CSI: 86,6 · Telegram · /start · https://example.com/privacy") == []


def screens(app: App, shown: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(where, text) of everything the bot showed: each message as sent and as edited."""
    for message in shown:
        chat = message["chat"]["id"]
        for key in ("text", "caption"):
            if message.get(key):
                yield f"chat {chat} {key}", message[key]
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                yield f"chat {chat} button", button["text"]
    for call in app.telegram.calls_of("answerCallbackQuery"):
        if call.params.get("text"):
            yield "pop-up", call.params["text"]
    for call in app.telegram.calls_of("setMyCommands"):
        if call.params.get("language_code") in (None, "ru"):
            for command in call.params["commands"]:
                yield "menu", command["description"]


def workbook_cells(data: bytes) -> Iterator[tuple[str, str]]:
    book = load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        yield "sheet name", sheet.title
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    yield f"sheet {sheet.title}", value


@pytest.fixture
async def desk(app: App) -> AsyncIterator[App]:
    app.telegram.add_group(GROUP, title="Клиентская служба")
    staffed = app.restarted(
        managers_chat_id=GROUP,
        privacy_url="https://example.com/privacy",
        dealership_name="Фаворит Моторс",
        operator_ids=[OPERATOR],
    )
    yield staffed
    await staffed.bot.session.close()


async def test_a_whole_day_in_russian_shows_no_english(desk: App) -> None:
    from bot.lifecycle import set_commands

    sent: list[dict[str, Any]] = []
    desk.telegram.listeners.append(
        lambda event, message: (
            sent.append(copy.deepcopy(message)) if message["from"]["is_bot"] else None
        )
    )
    await set_commands(desk.bot, desk.services)
    manager, admin = desk.member(MANAGER, "Анна"), desk.member(ADMIN, "Мария")
    await manager.send("/start")
    await admin.send("/start")

    # A customer arrives by a link, answers with problems, comments and asks for a call.
    survey = await desk.add_visit(name="Иван Петров")
    customer = desk.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for number in range(1, 13):
        bad = {3: "Нет, не обсуждали", 7: "Да, повторный ремонт", 11: "2"}
        await customer.click(bad.get(number) or customer.buttons()[0])
    await customer.send("Долго ждал выдачи автомобиля")
    await customer.click("Да, свяжитесь со мной")
    await customer.click(customer.buttons()[1])  # a call window
    await customer.send("/mydata")
    await customer.send("/help")
    await customer.send("просто вопрос")

    # The manager's day: lists, the card, take, talk, close with a cause and a note.
    await manager.send("/cases")
    await manager.click("#1")
    await manager.click("Взять в работу")
    await manager.send("/my")
    await manager.click("Закрыть")
    await manager.click("Запчасти")
    await manager.send("Заказали деталь, клиенту перезвонили")
    await customer.click("Нет, не решена")
    await manager.send("/case 1")
    await manager.send("/stats 30д")
    await manager.send("/stats 2026-09")
    await manager.send("/stats потом")
    await manager.send("/export 30д")
    export = desk.telegram.files[manager.last["document"]["file_id"]]
    await manager.send("/segments")
    await manager.send("/calllist")

    # The head of client service: staff, an import with bad rows, a broadcast.
    await admin.send("/staff")
    await admin.send("/staff add менеджер 5")
    await admin.send("/staff что-то")
    rows = (
        "order_no;visit_date;customer_name;phone;car;advisor\n"
        "ZN-7;31.02.2026;Олег;+79120000007;Лада;Смирнов\n"
        ";01.10.2026;Пётр;+79120000008;Лада;Смирнов\n"
        "ZN-9;01.10.2026;Ольга;555;Лада;Смирнов\n"
    )
    upload = desk.telegram.upload(rows.encode(), "визиты.csv")
    await admin.send_update({"document": upload})
    await admin.send("/broadcast")
    await admin.click("Визиты за период")
    await admin.send("на прошлой неделе")
    await admin.send("01.10.2026..20.10.2026")
    if "Начать" in admin.buttons():
        await admin.click("Отменить")
    await admin.send("/stats managers 30д")
    await admin.send("/stats менеджеры 2026-08")

    # Someone with no visit writes with a photo; the managers take it and close it.
    stranger = desk.customer(STRANGER)
    await stranger.send_update(
        {
            "photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 9, "height": 9}],
            "caption": "Царапина на двери",
        }
    )
    await stranger.click("Жалоба")
    await manager.send("/case 2")
    await manager.click("Взять в работу")
    await manager.click("Закрыть")
    await manager.click("Другое")
    await manager.send("Отполировали дверь")
    await stranger.send("ещё вопрос")

    # The call centre: the list, a call nobody answered, a phone survey.
    await desk.add_visit("ZN-77", telegram_user_id=None, phone="+79127700000", name="Ольга")
    operator = desk.member(OPERATOR, "Ирина")
    await operator.send("/start")
    await operator.send("/phone ZN-77")
    await operator.click("Не дозвонился")
    desk.clock.advance(hours=3)
    await operator.send("/phone ZN-77")
    await operator.click("Клиент на линии")
    for number in range(1, 13):
        await operator.click("1" if number == 12 else operator.buttons()[0])
    await operator.click("Без комментария")
    await operator.click("Нет, спасибо")

    shown = [*screens(desk, sent), *workbook_cells(export)]
    # The day really reached every corner the check is meant to cover.
    everything = "\n".join(text for _where, text in shown)
    for seen in (
        "Вопрос 12 из 12",  # the survey
        "История",  # the case card
        "Статистика за",  # /stats
        "За этот период опросов нет",  # an empty period
        "Не понял период",  # a period typed wrong
        "Сегменты лояльности",  # /segments
        "Визиты импортированы",  # the upload
        "не заполнено поле «номер заказ-наряда (order_no)»",  # a rejected row
        "Получат сообщение",  # the broadcast preview
        "Ответы",  # the export's sheets
        "Открытые кейсы",  # the menu
        "Сроки менеджеров",  # /stats managers
        "Обращение: Жалоба",  # feedback
        "Телефонный опрос",  # the call centre
    ):
        assert seen in everything, seen
    found = [(where, text, slips(text)) for where, text in shown if slips(text)]
    assert not found, "\n".join(f"{where}: {words} in {text!r}" for where, text, words in found)


async def test_the_first_message_says_who_writes_however_the_customer_arrived(
    desk: App,
) -> None:
    """By the bot's invitation, by a link from an SMS (invite-links), or by a bare /start:
    the first screen names the dealership, links the privacy policy, /stop and /mydata."""
    survey = await desk.add_visit()
    by_link = desk.customer()
    await by_link.send(f"/start {survey.token}")  # the link from an SMS
    stranger = desk.customer(4_321)
    await stranger.send("/start")  # no link at all
    for first in (by_link.messages()[0]["text"], stranger.messages()[0]["text"]):
        assert "Фаворит Моторс" in first
        assert "https://example.com/privacy" in first
        assert "/stop" in first
        assert "/mydata" in first
    assert "Начать опрос" in by_link.buttons(by_link.messages()[0])
