"""The customer's survey, end to end through the real Dispatcher and the fake Bot API."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from bot.isolation import ChatIsolation
from handlers.views.callbacks import AnswerCallback
from storage.models import Answer
from survey.questionnaire import QUESTIONS, Kind
from tests.conftest import CUSTOMER_ID, App

# One label per question: a mix of good and bad answers, a "don't remember" and two ratings.
WALK = {
    1: "Ответили быстро",
    2: "Нет, не предложили",
    3: "Да, у автомобиля",
    4: "Затрудняюсь ответить",
    5: "Да, согласовали",
    6: "Да, всё выполнено",
    7: "Да, повторный ремонт",
    8: "Да, вовремя",
    9: "Да, всё объяснили",
    10: "Нет, не превысила",
    11: "4",
    12: "2",
}
EXPECTED = {
    1: ("no", 1.0, False),
    2: ("no", 0.0, True),
    3: ("yes", 1.0, False),
    4: ("unsure", None, False),
    5: ("yes", 1.0, False),
    6: ("yes", 1.0, False),
    7: ("yes", 0.0, True),
    8: ("yes", 1.0, False),
    9: ("yes", 1.0, False),
    10: ("no", 1.0, False),
    11: ("4", 0.75, False),
    12: ("2", 0.25, True),
}


async def stored_answers(app: App, survey_id: int) -> dict[int, tuple[str, float | None, bool]]:
    async with app.sessions() as session:
        rows = await session.scalars(select(Answer).where(Answer.survey_id == survey_id))
        return {a.question: (a.value, a.score, a.is_problem) for a in rows}


async def test_full_walk_is_stored_answer_by_answer(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    assert "Здравствуйте, Иван Петров!" in customer.last["text"]
    assert "ZN-0001" in customer.last["text"]
    assert "18.10.2026" in customer.last["text"]
    await customer.click("Начать опрос")

    for number, label in WALK.items():
        assert f"Вопрос {number} из 12" in customer.last["text"]
        await customer.click(label)
        # Written the moment it is given, not at the end.
        assert (await stored_answers(app, survey.id))[number] == EXPECTED[number]
        assert len(customer.live_keyboards()) == 1, "the chat must not fill up with keyboards"

    assert "Хотите что-нибудь добавить?" in customer.last["text"]
    await customer.send("Мастер был вежлив, но машину отдали на час позже.")
    assert "Можно ли менеджеру клиентской службы связаться с вами" in customer.last["text"]
    await customer.click("Да, свяжитесь со мной")

    assert "Спасибо за ваши ответы!" in customer.last["text"]
    assert "скоро свяжется с вами" in customer.last["text"]
    assert "Завтра утром" in customer.buttons()  # a convenient time for the call
    await customer.click("Завтра утром")
    assert "позвонит вам утром 21.10.2026" in customer.last["text"]
    assert customer.live_keyboards() == []
    assert await stored_answers(app, survey.id) == EXPECTED
    done = await app.survey()
    assert done.status == "completed"
    assert done.comment == "Мастер был вежлив, но машину отдали на час позже."
    assert done.wants_contact is True
    assert done.started_at is not None
    assert done.completed_at is not None
    # Kept on completion for the reports: 7 good, Q2/Q7 bad, Q4 left out, 0.75 and 0.25.
    assert done.score == pytest.approx((7 + 0.75 + 0.25) / 11)
    # Buttons edit one message in place: intro/questions, the typed comment's echo, then new ones.
    assert len(customer.messages()) <= 4


async def test_back_changes_the_previous_answer_in_place(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")
    await customer.click("Да, предложили")
    assert "Вопрос 3 из 12" in customer.last["text"]

    await customer.click("← Назад")
    assert "Вопрос 2 из 12" in customer.last["text"]
    assert "✓ Да, предложили" in customer.buttons()
    await customer.click("Нет, не предложили")
    assert "Вопрос 3 из 12" in customer.last["text"]

    await customer.click("← Назад")
    await customer.click("← Назад")
    assert "Вопрос 1 из 12" in customer.last["text"]
    assert "← Назад" not in customer.buttons()
    await customer.click("Далее →")  # keep the answer, move on
    assert "✓ Нет, не предложили" in customer.buttons()

    answers = await stored_answers(app, survey.id)
    assert answers == {1: ("no", 1.0, False), 2: ("no", 0.0, True)}
    assert (await app.survey()).answer_codes == "nn----------"  # kept in step for reports


async def test_press_on_an_outdated_message_is_never_recorded(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    question_one = dict(customer.last)  # the message as the customer saw it at Q1

    await customer.click("Ответили быстро")
    assert "Вопрос 2 из 12" in customer.last["text"]
    # The same message, but the button still on the customer's screen is Q1's.
    await customer.click("Пришлось ждать", message=question_one)
    assert await stored_answers(app, survey.id) == {1: ("no", 1.0, False)}
    assert "Вопрос 2 из 12" in customer.last["text"]

    # A typed answer moves the survey to a new message: the old one's buttons are dead.
    old_message = dict(customer.last)
    await customer.send("да")
    assert "Вопрос 3 из 12" in customer.last["text"]
    await customer.press(
        AnswerCallback(survey_id=survey.id, step=3, value="no").pack(), old_message
    )
    assert set(await stored_answers(app, survey.id)) == {1, 2}
    alert = app.telegram.calls_of("answerCallbackQuery")[-1].params
    assert "устарела" in alert["text"]
    assert len(customer.live_keyboards()) == 1


async def test_a_press_on_a_message_too_old_to_edit_asks_the_next_question_anew(
    app: App,
) -> None:
    """Telegram hides messages older than 48 hours from bots (`date` 0): the answer is kept
    and the next question comes as a new message, which carries the live buttons."""
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    shown = customer.last
    hidden = {"message_id": shown["message_id"], "chat": shown["chat"], "date": 0}
    first = next(b for row in shown["reply_markup"]["inline_keyboard"] for b in row)

    await customer.press(first["callback_data"], hidden)

    assert "Вопрос 2 из 12" in customer.last["text"]
    assert customer.last["message_id"] != shown["message_id"]
    assert (await app.survey()).live_message_id == customer.last["message_id"]
    assert set(await stored_answers(app, survey.id)) == {1}
    await customer.click(WALK[2])  # the new message's buttons are the live ones
    assert "Вопрос 3 из 12" in customer.last["text"]
    assert set(await stored_answers(app, survey.id)) == {1, 2}


async def test_forged_buttons_are_refused_without_a_traceback(app: App) -> None:
    mine = await app.add_visit()
    other = await app.add_visit("ZN-0002", telegram_user_id=2002, phone="+79000000002")
    customer = app.customer()
    await customer.send(f"/start {mine.token}")
    await customer.click("Начать опрос")
    live = customer.last

    for data in (
        AnswerCallback(survey_id=other.id, step=1, value="yes").pack(),  # another customer's
        AnswerCallback(survey_id=999_999, step=1, value="yes").pack(),  # does not exist
        AnswerCallback(survey_id=mine.id, step=1, value="maybe").pack(),  # no such answer
        AnswerCallback(survey_id=mine.id, step=11, value="5").pack(),  # not the current step
        "ans:not-a-number:1:yes",
        "garbage",
    ):
        await customer.press(data, live)
        reply = app.telegram.calls_of("answerCallbackQuery")[-1].params
        assert reply["text"] in ("Эта кнопка больше не действует.", "Вопрос обновлён.")

    assert await stored_answers(app, mine.id) == {}
    assert await stored_answers(app, other.id) == {}
    texts = [m["text"] for m in customer.messages()]
    assert not any("пошло не так" in text for text in texts)


async def test_typed_answers(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")

    await customer.send("да")  # Q1 is negated: a bare "да" is ambiguous
    assert "выберите одну из кнопок" in customer.messages()[-2]["text"]
    assert "Вопрос 1 из 12" in customer.last["text"]
    await customer.send("ответили быстро")
    for _ in range(2, 11):
        await customer.send("Да!")
    assert "Вопрос 11 из 12" in customer.last["text"]
    await customer.send("как дела?")
    assert "от 1 до 5" in customer.messages()[-2]["text"]
    await customer.send("пять")
    await customer.send("на 4 балла")
    await customer.send("без комментариев")  # taken as the comment
    await customer.send("нет")

    answers = await stored_answers(app, survey.id)
    assert answers[1] == ("no", 1.0, False)
    assert [answers[n][0] for n in range(2, 11)] == ["yes"] * 9
    assert answers[11] == ("5", 1.0, False)
    assert answers[12] == ("4", 0.75, False)
    done = await app.survey()
    assert done.status == "completed"
    assert done.wants_contact is False
    assert len(customer.live_keyboards()) == 0


async def test_survey_resumes_after_a_restart_at_the_first_unanswered_question(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for number in range(1, 6):
        await customer.click(WALK[number])

    restarted = app.restarted()
    try:
        again = restarted.customer()
        await again.send("да")  # FSM state survived: typed text still answers Q6
        assert (await stored_answers(app, survey.id))[6] == ("yes", 1.0, False)
        await again.send("/start")
        assert "Вопрос 7 из 12" in again.last["text"]
        assert len(again.live_keyboards()) == 1
        await again.click("Нет, новое обращение")
        assert (await stored_answers(app, survey.id))[7] == ("no", 1.0, False)
    finally:
        await restarted.bot.session.close()


async def test_invitation_links_that_cannot_be_opened(app: App) -> None:
    survey = await app.add_visit()
    other = await app.add_visit("ZN-0002", telegram_user_id=2002, phone="+79000000002")
    customer = app.customer()

    await customer.send("/start not-a-token")
    assert "ссылка недействительна" in customer.last["text"]
    await customer.send("/start " + "x" * 80)
    assert "ссылка недействительна" in customer.last["text"]
    await customer.send(f"/start {other.token}")
    assert "отправлено другому клиенту" in customer.last["text"]

    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for label in WALK.values():
        await customer.click(label)
    await customer.click("Без комментария")
    await customer.click("Нет, спасибо")
    await customer.send(f"/start {survey.token}")
    assert "Вы уже ответили на опрос об этом визите" in customer.last["text"]
    await customer.send("/start")
    assert "Сейчас опросов для вас нет" in customer.last["text"]


async def test_a_link_binds_an_unknown_customer_to_the_sender(app: App) -> None:
    survey = await app.add_visit(telegram_user_id=None)
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    assert "Вопрос 1 из 12" in customer.last["text"]
    stored = await app.survey()
    assert stored.visit.customer.telegram_user_id == CUSTOMER_ID
    # Once bound, the link is no longer anyone's to open.
    stranger = app.customer(user_id=3003)
    await stranger.send(f"/start {survey.token}")
    assert "отправлено другому клиенту" in stranger.last["text"]


async def test_declining_and_changing_ones_mind(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Не хочу участвовать")
    assert "не будем спрашивать" in customer.last["text"]
    assert (await app.survey()).status == "declined"
    assert (await app.survey()).declined_at is not None

    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    assert "Вопрос 1 из 12" in customer.last["text"]
    assert (await app.survey()).status == "in_progress"


async def test_long_comment_is_cut_and_the_customer_is_told(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for label in WALK.values():
        await customer.click(label)
    await customer.send("Очень " * 500)  # 3,000 characters
    assert any("сохранили первые 2000" in m["text"] for m in customer.messages())
    stored = await app.survey()
    assert stored.comment is not None
    assert len(stored.comment) == 2000
    assert "Можно ли менеджеру" in customer.last["text"]


async def test_comment_and_contact_steps_can_go_back(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for label in WALK.values():
        await customer.click(label)
    await customer.click("← Назад")
    assert "Вопрос 12 из 12" in customer.last["text"]
    assert "✓ 2" in customer.buttons()
    await customer.click("5")
    await customer.click("Без комментария")
    await customer.click("← Назад")
    assert "Хотите что-нибудь добавить?" in customer.last["text"]
    await customer.send("Всё отлично")
    await customer.click("Нет, спасибо")
    stored = await app.survey()
    assert stored.comment == "Всё отлично"
    assert (await stored_answers(app, survey.id))[12] == ("5", 1.0, False)


async def test_a_sticker_gets_a_hint(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.send_update(
        {
            "sticker": {
                "file_id": "x",
                "file_unique_id": "x",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        }
    )
    assert "ответьте кнопками" in customer.last["text"]
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0


async def test_english_speaking_customer_gets_english(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer(language_code="en-GB")
    await customer.send(f"/start {survey.token}")
    assert "Hello, Иван Петров!" in customer.last["text"]
    await customer.click("Start the survey")
    assert "Question 1 of 12" in customer.last["text"]
    assert QUESTIONS[0].text["en"] in customer.last["text"]
    assert customer.buttons()[:2] == ["Answered quickly", "Had to wait"]


async def test_language_command_switches_and_redraws_the_question(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.send("/language")
    await customer.click("English")
    assert "Question 1 of 12" in customer.last["text"]
    assert len(customer.live_keyboards()) == 1
    await customer.send("/help")
    assert "/stop" in customer.last["text"]
    assert "receive no more surveys" in customer.last["text"]


async def test_stop_opts_out_and_can_be_undone(app: App) -> None:
    from storage.models import TelegramUser

    customer = app.customer()
    await customer.send("/stop")
    assert "больше не будем присылать" in customer.last["text"]
    async with app.sessions() as session:
        user = await session.get(TelegramUser, CUSTOMER_ID)
        assert user is not None
        assert user.opted_out_at is not None
    await customer.click("Снова получать опросы")
    async with app.sessions() as session:
        user = await session.get(TelegramUser, CUSTOMER_ID)
        assert user is not None
        assert user.opted_out_at is None


async def test_cancel_pauses_and_start_resumes(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    await customer.click("Ответили быстро")
    await customer.send("/cancel")
    assert "на паузе" in customer.last["text"]
    assert customer.live_keyboards() == []  # a paused survey shows no live buttons
    await customer.send("да")  # not in the survey any more: gets help, is not recorded
    assert "/start" in customer.last["text"]
    assert set(await stored_answers(app, survey.id)) == {1}
    await customer.send("/start")
    assert "Вопрос 2 из 12" in customer.last["text"]


async def test_every_question_kind_has_buttons_that_say_what_they_mean(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for q in QUESTIONS:
        buttons = customer.buttons()
        if q.kind is Kind.RATING:
            assert buttons[:5] == ["1", "2", "3", "4", "5"]
            await customer.click("5")
        else:
            assert "Да" not in buttons
            assert "Нет" not in buttons
            assert "Затрудняюсь ответить" in buttons
            await customer.click(buttons[0])
    async with app.sessions() as session:
        rows = (await session.scalars(select(Answer).where(Answer.survey_id == survey.id))).all()
        assert len(rows) == 12
        assert all(not a.is_problem for a in rows)


async def test_a_double_tap_counts_once_and_leaves_no_chat_lock_behind(app: App) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    question_message = customer.last
    button = question_message["reply_markup"]["inline_keyboard"][0][0]
    # Both presses arrive before either is handled; the chat's lock runs them in turn.
    await asyncio.gather(
        customer.press(button["callback_data"], question_message),
        customer.press(button["callback_data"], question_message),
    )
    assert set(await stored_answers(app, survey.id)) == {1}
    assert (await app.survey()).step == 2
    assert "Вопрос 2 из 12" in customer.last["text"]
    isolation = app.dispatcher.fsm.events_isolation
    if isinstance(isolation, ChatIsolation):  # with Redis the locks are aiogram's Redis keys
        # One lock per chat while it is busy, none once it is idle: no growth per customer.
        assert isolation.chats_locked == 0


async def test_chat_isolation_runs_one_update_per_chat_and_forgets_idle_chats() -> None:
    isolation = ChatIsolation()
    first, second = StorageKey(bot_id=1, chat_id=10, user_id=10), StorageKey(1, 20, 20)
    events: list[str] = []

    async def update(key: StorageKey, name: str) -> None:
        async with isolation.lock(key):
            events.append(f"{name} in")
            await asyncio.sleep(0.01)
            events.append(f"{name} out")

    await asyncio.gather(update(first, "a1"), update(first, "a2"), update(second, "b"))
    # Same chat: strictly one after the other. Another chat: alongside.
    assert events.index("a1 out") < events.index("a2 in")
    assert events.index("b in") < events.index("a1 out")
    assert isolation.chats_locked == 0


async def test_chat_isolation_closed_under_an_update_in_flight() -> None:
    # Shutdown closes the isolation while the last updates finish: no KeyError for them.
    isolation = ChatIsolation()
    async with isolation.lock(StorageKey(bot_id=1, chat_id=10, user_id=10)):
        await isolation.close()
    assert isolation.chats_locked == 0
