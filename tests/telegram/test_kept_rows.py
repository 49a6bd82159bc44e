"""A press decides on the survey row this process committed last (storage.surveys,
SurveyRows) without reading it; whatever changed the row since, the press comes out as if
it had read it: the database's row decides, nothing is written from an old one, nothing
is refused because of one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from bot.playground import CONTENT_ANSWERS
from storage.models import Answer, Case, Customer, ProcessedUpdate, Survey
from tests.conftest import CUSTOMER_ID, App


async def _stored(app: App) -> tuple[int, dict[int, str], int]:
    """The survey's step, its answers, and how many cases it has."""
    async with app.sessions() as session:
        survey = (await session.scalars(select(Survey))).one()
        answers = {a.question: a.value for a in (await session.scalars(select(Answer))).all()}
        cases = await session.scalar(select(func.count()).select_from(Case))
        return survey.step, answers, int(cases or 0)


def _callback_answers(app: App) -> list[str]:
    """The texts the bot answered button presses with, in order."""
    calls = app.telegram.calls
    return [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]


async def _on_question(app: App, number: int):  # type: ignore[no-untyped-def]
    """A customer who pressed the answers before question `number`."""
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for label in CONTENT_ANSWERS[: number - 1]:
        await customer.click(label)
    assert f"Вопрос {number} из 12" in customer.last["text"]
    return survey, customer


@pytest.mark.parametrize("answered", ["typed", "in another process"])
async def test_a_press_after_question_3_was_answered_past_the_kept_row_is_taken(
    app: App, answered: str
) -> None:
    """Question 3 was answered past the row kept by the last press: typed (a new message
    carries question 4; written through the ORM, which also makes the process forget the
    row), or pressed in another process (after a restart, or a twin behind the same
    webhook; the row kept here still says question 3). Question 4's button, which looks
    out of date by the kept row, is taken: the database's row decides."""
    _, customer = await _on_question(app, 3)
    if answered == "typed":
        await customer.send("да")
    else:
        await app.restarted().customer().click("Да, у автомобиля")
    assert "Вопрос 4 из 12" in customer.last["text"]

    await customer.click("Да, объяснили подробно")

    assert "Вопрос 5 из 12" in customer.last["text"]
    assert await _stored(app) == (5, {1: "no", 2: "yes", 3: "yes", 4: "yes"}, 0)
    assert not any("устарела" in text for text in _callback_answers(app))


async def test_a_press_on_a_step_another_process_answered_writes_nothing(app: App) -> None:
    """Another process (after a restart, or its twin behind the same webhook) took the
    answer to question 3; this one still keeps the row from question 2. The old button
    pressed here is checked against the database's row: the other answer stays, and the
    customer sees the question the survey is on."""
    _, customer = await _on_question(app, 3)
    question_3 = dict(customer.last)  # the message as it is now, with question 3's buttons
    other = app.restarted().customer()
    await other.click("Да, у автомобиля")
    assert "Вопрос 4 из 12" in customer.last["text"]

    not_yes = next(b for b in customer.buttons(question_3) if not b.startswith("Да"))
    await customer.click(not_yes, message=question_3)

    assert await _stored(app) == (4, {1: "no", 2: "yes", 3: "yes"}, 0)
    assert "Вопрос 4 из 12" in customer.last["text"]
    # The press was handled once: its id recorded with nothing of it written.
    assert customer.last_update is not None
    async with app.sessions() as session:
        recorded = await session.get(ProcessedUpdate, (app.bot.id, customer.last_update.update_id))
    assert recorded is not None

    await customer.click("Да, объяснили подробно")  # and the survey goes on from there
    assert await _stored(app) == (5, {1: "no", 2: "yes", 3: "yes", 4: "yes"}, 0)


async def test_a_customer_no_longer_linked_cannot_answer_from_a_kept_row(app: App) -> None:
    """The customer's Telegram account was unlinked from the visit (a correction by
    staff, or another person's number): the row kept here still names them, the
    database does not, and the database decides."""
    _, customer = await _on_question(app, 3)
    async with app.sessions() as session:
        await session.execute(update(Customer).values(telegram_user_id=CUSTOMER_ID + 1))
        await session.commit()

    await customer.click("Да, у автомобиля")

    assert await _stored(app) == (3, {1: "no", 2: "yes"}, 0)
    assert _callback_answers(app)[-1:] == ["Эта кнопка больше не действует."]


async def test_a_case_another_process_opened_is_not_changed_by_an_old_press(app: App) -> None:
    """Another process took question 7's answer, a problem, and opened the case; this one
    still keeps the row from question 6, which says there is no case. An old button of
    question 7 pressed here finds that case (not a second one), and when the row proves
    out of date, nothing of the press is kept, the case's update included."""
    _, customer = await _on_question(app, 7)
    question_7 = dict(customer.last)
    other = app.restarted().customer()
    await other.click("Да, повторный ремонт")
    step, answers, cases = await _stored(app)
    assert (step, cases) == (8, 1)
    async with app.sessions() as session:
        before = (await session.scalars(select(Case))).one()

    await customer.click("Нет, новое обращение", message=question_7)

    assert await _stored(app) == (step, answers, 1)
    async with app.sessions() as session:
        after = (await session.scalars(select(Case))).one()
    assert (after.id, after.problems, after.version) == (
        before.id,
        before.problems,
        before.version,
    )
    assert "Вопрос 8 из 12" in customer.last["text"]
