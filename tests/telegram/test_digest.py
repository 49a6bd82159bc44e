"""The weekly report to management: due on Monday at DIGEST_AT, sent once however many
instances race for it, with the seeded week's figures; and on demand from the CLI."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.scheduler import digest_job
from storage.models import Case, Customer, Survey, Visit
from survey.digest import (
    DigestError,
    DigestPolicy,
    due_week,
    parse_digest_at,
    parse_week,
    week_label,
)
from survey.metrics import survey_score
from survey.periods import Period
from survey.questionnaire import encode_answers
from tests.conftest import App

MOSCOW = ZoneInfo("Europe/Moscow")
ADMIN, BOSS = 1, 7
# Monday 12.10.2026, 09:05 in Moscow: the report for week 41 (05.10-11.10) is due.
MONDAY = datetime(2026, 10, 12, 9, 5, tzinfo=MOSCOW).astimezone(UTC)
GOOD = {n: "yes" for n in range(1, 11)} | {1: "no", 7: "no", 10: "no", 11: "5", 12: "5"}
LATE_AND_DEARER = GOOD | {8: "no", 10: "yes"}  # Q8 and Q10 bad: score 10/12


def test_when_and_which_week() -> None:
    assert parse_digest_at("mon 09:00") == (0, time(9, 0))
    assert parse_digest_at("Friday 17:30") == (4, time(17, 30))
    assert parse_digest_at("off") == (None, time(9, 0))
    for wrong in ("monday", "09:00", "mon 25:00", "someday 09:00"):
        with pytest.raises(DigestError):
            parse_digest_at(wrong)
    assert parse_week("2026-W47") == Period(date(2026, 11, 16), date(2026, 11, 22))
    assert week_label(parse_week("2026w1")) == "2026-W01"
    with pytest.raises(DigestError):
        parse_week("2026-W54")
    policy = DigestPolicy(weekday=0, at=time(9, 0))
    before = datetime(2026, 10, 12, 8, 59, tzinfo=MOSCOW)
    assert due_week(before, policy) is None
    week = Period(date(2026, 10, 5), date(2026, 10, 11))
    assert due_week(before + timedelta(minutes=1), policy) == week
    assert due_week(datetime(2026, 10, 15, 20, 0, tzinfo=MOSCOW), policy) == week  # was down
    assert due_week(before, DigestPolicy(weekday=None)) is None


async def seed(app: App) -> None:
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    async with app.sessions() as session:
        rows = [
            # (visit day, advisor, answers, completed)
            (date(2026, 9, 16), "Смирнов", GOOD, True),  # four weeks before
            (date(2026, 10, 1), "Смирнов", GOOD, True),  # the week before
            (date(2026, 10, 6), "Смирнов", LATE_AND_DEARER, True),  # the week
            (date(2026, 10, 7), "Кузнецов", GOOD, True),
            (date(2026, 10, 8), "Кузнецов", {}, False),  # invited, not answered
        ]
        surveys = []
        for n, (day, advisor, answers, completed) in enumerate(rows, start=1):
            customer = Customer(
                name=f"Клиент {n}", phone=f"+7910000000{n}", created_at=t0, updated_at=t0
            )
            visit = Visit(
                order_no=f"ZN-{n}",
                visit_date=day,
                car="Лада",
                advisor=advisor,
                customer=customer,
                created_at=t0,
                updated_at=t0,
            )
            survey = Survey(
                visit=visit,
                token=f"t{n}",
                status="completed" if completed else "invited",
                step=14 if completed else 1,
                created_at=t0,
                updated_at=t0,
                invited_at=t0,
                started_at=t0 if completed else None,
                completed_at=t0 + timedelta(hours=1) if completed else None,
                score=survey_score(answers) if completed else None,
                answer_codes=encode_answers(answers),
            )
            session.add(survey)
            surveys.append(survey)
        await session.flush()
        # Two cases of the week, both past their SLA now: one nobody took, one Anna has.
        for survey, owner in ((surveys[2], None), (surveys[3], "Анна")):
            session.add(
                Case(
                    survey_id=survey.id,
                    severity="high",
                    status="taken" if owner else "open",
                    problems=[],
                    version=1,
                    assignee_id=2 if owner else None,
                    assignee_name=owner,
                    created_at=MONDAY - timedelta(days=5),
                    updated_at=MONDAY - timedelta(days=5),
                    take_due_at=MONDAY - timedelta(days=5, hours=-2),
                    taken_at=MONDAY - timedelta(days=5, hours=-1) if owner else None,
                    resolve_due_at=MONDAY - timedelta(days=3) if owner else None,
                )
            )
        await session.commit()


@pytest.fixture
async def office(app: App) -> AsyncIterator[App]:
    app.clock.now = MONDAY
    staffed = app.restarted(admin_ids=[ADMIN], digest_to=[ADMIN, BOSS])
    yield staffed
    await staffed.bot.session.close()


async def test_the_report_goes_out_once_with_the_weeks_figures(office: App) -> None:
    await seed(office)
    boss = office.member(BOSS, "Директор")
    office.clock.now = MONDAY - timedelta(minutes=10)  # 08:55: not yet
    assert await digest_job(office.services, office.bot) is False
    assert office.telegram.bot_messages(BOSS) == []

    office.clock.now = MONDAY
    other = office.restarted()  # a second instance on the same database
    try:
        claimed = await asyncio.gather(
            digest_job(office.services, office.bot), digest_job(other.services, other.bot)
        )
    finally:
        await other.bot.session.close()
    assert sorted(claimed) == [False, True]
    for chat in (ADMIN, BOSS):
        messages = office.telegram.bot_messages(chat)
        assert [("text" in m, "photo" in m, "document" in m) for m in messages] == [
            (True, False, False),
            (False, True, False),
            (False, False, True),
        ]
    # The next run of the job, or a restart later that day: nothing again.
    assert await digest_job(office.services, office.bot) is False
    office.clock.advance(hours=3)
    again = office.restarted()
    assert await digest_job(again.services, again.bot) is False
    await again.bot.session.close()
    assert len(office.telegram.bot_messages(BOSS)) == 3

    text, chart, document = boss.messages()
    report = text["text"]
    assert report.startswith("Отчёт за неделю 2026-W41: 05.10–11.10.2026")
    assert "Telegram: приглашено 3, завершили 2, доля ответивших 67%" in report
    # CSI (10/12 + 1) / 2 = 91,7; the week before and the four weeks before were 100.
    assert "CSI 91,7: −8,3 к прошлой неделе, −8,3 к четырём неделям до неё (100,0)" in report
    assert "8. Автомобиль готов вовремя: 50% (n=2)" in report
    assert "10. Счёт выше согласованного: 50% (n=2)" in report
    assert "Смирнов: 83,3 (n=1), за четыре недели до этого 100,0" in report
    assert "Кузнецов" not in report.split("упал")[1].split("Кейсы")[0]
    assert "Открыто за неделю 2, открыто сейчас 2, просрочено 2" in report
    assert "Клиент 3 · никто не взял · не взят вовремя" in report
    assert "Клиент 4 · Анна · не решён вовремя" in report
    assert chart["caption"] == "CSI по неделям, последние восемь недель"
    assert document["caption"] == "Неделя 2026-W41 файлом Excel"
    book = load_workbook(io.BytesIO(office.telegram.files[document["document"]["file_id"]]))
    summary = {r[0]: r[1] for r in book["Сводка"].iter_rows(values_only=True) if r[0]}
    assert summary["Период"] == "05.10–11.10.2026"
    assert summary["Завершили опрос"] == 2


async def test_the_report_on_demand_from_the_command_line(
    office: App,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from bot.cli import main

    await seed(office)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", office.settings.database_url)
    assert await asyncio.to_thread(main, ["digest", "--week", "2026-W41"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Отчёт за неделю 2026-W41: 05.10–11.10.2026")
    assert "CSI 91,7" in out
    assert "<b>" not in out
    assert await asyncio.to_thread(main, ["digest", "--week", "soon"]) == 2
    assert "--week" in capsys.readouterr().err
