"""Heavy and broken visit lists: bounded in rows and unpacked size, parsed off the event
loop and written in batches, so a customer answering meanwhile is never refused; a
binary, wrongly encoded or truncated file gets one line naming it and the reason."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.cli import main
from storage.models import Answer, Visit
from tests.conftest import App

HEADER = "order_no;visit_date;customer_name;phone;car;advisor\n"


def big_csv(rows: int) -> bytes:
    lines = [
        f"B-{n};2026-10-19;Клиент {n};+7912{n:07d};Kia Rio;Смирнов\n" for n in range(1, rows + 1)
    ]
    return (HEADER + "".join(lines)).encode()


def xlsx(rows: int, filler: str = "") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["order_no", "visit_date", "customer_name", "phone", "car", "advisor"])
    for n in range(1, rows + 1):
        car = f"Kia {n} {filler}" if filler else "Kia"  # distinct: not one shared string
        sheet.append([f"X-{n}", "2026-10-19", f"Клиент {n}", f"+7913{n:07d}", car, "A"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BROKEN = {
    "binary.csv": b"\x00\x01\x02PK\x00\x00" * 50,
    "encoding.csv": HEADER.encode()
    + "1;2026-10-19;Иван;+79120000001;Kia;А\n".encode("cp1251")
    + b"\x98\x98\n",
    "truncated.xlsx": xlsx(50)[:1500],
}
REASONS = {
    "binary.csv": "это не текстовый файл",
    "encoding.csv": "текст не в кодировке UTF-8 / Windows-1251",
    "truncated.xlsx": "XLSX-файл не открывается",
}


async def visit_count(app: App) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Visit)) or 0)


@pytest.mark.slow  # writes 20,000 visits: about 20 s on 2 cores
async def test_a_customer_is_answered_while_20000_visits_are_imported(
    app: App, record_property: pytest.RecordProperty
) -> None:
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")

    admin = app.member(1, "Руководитель")
    upload = app.telegram.upload(big_csv(20_000), "visits.csv")
    importing = asyncio.create_task(admin.send_update({"document": upload}))
    # Press once the import is writing its batches (a ceiling of minutes, not a deadline).
    async with asyncio.timeout(300):
        while await visit_count(app) <= 1 and not importing.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    still_importing = not importing.done()
    started = time.monotonic()
    await customer.click(customer.buttons()[0])
    latency = time.monotonic() - started
    await asyncio.wait_for(importing, 300)

    record_property("press_latency_seconds", round(latency, 3))
    record_property("pressed_while_importing", still_importing)
    print(f"press during the import: {latency * 1000:.0f} ms (importing: {still_importing})")
    assert "Новых: 20000" in admin.last["text"]
    assert "Вопрос 2 из 12" in customer.last["text"]
    assert not any("временно недоступен" in m.get("text", "") for m in customer.messages())
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 1


async def test_files_over_the_limits_are_refused_whole(app: App) -> None:
    limited = app.restarted(import_max_rows=100, import_max_mb=1)
    admin = limited.member(1, "Руководитель")
    await admin.send_update({"document": limited.telegram.upload(big_csv(101), "many.csv")})
    assert admin.last["text"] == (
        "many.csv: ничего не импортировано: в файле больше 100 строк; разделите его на части"
    )
    # A small XLSX that unpacks to more than 1 MB (a zip bomb in miniature).
    bomb = xlsx(40, filler="x" * 30_000)
    assert len(bomb) < 1024 * 1024
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist()) > 1024 * 1024
    await admin.send_update({"document": limited.telegram.upload(bomb, "bomb.xlsx")})
    assert admin.last["text"].startswith(
        "bomb.xlsx: ничего не импортировано: XLSX-файл в распакованном виде больше 1 МБ"
    )
    assert await visit_count(limited) == 0
    await limited.bot.session.close()


async def test_broken_files_in_the_chat_get_one_line_each(app: App) -> None:
    admin = app.member(1, "Руководитель")
    for name, content in BROKEN.items():
        await admin.send_update({"document": app.telegram.upload(content, name)})
        text = admin.last["text"]
        assert text.startswith(f"{name}: ничего не импортировано: {REASONS[name]}"), text
        assert "\n" not in text
    assert await visit_count(app) == 0


def test_broken_files_on_the_command_line_get_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    for name, content in BROKEN.items():
        (tmp_path / name).write_bytes(content)
        assert main(["import-visits", name]) == 2
        captured = capsys.readouterr()
        assert (
            captured.err
            == f"followup-bot: {name}: ничего не импортировано: {REASONS[name]}"
            + captured.err.split(REASONS[name], 1)[1]
        )
        assert captured.err.count("\n") == 1
        assert "Traceback" not in captured.err
    monkeypatch.setenv("IMPORT_MAX_ROWS", "10")
    (tmp_path / "many.csv").write_bytes(big_csv(11))
    assert main(["import-visits", "many.csv"]) == 2
    assert capsys.readouterr().err == (
        "followup-bot: many.csv: ничего не импортировано: в файле больше 10 строк; "
        "разделите его на части\n"
    )
