"""The report facts a survey row keeps (visit date, advisor, completion seconds) follow
the visit and the survey's own timestamps."""

from __future__ import annotations

from datetime import date, timedelta

from bot.playground import CONTENT_WALK
from storage.models import Survey
from storage.visits import VisitRepository
from survey.visit_import import VisitRecord
from tests.conftest import App


async def test_a_re_imported_visit_carries_its_new_date_and_advisor_to_the_survey(
    app: App,
) -> None:
    survey = await app.add_visit()
    assert (survey.visit_date, survey.advisor) == (date(2026, 10, 18), "Сергей Смирнов")
    moved = VisitRecord(
        3, "ZN-0001", date(2026, 10, 20), "Иван Петров", "+79123456789", "Kia", "Анна Орлова", None
    )
    async with app.sessions() as session:
        await VisitRepository(session).import_records([moved], app.clock())
        await session.commit()
    async with app.sessions() as session:
        row = await session.get(Survey, survey.id)
        assert row is not None
        assert (row.visit_date, row.advisor) == (date(2026, 10, 20), "Анна Орлова")


async def test_completion_seconds_are_kept_when_the_survey_completes(app: App) -> None:
    survey = await app.add_visit()
    async with app.sessions() as session:
        row = await session.get(Survey, survey.id)
        assert row is not None
        row.invited_at = app.clock() - timedelta(minutes=90)
        await session.commit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    for label in CONTENT_WALK:
        await customer.click(label)
    async with app.sessions() as session:
        row = await session.get(Survey, survey.id)
        assert row is not None
        assert row.status == "completed"
        assert row.completion_seconds == 90 * 60
