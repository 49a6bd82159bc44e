"""Reports against a small data set with every figure computed by hand."""

from __future__ import annotations

import csv
import io
import struct
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.playground.fake_html import spans
from storage.models import Answer, Case, Customer, Survey, Visit
from storage.reports import ReportRepository
from storage.workflows.report import build_report, segment_counts
from survey.metrics import (
    Segment,
    csi,
    median,
    middle_offset,
    segment,
    share,
    survey_score,
)
from survey.periods import Period, PeriodError, parse_period
from survey.questionnaire import encode_answers, question
from tests.conftest import App

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
T0 = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)

S1 = {
    1: "no",
    2: "yes",
    3: "no",
    4: "unsure",
    5: "yes",
    6: "yes",
    7: "no",
    8: "yes",
    9: "yes",
    10: "no",
    11: "5",
    12: "3",
}
S2 = {
    1: "yes",
    2: "no",
    3: "no",
    4: "no",
    5: "no",
    6: "no",
    7: "yes",
    8: "no",
    9: "no",
    10: "yes",
    11: "1",
    12: "2",
}
S3 = {1: "no", 2: "unsure", 3: "yes"}  # unfinished
S5 = {n: ("no" if n in (1, 7, 10) else "yes") for n in range(1, 11)} | {11: "5", 12: "5"}

S1_SCORE = 9.5 / 11  # Q4 "don't remember" left out; Q3 bad; Q12 = 3 -> 0.5
S2_SCORE = 0.25 / 12  # everything bad but Q12 = 2 -> 0.25


async def seed(app: App) -> None:
    """Four October visits (two advisors) and one September visit of customer 1."""
    async with app.sessions() as session:
        c1 = Customer(
            name="Анна", phone="+79000000001", telegram_user_id=1, created_at=T0, updated_at=T0
        )
        c2 = Customer(
            name="Борис", phone="+79000000002", telegram_user_id=2, created_at=T0, updated_at=T0
        )
        c3 = Customer(
            name="Вера", phone="+79000000003", telegram_user_id=3, created_at=T0, updated_at=T0
        )
        session.add_all([c1, c2, c3])

        def survey(
            n: int,
            customer: Customer,
            day: date,
            advisor: str,
            status: str,
            answers: dict[int, str],
            hours_to_complete: float | None,
        ) -> Survey:
            visit = Visit(
                order_no=f"ZN-{n}",
                visit_date=day,
                car="Kia",
                advisor=advisor,
                customer=customer,
                created_at=T0,
                updated_at=T0,
            )
            started = answers or status != "invited"
            row = Survey(
                visit=visit,
                token=f"t{n}",
                status=status,
                step=1,
                created_at=T0,
                updated_at=T0,
                invited_at=T0,
                started_at=T0 if started else None,
                completed_at=T0 + timedelta(hours=hours_to_complete)
                if hours_to_complete
                else None,
                score=survey_score(answers) if status == "completed" else None,
                answer_codes=encode_answers(answers),
            )
            for number, value in answers.items():
                q = question(number)
                row.answers.append(
                    Answer(
                        question=number,
                        value=value,
                        score=q.score(value),
                        is_problem=q.is_problem(value),
                        answered_at=T0,
                    )
                )
            session.add(row)
            return row

        survey(1, c1, date(2026, 10, 5), "Смирнов", "completed", S1, 2)
        s2 = survey(2, c2, date(2026, 10, 7), "Смирнов", "completed", S2, 6)
        survey(3, c3, date(2026, 10, 9), "Кузнецов", "in_progress", S3, None)
        survey(4, c3, date(2026, 10, 10), "Кузнецов", "invited", {}, None)
        s5 = survey(
            5, c1, date(2026, 9, 20), "Кузнецов", "completed", S5, -200
        )  # answered earlier
        await session.flush()
        for survey_row, taken_after, resolved_after in ((s2, 0.5, 5), (s5, 3, None)):
            session.add(
                Case(
                    survey_id=survey_row.id,
                    severity="high",
                    status="resolved" if resolved_after else "taken",
                    problems=[],
                    version=1,
                    created_at=T0,
                    updated_at=T0,
                    take_due_at=T0 + timedelta(hours=2),
                    taken_at=T0 + timedelta(hours=taken_after),
                    resolved_at=T0 + timedelta(hours=resolved_after) if resolved_after else None,
                )
            )
        await session.commit()


async def test_every_metric_by_hand(app: App) -> None:
    await seed(app)
    async with app.sessions() as session:
        report = await build_report(ReportRepository(session), OCTOBER)
        everything = await build_report(
            ReportRepository(session), Period(None, date(2026, 10, 31))
        )
        segments = await segment_counts(ReportRepository(session), date(2026, 10, 20), 80, 2)

    assert (report.funnel.invited, report.funnel.started, report.funnel.completed) == (4, 3, 2)
    assert report.funnel.response_rate == 0.5
    assert report.csi_surveys == 2
    assert report.csi == pytest.approx((S1_SCORE + S2_SCORE) / 2 * 100)
    assert report.median_completion_seconds == pytest.approx(4 * 3600)  # 2 h and 6 h

    by_number = {q.question: q for q in report.questions}
    assert (by_number[1].answered, by_number[1].problems) == (3, 1)
    assert by_number[2].answered == 2
    assert by_number[2].unsure == 1
    assert by_number[2].problem_share == 0.5
    assert by_number[3].problem_share == pytest.approx(2 / 3)
    assert (by_number[4].answered, by_number[4].problems, by_number[4].unsure) == (1, 1, 1)
    assert by_number[11].mean_rating == 3.0
    assert by_number[11].problem_share == 0.5
    assert by_number[12].mean_rating == 2.5
    assert by_number[5].problem_share == 0.5
    assert by_number[1].mean_rating is None

    [smirnov, kuznetsov] = report.advisors
    assert (smirnov.advisor, smirnov.completed) == ("Смирнов", 2)
    assert smirnov.csi_mean_score == pytest.approx((S1_SCORE + S2_SCORE) / 2)
    assert (smirnov.friendliness, smirnov.responsiveness) == (3.0, 2.5)
    assert (kuznetsov.advisor, kuznetsov.completed, kuznetsov.csi_mean_score) == (
        "Кузнецов",
        0,
        None,
    )
    assert (kuznetsov.problems, kuznetsov.answered) == (0, 2)

    assert report.weeks == [(date(2026, 10, 5), 2, pytest.approx((S1_SCORE + S2_SCORE) / 2))]
    assert [w[1] for w in everything.weeks] == [1, 2]  # the September week, then October's
    assert everything.csi == pytest.approx((S1_SCORE + S2_SCORE + 1.0) / 3 * 100)

    # Cases of October visits: only survey 2's (survey 5's visit is in September).
    cases = report.escalations
    assert (cases.opened, cases.taken, cases.taken_within_sla, cases.resolved) == (1, 1, 1, 1)
    assert cases.median_take_seconds == pytest.approx(1800)
    assert cases.median_resolve_seconds == pytest.approx(5 * 3600)
    all_cases = everything.escalations
    assert (all_cases.opened, all_cases.taken_within_sla) == (2, 1)
    assert all_cases.median_take_seconds == pytest.approx((0.5 + 3) / 2 * 3600)

    # Anna: latest survey (Oct, CSI 86), two visits this year: true loyalty. Boris: CSI 2, once.
    assert segments == {Segment.TRUE: 1, Segment.LATENT: 0, Segment.SPURIOUS: 0, Segment.NONE: 1}


def test_survey_score_is_the_mean_of_answered_questions() -> None:
    assert survey_score(S1) == pytest.approx(S1_SCORE)
    assert survey_score(S2) == pytest.approx(S2_SCORE)
    assert survey_score({4: "unsure"}) is None


def test_metric_definitions() -> None:
    assert share(1, 3) == pytest.approx(1 / 3)
    assert share(0, 0) is None
    assert csi(0.5) == 50
    assert csi(None) is None
    assert middle_offset(5) == (2, 1)
    assert middle_offset(4) == (1, 2)
    assert median([2.0, 6.0]) == 4.0
    assert median([]) is None
    assert segment(80, 2, 80, 2) is Segment.TRUE
    assert segment(95, 1, 80, 2) is Segment.LATENT
    assert segment(40, 5, 80, 2) is Segment.SPURIOUS
    assert segment(79.9, 0, 80, 2) is Segment.NONE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", Period(date(2026, 10, 14), date(2026, 10, 20))),
        ("30d", Period(date(2026, 9, 21), date(2026, 10, 20))),
        (None, Period(date(2026, 9, 21), date(2026, 10, 20))),
        ("2026-02", Period(date(2026, 2, 1), date(2026, 2, 28))),
        ("2026-10-01..2026-10-31", OCTOBER),
        ("01.10.2026..31.10.2026", OCTOBER),
        ("2026-10-05", Period(date(2026, 10, 5), date(2026, 10, 5))),
        ("all", Period(None, date(2026, 10, 20))),
    ],
)
def test_periods(text: str | None, expected: Period) -> None:
    assert parse_period(text, date(2026, 10, 20)) == expected


@pytest.mark.parametrize(
    "text", ["0d", "2026-13", "2026-10-31..2026-10-01", "last week", "31/10/2026"]
)
def test_bad_periods(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text, date(2026, 10, 20))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_stats_in_telegram_with_charts(app: App) -> None:
    await seed(app)
    manager = app.member(2, "Менеджер")
    await manager.send("/stats 2026-10")
    summary = [m for m in manager.messages() if "Статистика" in m.get("text", "")][-1]["text"]
    assert "Статистика за 01.10–31.10.2026" in summary
    assert "Приглашено: 4 · начали: 3 · завершили: 2 (50%)" in summary
    csi = f"{(S1_SCORE + S2_SCORE) / 2 * 100:.1f}".replace(".", ",")  # a decimal comma
    assert f"CSI: {csi} (по 2 завершённым опросам)" in summary
    assert "1. Ожидание ответа на звонок: 33% (n=3)" in summary
    assert "Открыто 1 · взяты в срок 1 из 1 · решено 1" in summary
    assert "Смирнов: 44 (n=2)" in summary
    photos = [m for m in manager.messages() if "photo" in m]
    # One album, each chart with its caption.
    assert len({photo["media_group_id"] for photo in photos}) == 1
    assert [photo["caption"] for photo in photos] == [
        "Проблемы по вопросам",
        "CSI по неделям",
        "Мастера-консультанты по CSI",
    ]
    for photo in photos:
        width, height = png_size(app.telegram.files[photo["photo"][0]["file_id"]])
        assert width > 400
        assert height > 200

    await manager.send("/stats last week")
    assert manager.last["text"] == (
        "Не понял период. Примеры: 7д, 30д, 2026-10 или 01.10.2026..31.10.2026, или всё."
    )
    await manager.send("/stats 7д")  # the Russian way of writing it is understood
    assert manager.last["text"] == "За этот период опросов нет, поэтому и графиков нет."


async def test_an_empty_period_has_no_charts(app: App) -> None:
    manager = app.member(2, "Менеджер")
    await manager.send("/stats 2026-09")
    texts = [m.get("text") for m in manager.messages()]
    assert texts[-1] == "За этот период опросов нет, поэтому и графиков нет."
    assert "Статистика за 01.09–30.09.2026" in texts[-2]
    assert not [m for m in manager.messages() if "photo" in m]
    assert not app.telegram.calls_of("sendMediaGroup")


async def test_reports_are_staff_only(app: App) -> None:
    await seed(app)
    customer = app.customer(3)  # Vera: a customer, not staff
    for command in ("/stats", "/export", "/segments"):
        await customer.send(command)
        assert "/language" in customer.last["text"]
        assert "CSI" not in customer.last["text"]
    await customer.press("seg:true", customer.last)
    assert (
        app.telegram.calls_of("answerCallbackQuery")[-1].params["text"]
        == "Эта кнопка больше не действует."
    )


async def test_export_xlsx_and_csv(app: App) -> None:
    await seed(app)
    manager = app.member(2, "Менеджер")
    await manager.send("/export 2026-10")
    document = manager.last["document"]
    assert document["file_name"].endswith(".xlsx")
    assert manager.last["caption"] == "Опросов в файле: 3"
    book = load_workbook(io.BytesIO(app.telegram.files[document["file_id"]]))
    assert book.sheetnames == [
        "Сводка",
        "Ответы",
        "Мастера-консультанты",
        "Менеджеры",
        "Динамика",
        "Сегменты",
    ]

    answers = book["Ответы"]
    header = [cell.value for cell in answers[1]]
    assert header[:11] == [
        "Заказ-наряд",
        "Дата визита",
        "Мастер-консультант",
        "Автомобиль",
        "Статус",
        "Канал",
        "Завершён (Europe/Moscow)",
        "CSI",
        "Есть проблема",
        "Проблемных ответов",
        "Вопросы с проблемой",
    ]
    assert header[11] == "1. Ожидание ответа на звонок"
    assert header[22] == "12. Отзывчивость мастера-консультанта"
    assert header[23:] == ["Комментарий", "Просит связаться"]
    # A bold header frozen above a filter over every row; every column has a width.
    assert all(cell.font.b for cell in answers[1])
    assert answers.freeze_panes == "A2"
    assert answers.auto_filter.ref == "A1:Y4"
    assert all(answers.column_dimensions[c].width >= 8 for c in "ABCDEFGHIJKLMNOPQRSTUVWXY")

    first = answers[2]
    assert first[0].value == "ZN-1"
    # Real dates and times (in Moscow time: 11:00 UTC is 14:00), numbers as numbers.
    assert first[1].value == datetime(2026, 10, 5)
    assert first[1].is_date
    assert first[1].number_format == "DD.MM.YYYY"
    assert first[5].value == "Telegram"
    assert first[6].value == datetime(2026, 10, 8, 14, 0)
    assert first[6].number_format == "DD.MM.YYYY HH:MM"
    assert first[7].value == pytest.approx(round(S1_SCORE * 100, 1))
    assert first[7].data_type == "n"
    assert first[4].value == "завершён"
    assert (first[8].value, first[9].value, first[10].value) == ("да", 1, "3")
    # Each answer in the button's words (Q1 and Q10 are negated: "no" is the good answer).
    assert [cell.value for cell in first[11:23]] == [
        "Ответили быстро",
        "Да, предложили",
        "Нет, не обсуждали",
        "Затрудняюсь ответить",
        "Да, согласовали",
        "Да, всё выполнено",
        "Нет, новое обращение",
        "Да, вовремя",
        "Да, всё объяснили",
        "Нет, не превысила",
        5,
        3,
    ]
    assert first[21].data_type == "n"
    unfinished = answers[4]
    assert (unfinished[4].value, unfinished[6].value, unfinished[7].value) == (
        "начат, не закончен",
        None,
        None,
    )

    summary = {row[0]: row[1] for row in book["Сводка"].iter_rows(values_only=True) if row[0]}
    assert summary["Период"] == "01.10–31.10.2026"
    assert summary["Завершили опрос"] == 2
    assert summary["Доля ответивших, %"] == 50
    assert summary["Медиана от приглашения до ответов, ч"] == 4
    assert summary["1. Ожидание ответа на звонок"] == 3  # answered, in the per-question table
    assert book["Сводка"].sheet_properties.pageSetUpPr.fitToPage  # prints on a page's width
    advisors = list(book["Мастера-консультанты"].iter_rows(values_only=True))
    assert advisors[1][:2] == ("Смирнов", 2)
    trend = list(book["Динамика"].iter_rows(values_only=True))
    assert trend[1][:3] == ("неделя", datetime(2026, 10, 5), 2)
    assert trend[2][:3] == ("месяц", datetime(2026, 10, 1), 2)
    segments = {row[0]: row[1] for row in book["Сегменты"].iter_rows(values_only=True)}
    assert segments["Истинная лояльность"] == 1
    assert segments["Нет лояльности"] == 1

    # The CSV: the same columns, for Russian Excel (BOM, ";", decimal commas).
    await manager.send("/export 2026-10 csv")
    raw = app.telegram.files[manager.last["document"]["file_id"]]
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == header
    assert len(rows) == 4
    assert rows[1][1] == "05.10.2026"
    assert rows[1][6] == "08.10.2026 14:00"
    assert rows[1][7] == f"{S1_SCORE * 100:.1f}".replace(".", ",")
    assert rows[1][11] == "Ответили быстро"

    # In English for someone who chose English.
    await manager.send("/language")
    await manager.click("English")
    await manager.send("/export 2026-10")
    english = load_workbook(io.BytesIO(app.telegram.files[manager.last["document"]["file_id"]]))
    assert english.sheetnames[:2] == ["Summary", "Answers"]
    assert english["Answers"]["A1"].value == "Work order"
    assert english["Answers"]["L2"].value == "Answered quickly"


async def test_segments_with_customer_lists(app: App) -> None:
    await seed(app)
    manager = app.member(2, "Менеджер")
    await manager.send("/segments")
    assert "Истинная лояльность: 1" in manager.last["text"]
    assert "Истинная лояльность" in spans(manager.last, "bold")
    assert "Беречь и поощрять" in manager.last["text"]
    await manager.click("Нет лояльности")
    assert "Борис, +79000000002: CSI 2, визитов за год: 1" in manager.last["text"]


async def test_stats_and_export_from_the_command_line(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import asyncio

    from bot.cli import main

    await seed(app)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    assert await asyncio.to_thread(main, ["stats", "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "Статистика за 01.10–31.10.2026" in out
    assert "Приглашено: 4 · начали: 3 · завершили: 2 (50%)" in out
    assert "<b>" not in out

    target = tmp_path / "october.xlsx"
    assert (
        await asyncio.to_thread(main, ["export", "--period", "2026-10", "--out", str(target)]) == 0
    )
    assert "Опросов за 01.10–31.10.2026 записано в" in capsys.readouterr().out
    assert load_workbook(target).sheetnames == [
        "Сводка",
        "Ответы",
        "Мастера-консультанты",
        "Менеджеры",
        "Динамика",
        "Сегменты",
    ]
    csv_target = tmp_path / "october.csv"
    assert (
        await asyncio.to_thread(main, ["export", "--period", "2026-10", "--out", str(csv_target)])
        == 0
    )
    assert len(csv_target.read_text(encoding="utf-8-sig").splitlines()) == 4

    assert await asyncio.to_thread(main, ["stats", "--period", "soon"]) == 2
    assert "не период; примеры: 7д, 30д, 2026-10" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["export", "--out", str(tmp_path / "x.pdf")]) == 2
