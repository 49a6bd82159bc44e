"""Phone surveys by the call centre: an operator takes a customer from the call list, walks
the same questionnaire on their behalf, escalations fire as for Telegram, and /stats shows
the phone channel; unanswered calls come back later, at most CALL_ATTEMPTS times."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.lifecycle import set_commands
from handlers.outbound.menus import OPERATOR_COMMANDS
from storage.models import Case
from storage.uow import UnitOfWork
from tests.conftest import App

GROUP, MANAGER, OPERATOR = -100_600, 2, 9


@pytest.fixture
async def centre(app: App) -> AsyncIterator[App]:
    app.telegram.add_group(GROUP)
    staffed = app.restarted(
        managers_chat_id=GROUP, alert_to="group", operator_ids=[OPERATOR], call_attempts=3
    )
    yield staffed
    await staffed.bot.session.close()


async def offline_customer(app: App, order_no: str, name: str) -> None:
    """A visit of a customer with no Telegram: their invitation is skipped, they are to call."""
    phone = f"+7912{order_no[-1]}000000"
    await app.add_visit(order_no, telegram_user_id=None, phone=phone, name=name)
    async with app.sessions() as session:
        db = UnitOfWork(session)
        survey = await db.outreach.by_order(order_no)
        assert survey is not None
        await db.outreach.schedule(survey, "invitation", app.clock(), app.clock())
        await session.commit()
    await app.services.sender.run_once(app.bot)


async def test_an_operator_completes_a_phone_survey_and_stats_show_it(centre: App) -> None:
    await offline_customer(centre, "ZN-1", "Иван Петров")
    operator = centre.member(OPERATOR, "Ольга")
    await operator.send("/start")
    assert operator.last["text"].startswith("Здравствуйте, Ольга! Вы — оператор колл-центра")
    await set_commands(centre.bot, centre.services)
    assert centre.telegram.menu_for(OPERATOR, "ru") == list(OPERATOR_COMMANDS)

    await operator.send("/calllist")
    assert "Иван Петров, +79121000000" in operator.last["text"]
    await operator.click("📞 Иван Петров")
    card = operator.last
    assert card["text"].startswith("📞 Телефонный опрос: Иван Петров, +79121000000")
    assert "Звонков было: 0 из 3" in card["text"]

    # Nobody answers: the card says when to call again, and the list waits till then.
    await operator.click("Не дозвонился", card)
    assert "следующий звонок" in card["text"] or "следующий звонок" in operator.last["text"]
    await operator.send("/calllist")
    assert operator.last["text"].startswith("Список обзвона пуст")
    centre.clock.advance(hours=2, minutes=1)
    await operator.send("/calllist")
    assert "звонков 1 из 3" in operator.last["text"]

    # The customer answers: the same twelve questions, in the operator's chat.
    await operator.click("📞 Иван Петров")
    await operator.click("Клиент на линии: начать опрос")
    question = operator.last
    assert question["text"].startswith("📞 Телефонный опрос: Иван Петров, +79121000000")
    assert "Вопрос 1 из 12" in question["text"]
    for number in range(1, 13):
        bad = {8: "Нет, с опозданием"}
        await operator.click(bad.get(number) or operator.buttons()[0])
    # The escalation fires as for a Telegram answer, at once.
    alert = centre.telegram.bot_messages(GROUP)[0]
    assert "Автомобиль готов вовремя: Нет, с опозданием" in alert["text"]
    await operator.send("Клиент просит перезвонить насчёт сроков")  # the comment, typed
    await operator.click("Да, свяжитесь со мной")
    await operator.click("Завтра утром")
    assert "позвонит вам" in operator.last["text"]

    survey = await centre.survey("ZN-1")
    assert (survey.channel, survey.operator_id, survey.status) == ("phone", OPERATOR, "completed")
    assert survey.call_attempts == 2
    assert survey.comment == "Клиент просит перезвонить насчёт сроков"
    async with centre.sessions() as session:
        case = await session.get(Case, 1)
        assert case is not None
        assert case.call_window == "morning"

    manager = centre.member(MANAGER, "Анна")
    await manager.send("/stats 2026-10")
    summary = [m for m in manager.messages() if "Статистика" in m.get("text", "")][-1]["text"]
    assert "телефон: приглашено 1, завершили 1 (100%)" in summary


async def test_calls_stop_after_the_attempts_or_a_refusal(centre: App) -> None:
    await offline_customer(centre, "ZN-2", "Пётр")
    await offline_customer(centre, "ZN-3", "Мария")
    operator = centre.member(OPERATOR, "Ольга")
    for _attempt in range(3):
        await operator.send("/phone ZN-2")
        await operator.click("Не дозвонился")
        centre.clock.advance(hours=3)
    assert operator.last["text"] == "Пётр: больше не звоним (попытки кончились)."
    await operator.send("/phone ZN-3")
    await operator.click("Отказался")
    assert operator.last["text"] == "Мария отказался от опроса: убран из списка обзвона."
    await operator.send("/calllist")
    assert operator.last["text"].startswith("Список обзвона пуст")
    assert (await centre.survey("ZN-3")).status == "declined"
    await operator.send("/phone ZN-3")
    assert "звонить незачем" in operator.last["text"]
    await operator.send("/phone ZN-404")
    assert "например: /phone ZN-1" in operator.last["text"]


async def test_an_operator_is_added_in_the_bot_and_sees_no_cases(centre: App) -> None:
    admin = centre.member(1, "Мария")
    await admin.send("/staff add оператор 4321")
    assert "теперь оператор колл-центра" in admin.last["text"]
    newcomer = centre.member(4321, "Игорь")
    await newcomer.send("/calllist")
    assert newcomer.last["text"].startswith("Список обзвона пуст")
    await newcomer.send("/cases")  # cases are the managers' work
    assert "Открытые кейсы" not in newcomer.last["text"]
