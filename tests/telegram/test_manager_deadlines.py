"""Managers' deadlines against a data set computed by hand: /stats managers in the chat,
the "Менеджеры" sheet of the export, and `followup-bot stats --managers`."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from storage.models import Case, CaseEvent, Customer, Survey, Visit
from survey.deadlines import HandledCase, manager_figures
from tests.conftest import App

T0 = datetime(2026, 10, 6, 7, 0, tzinfo=UTC)  # 10:00 in Moscow, a Tuesday
ANNA, BORIS = 2, 3
H = timedelta(hours=1)

# (manager, visit day, created, taken after, resolved after, take due, resolve due, events)
CASES = [
    # Anna: in time both ways; the customer confirmed.
    ("Анна", ANNA, date(2026, 10, 5), T0, 0.5 * H, 5 * H, 2 * H, 48 * H, ["customer_fixed"]),
    # Anna: late both ways; reopened by the customer who said "not solved".
    (
        "Анна",
        ANNA,
        date(2026, 10, 5),
        T0,
        3 * H,
        77 * H,
        2 * H,
        48 * H,
        ["customer_not_fixed", "reopened"],
    ),
    # Anna: taken in time, not resolved yet.
    ("Анна", ANNA, date(2026, 10, 6), T0, 1 * H, None, 2 * H, 48 * H, []),
    # Boris: six minutes to take, two hours to resolve.
    ("Борис", BORIS, date(2026, 10, 7), T0, 0.1 * H, 2 * H, 2 * H, 48 * H, []),
    # Nobody's (open): not counted. And one of Anna's from September: not in the period.
    (None, None, date(2026, 10, 8), T0, None, None, 2 * H, None, []),
    ("Анна", ANNA, date(2026, 9, 20), T0, 9 * H, 10 * H, 2 * H, 48 * H, []),
]


async def seed(app: App) -> None:
    async with app.sessions() as session:
        for n, (name, manager, day, created, took, solved, take_sla, fix_sla, events) in enumerate(
            CASES, start=1
        ):
            customer = Customer(
                name=f"Клиент {n}", phone=f"+7900000000{n}", created_at=T0, updated_at=T0
            )
            visit = Visit(
                order_no=f"ZN-{n}",
                visit_date=day,
                car="Лада",
                advisor="Смирнов",
                customer=customer,
                created_at=T0,
                updated_at=T0,
            )
            survey = Survey(
                visit=visit,
                token=f"t{n}",
                status="completed",
                step=14,
                created_at=T0,
                updated_at=T0,
                has_case=True,
            )
            session.add(survey)
            await session.flush()
            case = Case(
                survey_id=survey.id,
                severity="normal",
                status="resolved" if solved else ("taken" if took else "open"),
                problems=[],
                version=1,
                assignee_id=manager,
                assignee_name=name,
                created_at=created,
                updated_at=created,
                taken_at=created + took if took is not None else None,
                resolved_at=created + solved if solved is not None else None,
                take_due_at=created + take_sla,
                resolve_due_at=created + fix_sla if fix_sla is not None else None,
            )
            case.events = [CaseEvent(kind=kind, created_at=created) for kind in events]
            session.add(case)
        await session.commit()


def test_the_figures_by_hand() -> None:
    cases = [
        HandledCase(m, name, c, c + t, c + s if s else None, c + ts, c + rs, *flags)
        for name, m, _day, c, t, s, ts, rs, events in CASES[:4]
        for flags in [
            (
                "reopened" in events,
                "customer_fixed" in events,
                "customer_not_fixed" in events,
            )
        ]
    ]
    anna, boris = manager_figures(cases)
    assert (anna.manager, anna.taken, anna.taken_in_time) == ("Анна", 3, 2)
    assert anna.take_sla_share == pytest.approx(2 / 3)
    assert anna.median_take_seconds == 3600  # 0.5, 1 and 3 hours
    assert (anna.resolved, anna.resolved_in_time, anna.resolve_sla_share) == (2, 1, 0.5)
    assert anna.median_resolve_seconds == (5 + 77) / 2 * 3600
    assert anna.reopened_share == pytest.approx(1 / 3)
    assert (anna.said_fixed, anna.said_not_fixed) == (1, 1)
    assert (boris.taken, boris.take_sla_share, boris.resolve_sla_share) == (1, 1.0, 1.0)
    assert boris.median_take_seconds == pytest.approx(360)
    assert boris.reopened_share == 0


async def test_stats_managers_in_the_chat_the_export_and_the_command_line(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    await seed(app)
    manager = app.member(ANNA, "Анна")
    await manager.send("/stats managers 2026-10")
    text = [m for m in manager.messages() if m.get("text")][-1]["text"]
    assert text.startswith("Сроки менеджеров за 01.10–31.10.2026")
    assert "Нормативы: взять за 2,0 ч, решить за 48,0 ч (рабочее время)" in text
    anna, boris = text.split("\nАнна\n")[1].split("\nБорис\n")
    assert "Взято 3, в срок 67%; медиана до взятия 1,0 ч" in anna
    assert "Решено 2, в срок 50%; медиана до решения 41,0 ч" in anna
    assert "Открыты снова: 33%; клиенты ответили «решена» 1, «не решена» 1" in anna
    assert "Взято 1, в срок 100%; медиана до взятия 0,1 ч" in boris
    assert "Решено 1, в срок 100%; медиана до решения 2,0 ч" in boris
    chart = manager.last
    assert chart["caption"] == "Менеджеры: кейсы в срок"

    await manager.send("/stats менеджеры 2026-08")
    assert "За этот период ни один кейс не взят в работу." in manager.last["text"]

    await manager.send("/export 2026-10")
    book = load_workbook(io.BytesIO(app.telegram.files[manager.last["document"]["file_id"]]))
    rows = list(book["Менеджеры"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Менеджер", "Взято кейсов", "Взято в срок, %")
    assert rows[1] == ("Анна", 2 + 1, 66.7, 1.0, 2, 50.0, 41.0, 33.3, 1, 1)
    assert rows[2] == ("Борис", 1, 100.0, 0.1, 1, 100.0, 2.0, 0.0, 0, 0)

    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", app.settings.database_url)
    assert await asyncio.to_thread(main, ["stats", "--managers", "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "Сроки менеджеров за 01.10–31.10.2026" in out
    assert "Взято 3, в срок 67%; медиана до взятия 1,0 ч" in out
    assert "<b>" not in out
