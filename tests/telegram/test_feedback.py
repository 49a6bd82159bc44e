"""Feedback at any time: a customer's message outside a survey becomes a case the managers
work like a survey's (or, for praise, a notice); a photo at the comment step belongs to
the comment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Case
from tests.conftest import CUSTOMER_ID, App

GROUP, ANNA = -100_800, 2
STRANGER = 5_555  # writes to the bot with no visit on record


def photo(file_id: str, caption: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "photo": [
            {
                "file_id": f"{file_id}-small",
                "file_unique_id": f"{file_id}s",
                "width": 90,
                "height": 90,
            },
            {"file_id": file_id, "file_unique_id": file_id, "width": 900, "height": 900},
        ]
    }
    if caption:
        body["caption"] = caption
    return body


async def cases_of(app: App) -> list[Case]:
    async with app.sessions() as session:
        return list((await session.scalars(select(Case).order_by(Case.id))).all())


@pytest.fixture
async def desk(app: App) -> AsyncIterator[App]:
    app.telegram.add_group(GROUP, forum=True)
    staffed = app.restarted(managers_chat_id=GROUP, manager_ids=[ANNA], alert_to="group")
    yield staffed
    await staffed.bot.session.close()


async def test_a_photo_complaint_becomes_a_case_in_the_managers_topic(desk: App) -> None:
    customer = desk.customer(STRANGER)
    await customer.send_update(photo("scratch-1", "Поцарапали дверь после мойки!"))
    await customer.send("И ещё: машину выдали грязной")
    assert "Добавил" in customer.last["text"]
    question = [m for m in customer.messages() if "Жалоба" in str(m.get("reply_markup"))]
    assert len(question) == 1  # asked once, however many messages came
    await customer.click("Жалоба", question[0])
    assert "кейс №1" in customer.messages()[-1]["text"] or "кейс №1" in question[0]["text"]

    [case] = await cases_of(desk)
    assert (case.kind, case.topic, case.severity, case.status) == (
        "feedback",
        "complaint",
        "high",
        "open",
    )
    assert case.message == "Поцарапали дверь после мойки!\n\nИ ещё: машину выдали грязной"
    assert case.media == [{"type": "photo", "file_id": "scratch-1", "message_id": 1}]
    # The alert in the case's own topic, the photo copied under it.
    topic = desk.telegram.chats[GROUP].topics[case.topic_id]
    assert topic.startswith("#1 Иван")
    in_topic = [
        m for m in desk.telegram.bot_messages(GROUP) if m.get("message_thread_id") == case.topic_id
    ]
    alert, copied = in_topic[0], in_topic[1]
    assert "Клиент: Иван (визитов в базе нет)" in alert["text"]
    assert "✉️ Обращение: Жалоба" in alert["text"]
    assert "Сообщение: Поцарапали дверь после мойки!" in alert["text"]
    assert "📎 Вложения: фото ×1" in alert["text"]
    assert copied["photo"][-1]["file_id"] == "scratch-1"

    # The same loop as a survey's case: take, talk, close, "is it settled?".
    anna = desk.member(ANNA, "Анна", chat_id=GROUP)
    await anna.click("Взять в работу", alert)
    await anna.send("Иван, пришлите, пожалуйста, номер заказ-наряда.", thread_id=case.topic_id)
    assert customer.last["text"].endswith("Иван, пришлите, пожалуйста, номер заказ-наряда.")
    await customer.send("ЗН-555")
    assert desk.telegram.bot_messages(GROUP)[-1]["text"].endswith("ЗН-555")
    await anna.click("Закрыть", alert)
    private = desk.member(ANNA, "Анна")
    await private.click("Сервисный цех")
    await private.send("Дверь отполировали за наш счёт")
    assert "Мы разобрались с вашим обращением" in customer.last["text"]
    await customer.click("Да, решена")
    [case] = await cases_of(desk)
    assert (case.status, case.customer_confirmed) == ("resolved", True)


async def test_a_linked_customers_question_carries_their_last_visit(desk: App) -> None:
    await desk.add_visit()  # Иван Петров, ZN-0001, linked to CUSTOMER_ID
    customer = desk.customer()
    await customer.send("Подскажите, когда следующее ТО?")
    await customer.click("Вопрос")
    [case] = await cases_of(desk)
    assert (case.topic, case.severity, case.customer_user_id) == (
        "question",
        "normal",
        CUSTOMER_ID,
    )
    alert = desk.telegram.bot_messages(GROUP)[0]
    assert "Клиент: Иван Петров, +79123456789" in alert["text"]
    assert "заказ-наряд ZN-0001 от 18.10.2026" in alert["text"]


async def test_praise_is_a_notice_and_cancel_sends_nothing(desk: App) -> None:
    customer = desk.customer(STRANGER)
    await customer.send("Спасибо Сергею, всё сделали быстро!")
    await customer.click("Благодарность")
    assert customer.last["text"] == "Спасибо! Мы передали ваши добрые слова команде."
    assert await cases_of(desk) == []
    notice = desk.telegram.bot_messages(GROUP)[-1]
    assert notice["text"].startswith("💐 Благодарность от клиента Иван")
    assert "«Спасибо Сергею, всё сделали быстро!»" in notice["text"]

    await customer.send("ошибся чатом")
    await customer.send("/cancel")
    assert customer.last["text"] == "Хорошо, ничего не отправляем."
    await customer.send("снова пишу")  # a new draft: asked again
    assert "о чём это" in customer.last["text"]
    # A forged topic changes nothing.
    await customer.press("fb:nonsense", customer.last)
    assert await cases_of(desk) == []


async def test_praise_can_be_a_case_when_configured(desk: App) -> None:
    configured = desk.restarted(feedback_praise_is_case=True)
    customer = configured.customer(STRANGER)
    await customer.send("Отличный сервис!")
    await customer.click("Благодарность")
    [case] = await cases_of(configured)
    assert case.topic == "praise"
    await configured.bot.session.close()


async def test_a_photo_at_the_comment_step_is_part_of_the_comment(desk: App) -> None:
    survey = await desk.add_visit()
    customer = desk.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for number in range(1, 13):
        await customer.click("2" if number == 11 else customer.buttons()[0])
    assert "комментарий" in customer.last["text"].lower()
    await customer.send_update(photo("dent-7", "Вот вмятина после ремонта"))
    assert "Прикрепили к вашему комментарию." in [m.get("text") for m in customer.messages()]
    assert "свяжется" in customer.last["text"] or "Да, свяжитесь" in str(customer.buttons())
    [case] = await cases_of(desk)
    assert case.kind == "survey"
    alert = desk.telegram.bot_messages(GROUP)[0]
    assert "Комментарий: Вот вмятина после ремонта" in alert["text"]
    assert "📎 Вложения: фото ×1" in alert["text"]


async def test_feedback_cases_count_in_the_reports_by_the_day_they_were_written(
    desk: App,
) -> None:
    customer = desk.customer(STRANGER)
    await customer.send("Долго ждал выдачи")
    await customer.click("Жалоба")
    anna = desk.member(ANNA, "Анна", chat_id=GROUP)
    await anna.click("Взять в работу", desk.telegram.bot_messages(GROUP)[0])
    manager = desk.member(ANNA, "Анна")
    # Written on 20.10.2026 (Moscow): in October's figures, not in September's.
    await manager.send("/stats 2026-10")
    october = [m for m in manager.messages() if "Статистика" in m.get("text", "")][-1]["text"]
    assert "Открыто 1 · взяты в срок 1 из 1 · решено 0" in october
    await manager.send("/stats managers 2026-10")
    assert "Взято 1, в срок 100%" in [m for m in manager.messages() if m.get("text")][-1]["text"]
    await manager.send("/stats 2026-09")
    september = [m for m in manager.messages() if "Статистика" in m.get("text", "")][-1]["text"]
    assert "Открыто 0" in september
