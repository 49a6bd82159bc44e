"""Closed loop: unhappy answers become cases, alerts reach the managers, cases get worked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import Case, CaseEvent, Delivery
from survey.questionnaire import question as question_of
from tests.conftest import CUSTOMER_ID, App
from tests.fakes import Failure

GROUP = -100_500
ADMIN, ANNA, BORIS, STRANGER = 1, 2, 3, 777

GOOD = {
    1: "Ответили быстро",
    2: "Да, предложили",
    3: "Да, у автомобиля",
    4: "Да, объяснили подробно",
    5: "Да, согласовали",
    6: "Да, всё выполнено",
    7: "Нет, новое обращение",
    8: "Да, вовремя",
    9: "Да, всё объяснили",
    10: "Нет, не превысила",
    11: "5",
    12: "5",
}


@pytest.fixture
async def desk(app: App) -> AsyncIterator[App]:
    """The bot as a dealership runs it: a managers' group plus two managers privately."""
    app.telegram.add_group(GROUP)
    staffed = app.restarted(managers_chat_id=GROUP, manager_ids=[ANNA, BORIS], admin_ids=[ADMIN])
    yield staffed
    await staffed.bot.session.close()


async def answer(app: App, overrides: dict[int, str], *, until: int = 12) -> Any:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for number in range(1, until + 1):
        await customer.click(overrides.get(number, GOOD[number]))
    return customer


async def finish(customer: Any, *, call: bool = False, comment: str | None = None) -> None:
    if comment:
        await customer.send(comment)
    else:
        await customer.click("Без комментария")
    await customer.click("Да, свяжитесь со мной" if call else "Нет, спасибо")


async def cases(app: App) -> list[Case]:
    async with app.sessions() as session:
        return list((await session.scalars(select(Case).order_by(Case.id))).all())


async def events(app: App, case_id: int) -> list[str]:
    async with app.sessions() as session:
        rows = await session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
        return list(rows)


def alerts(app: App, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in app.telegram.bot_messages(chat_id) if "Кейс №" in m["text"]]


@pytest.mark.parametrize(
    ("question", "label", "severity"),
    [
        (6, "Нет, не всё", "normal"),
        (7, "Да, повторный ремонт", "high"),
        (8, "Нет, с опозданием", "normal"),
        (10, "Да, превысила", "high"),
        (11, "2", "normal"),
        (11, "1", "high"),
        (12, "1", "high"),
        (12, "2", "normal"),
    ],
)
async def test_each_default_trigger_opens_exactly_one_case_at_once(
    desk: App, question: int, label: str, severity: str
) -> None:
    customer = await answer(desk, {question: label}, until=question)
    # At once: the case and its alerts exist before the survey is finished.
    [case] = await cases(desk)
    assert case.severity == severity
    assert case.problems == [
        {"question": question, "value": case.problems[0]["value"], "severity": severity}
    ]
    for chat in (GROUP, ANNA, BORIS):
        [alert] = alerts(desk, chat)
        assert "Иван Петров, +79123456789" in alert["text"]
        assert "Kia Rio, А123ВС77, заказ-наряд ZN-0001 от 18.10.2026" in alert["text"]
        assert "Мастер-консультант: Сергей Смирнов" in alert["text"]
        # The question by its title and the answer in the button's words, no "Q7".
        assert f"{question_of(question).short['ru']}: " in alert["text"]
        assert f"Q{question}" not in alert["text"]
        assert f"Кейс №{case.id}" in alert["text"]
        assert ("высокая важность" in alert["text"]) == (severity == "high")
        assert "Взять в работу" in str(alert["reply_markup"])
    for number in range(question + 1, 13):
        await customer.click(GOOD[number])
    await finish(customer)
    assert len(await cases(desk)) == 1
    assert await events(desk, case.id) == ["created", "alerted", "alerted", "alerted"]


async def test_a_request_to_be_called_opens_a_case_with_the_time_window(desk: App) -> None:
    customer = await answer(desk, {})
    assert await cases(desk) == []
    await finish(customer, call=True)
    [case] = await cases(desk)
    assert case.problems == [{"question": None, "value": None, "severity": "normal"}]
    assert "Клиент просит связаться с ним" in alerts(desk, GROUP)[0]["text"]
    await customer.click("Завтра вечером")
    assert "позвонит вам вечером 21.10.2026" in customer.last["text"]
    assert "Клиент просит связаться с ним: вечером 21.10.2026" in alerts(desk, GROUP)[0]["text"]


async def test_good_answers_open_no_case(desk: App) -> None:
    customer = await answer(desk, {2: "Нет, не предложили", 4: "Затрудняюсь ответить", 11: "3"})
    await finish(customer, comment="Всё хорошо")
    assert await cases(desk) == []
    assert alerts(desk, GROUP) == []


async def test_later_triggers_and_the_comment_update_the_same_alert(desk: App) -> None:
    customer = await answer(desk, {7: "Да, повторный ремонт"}, until=7)
    [first] = alerts(desk, GROUP)
    for number in range(8, 13):
        await customer.click({10: "Да, превысила", 12: "1"}.get(number, GOOD[number]))
    await finish(customer, comment="Счёт вырос на 5000 без согласования")

    [case] = await cases(desk)
    [alert] = alerts(desk, GROUP)  # still one message, edited in place
    assert alert["message_id"] == first["message_id"]
    assert "‼️ Повторный ремонт: Да, повторный ремонт" in alert["text"]
    assert "‼️ Счёт выше согласованного: Да, превысила" in alert["text"]
    assert "‼️ Отзывчивость мастера-консультанта: 1 из 5" in alert["text"]
    assert "Счёт вырос на 5000 без согласования" in alert["text"]
    assert "Клиент не хочет, чтобы ему звонили." in alert["text"]
    assert len(desk.telegram.calls_of("editMessageText")) > 0
    assert case.severity == "high"
    assert [p["question"] for p in case.problems] == [7, 10, 12]


async def test_take_second_take_close_with_note_reopen(desk: App) -> None:
    customer = await answer(desk, {8: "Нет, с опозданием"})
    await finish(customer)
    [case] = await cases(desk)
    anna = desk.member(ANNA, "Анна", chat_id=GROUP)
    boris = desk.member(BORIS, "Борис", chat_id=GROUP)

    as_boris_saw_it = dict(alerts(desk, GROUP)[0])
    await anna.click("Взять в работу", alerts(desk, GROUP)[0])
    assert (
        desk.telegram.calls_of("answerCallbackQuery")[-1].params["text"] == "Кейс №1 теперь ваш."
    )
    for chat in (GROUP, ANNA, BORIS):
        text = alerts(desk, chat)[0]["text"]
        assert "В работе с 20.10 12:00: Анна" in text
        assert "Взять в работу" not in str(alerts(desk, chat)[0]["reply_markup"])

    await boris.click("Взять в работу", as_boris_saw_it)  # pressed a moment too late
    refusal = desk.telegram.calls_of("answerCallbackQuery")[-1].params
    assert refusal["text"] == "Кейс уже в работе: Анна, с 20.10 12:00."

    desk.clock.advance(minutes=30)
    await anna.click("Закрыть", alerts(desk, GROUP)[0])
    anna_private = desk.member(ANNA, "Анна")
    assert "В чём была причина?" in anna_private.last["text"]
    await anna_private.click("Сервисный цех")
    await anna_private.send("Перебрали подвеску повторно, клиент доволен.")
    assert "Кейс №1 закрыт" in anna_private.last["text"]

    [case] = await cases(desk)
    assert case.status == "resolved"
    assert case.cause == "workshop"
    assert case.resolution_note == "Перебрали подвеску повторно, клиент доволен."
    text = alerts(desk, GROUP)[0]["text"]
    assert "Закрыт 20.10 12:30, Анна" in text
    assert "Сервисный цех" in text
    assert "Открыть снова" in str(alerts(desk, GROUP)[0]["reply_markup"])

    # The customer is asked once whether it got fixed.
    assert "Проблема решена?" in customer.last["text"]
    await customer.click("Да, решена")
    assert "Рады, что проблема решена" in customer.last["text"]
    assert "Клиент подтвердил, что проблема решена." in alerts(desk, GROUP)[0]["text"]

    await anna.click("Открыть снова", alerts(desk, GROUP)[0])
    [case] = await cases(desk)
    assert case.status == "open"
    assert case.assignee_id is None
    assert await events(desk, case.id) == [
        "created",
        "alerted",
        "alerted",
        "alerted",
        "taken",
        "note",
        "resolved",
        "customer_fixed",
        "reopened",
    ]


async def test_not_fixed_reopens_the_case_and_alerts_again(desk: App) -> None:
    customer = await answer(desk, {6: "Нет, не всё"})
    await finish(customer)
    anna = desk.member(ANNA, "Анна")
    await anna.click("Взять в работу", alerts(desk, ANNA)[0])
    await anna.click("Закрыть", alerts(desk, ANNA)[0])
    await anna.click("Запчасти")
    await anna.send("Заказали деталь")
    await customer.click("Нет, не решена")
    assert "снова открыли обращение" in customer.last["text"]
    [case] = await cases(desk)
    # Back with Anna, who closed it: in her /my, with the resolve SLA running again.
    assert (case.status, case.assignee_id) == ("taken", ANNA)
    assert case.customer_confirmed is False
    for chat in (GROUP, ANNA, BORIS):
        assert (
            "проблема не решена: кейс №1 снова открыт"
            in desk.telegram.bot_messages(chat)[-1]["text"]
        )
    assert "Закрыть" in str(alerts(desk, GROUP)[0]["reply_markup"])
    await anna.send("/my")
    assert "Мои кейсы: 1" in anna.last["text"]
    assert "клиент открыл снова" in anna.last["text"]
    await anna.send("/cases")
    assert "Открытые кейсы: 1" in anna.last["text"]
    # Asked once: the answer buttons are gone and a forged second answer changes nothing.
    await customer.press("fixed:1:1", customer.last)
    assert (await cases(desk))[0].status == "taken"


async def test_a_non_staff_member_of_the_group_cannot_act(desk: App) -> None:
    customer = await answer(desk, {10: "Да, превысила"})
    await finish(customer)
    stranger = desk.member(STRANGER, "Посторонний", chat_id=GROUP)
    await stranger.click("Взять в работу", alerts(desk, GROUP)[0])
    refusal = desk.telegram.calls_of("answerCallbackQuery")[-1].params
    assert refusal["text"] == "Это могут делать только сотрудники клиентской службы."
    [case] = await cases(desk)
    assert case.status == "open"
    assert case.assignee_id is None
    await stranger.send("/cases")
    assert "Открытые кейсы" not in desk.telegram.bot_messages(GROUP)[-1]["text"]


async def test_manager_commands(desk: App) -> None:
    anna = desk.member(ANNA, "Анна")
    await anna.send("/start")  # Telegram names a private chat once its person wrote
    customer = await answer(desk, {8: "Нет, с опозданием", 10: "Да, превысила"})
    await finish(customer)
    await anna.send("/cases")
    listing = anna.last
    assert "Открытые кейсы: 1" in listing["text"]
    assert "🔴 #1 Иван Петров" in listing["text"]
    assert "новый" in listing["text"]
    await anna.click("#1")
    card = anna.last
    assert "История" in card["text"]
    # The history speaks Russian: words, chat names, no ids or stored codes.
    assert "кейс открыт: Автомобиль готов вовремя: Нет, с опозданием" in card["text"]
    assert "оповещение отправлено: Клиентская служба" in card["text"]
    assert "оповещение отправлено: Анна" in card["text"]
    for raw in ("created", "alerted", "Q8=", str(GROUP)):
        assert raw not in card["text"]
    await anna.send("/my")
    assert "Открытых кейсов нет" in anna.last["text"]
    await anna.click("Взять в работу", card)
    # Every copy says so at once: the card pressed, the list, the alerts.
    card = desk.telegram.chats[ANNA].messages[card["message_id"]]
    assert "В работе с 20.10 12:00: Анна" in card["text"]
    assert "Анна" in card["text"]
    assert "Взять в работу" not in str(card["reply_markup"])
    assert "взят в работу (Анна)" in card["text"]
    listing = desk.telegram.chats[ANNA].messages[listing["message_id"]]
    assert "в работе: Анна" in listing["text"]
    assert "Взять в работу" not in str(alerts(desk, GROUP)[0]["reply_markup"])
    # The /my sent before the take was empty; it shows the case now.
    my = [m for m in anna.messages() if "Мои кейсы" in m.get("text", "")]
    assert len(my) == 1
    assert "#1 Иван Петров" in my[0]["text"]
    # A newer list takes the place of the older one in the chat: never two that disagree.
    await anna.send("/my")
    assert len([m for m in anna.messages() if "Мои кейсы" in m.get("text", "")]) == 1
    await anna.send("/case 1")
    assert "взят в работу (Анна)" in anna.last["text"]
    await anna.send("/case abc")
    assert "например: /case 12" in anna.last["text"]
    await anna.send("/case 99")
    assert "Кейса №99 нет" in anna.last["text"]
    # A customer typing a staff command gets the customer help, nothing about cases.
    await customer.send("/cases")
    assert "/language" in customer.last["text"]


async def test_relay_through_a_forum_topic_both_ways(app: App) -> None:
    app.telegram.add_group(GROUP, forum=True)
    desk = app.restarted(managers_chat_id=GROUP, manager_ids=[ANNA], alert_to="group")
    try:
        customer = await answer(desk, {7: "Да, повторный ремонт"})
        await finish(customer)
        [case] = await cases(desk)
        assert case.topic_id is not None
        assert desk.telegram.chats[GROUP].topics[case.topic_id] == "#1 Иван Петров"
        [alert] = alerts(desk, GROUP)
        assert alert["message_thread_id"] == case.topic_id

        anna = desk.member(ANNA, "Анна", chat_id=GROUP)
        await anna.send("Иван, добрый день! Когда вам удобно заехать?", thread_id=case.topic_id)
        assert customer.last["text"].endswith("Иван, добрый день! Когда вам удобно заехать?")
        assert "Клиентская служба:" in customer.last["text"]

        await customer.send("Завтра после обеда")
        back = desk.telegram.bot_messages(GROUP)[-1]
        assert back["message_thread_id"] == case.topic_id
        assert "Клиент Иван Петров, кейс №1:" in back["text"]
        assert "Завтра после обеда" in back["text"]
        assert "Передано в клиентскую службу" in customer.last["text"]

        # Commands and other topics are not relayed.
        before = len(customer.messages())
        await anna.send("/cases", thread_id=case.topic_id)
        assert len(customer.messages()) == before
        assert (await events(desk, case.id))[-2:] == ["relay_out", "relay_in"]
    finally:
        await desk.bot.session.close()


async def test_relay_by_replying_to_the_alert(desk: App) -> None:
    customer = await answer(desk, {11: "1"})
    await finish(customer)
    boris = desk.member(BORIS, "Борис", chat_id=GROUP)
    alert = alerts(desk, GROUP)[0]
    await boris.send("Приносим извинения, перезвоним сегодня.", reply_to=alert["message_id"])
    assert "Приносим извинения, перезвоним сегодня." in customer.last["text"]
    # Someone outside the staff replying to the alert is not relayed.
    stranger = desk.member(STRANGER, "Посторонний", chat_id=GROUP)
    await stranger.send("Я тоже хочу сказать", reply_to=alert["message_id"])
    assert "Я тоже хочу сказать" not in customer.last["text"]

    await customer.send("Спасибо, жду звонка")
    for chat in (GROUP, ANNA, BORIS):
        last = desk.telegram.bot_messages(chat)[-1]
        assert "Спасибо, жду звонка" in last["text"]
        assert last["reply_to_message"]["message_id"] == alerts(desk, chat)[0]["message_id"]
    async with desk.sessions() as session:
        kept = (
            await session.scalars(
                select(CaseEvent.text).where(CaseEvent.kind.in_(("relay_out", "relay_in")))
            )
        ).all()
    assert kept == ["Приносим извинения, перезвоним сегодня.", "Спасибо, жду звонка"]


async def test_a_manager_who_blocked_the_bot_does_not_stop_the_others(desk: App) -> None:
    desk.telegram.fail(
        Failure("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=BORIS)
    )
    customer = await answer(desk, {7: "Да, повторный ремонт"}, until=7)
    assert len(alerts(desk, GROUP)) == 1
    assert len(alerts(desk, ANNA)) == 1
    assert alerts(desk, BORIS) == []
    async with desk.sessions() as session:
        failed = await session.scalar(select(Delivery).where(Delivery.chat_id == BORIS))
        assert failed is not None
        assert failed.status == "pending"
        assert failed.attempts == 1
        assert "blocked" in (failed.last_error or "")

    # Not due yet: nothing is retried early.
    assert await desk.outbox.deliver(desk.bot) == 0
    desk.clock.advance(seconds=31)
    assert await desk.outbox.deliver(desk.bot) == 1
    [alert] = alerts(desk, BORIS)
    assert "Повторный ремонт: Да, повторный ремонт" in alert["text"]
    await customer.click(GOOD[8])
    assert len(alerts(desk, BORIS)) == 1


async def test_a_rate_limited_alert_waits_for_retry_after(desk: App) -> None:
    desk.telegram.fail(
        Failure(
            "sendMessage", 429, "Too Many Requests: retry after 5", chat_id=GROUP, retry_after=5
        )
    )
    await answer(desk, {10: "Да, превысила"}, until=10)
    assert alerts(desk, GROUP) == []
    desk.clock.advance(seconds=5)
    assert await desk.outbox.deliver(desk.bot) == 1
    assert len(alerts(desk, GROUP)) == 1


async def test_take_sla_reminder_fires_once_across_a_restart(desk: App) -> None:
    from handlers.outbound.sla import check_sla

    # 18:30 in Moscow: 1.5 working hours left today, so two hours run out at 09:30 tomorrow.
    desk.clock.now = desk.clock.now.replace(hour=15, minute=30)
    customer = await answer(desk, {7: "Да, повторный ремонт"})
    await finish(customer)
    [case] = await cases(desk)
    assert case.take_due_at is not None
    assert case.take_due_at.isoformat() == "2026-10-21T06:30:00+00:00"

    desk.clock.advance(hours=14, minutes=59)  # 09:29 tomorrow
    assert await check_sla(desk.outbox, desk.bot) == 0
    desk.clock.advance(minutes=1)
    assert await check_sla(desk.outbox, desk.bot) == 1
    for chat in (GROUP, ANNA, BORIS, ADMIN):
        reminder = desk.telegram.bot_messages(chat)[-1]
        assert "никто не взял в работу за согласованное время" in reminder["text"]
    assert await check_sla(desk.outbox, desk.bot) == 0

    restarted = desk.restarted()
    try:
        desk.clock.advance(hours=1)
        assert await check_sla(restarted.outbox, restarted.bot) == 0
    finally:
        await restarted.bot.session.close()
    async with desk.sessions() as session:
        reminders = await session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "reminder_sent")
        )
    assert reminders == 1


async def test_resolve_sla_reminds_the_owner(desk: App) -> None:
    from handlers.outbound.sla import check_sla

    customer = await answer(desk, {8: "Нет, с опозданием"})
    await finish(customer)
    anna = desk.member(ANNA, "Анна")
    await anna.click("Взять в работу", alerts(desk, ANNA)[0])
    desk.clock.advance(hours=47)
    assert await check_sla(desk.outbox, desk.bot) == 0
    desk.clock.advance(hours=1)
    assert await check_sla(desk.outbox, desk.bot) == 1
    assert "всё ещё не решён" in anna.last["text"]
    assert await check_sla(desk.outbox, desk.bot) == 0
    assert CUSTOMER_ID not in {
        c.params.get("chat_id") for c in desk.telegram.calls_of("sendMessage")[-1:]
    }


async def test_help_tells_staff_their_commands(desk: App) -> None:
    anna = desk.member(ANNA, "Анна")
    await anna.send("/help")
    assert "/cases" in anna.last["text"]
    assert "/broadcast" not in anna.last["text"]
    admin = desk.member(ADMIN, "Руководитель")
    await admin.send("/help")
    assert "/broadcast" in admin.last["text"]
    customer = desk.customer()
    await customer.send("/help")
    assert "/cases" not in customer.last["text"]
