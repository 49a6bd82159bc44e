"""Markup typed by customers, imports and staff is shown as typed, never as markup: a name,
a car, an advisor and a comment full of `<`, `>`, `&`, `<b>` and `<a href>` go through
every screen that shows them. The fake Bot API reads HTML as strictly as Telegram, so an
unescaped value fails the send (Telegram's "can't parse entities") or shows as markup."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from bot.playground.fake_html import spans
from tests.conftest import App

NAME = 'Смирнов ‹Бюро> <b>ООО</b> & <a href="http://evil.example">сайт</a>'
CAR = "<b>Kia</b> & Co <i>А123ВС77"
ADVISOR = "<u>Мастер</u> > всех"
COMMENT = '<i>плохо</i> & <a href="http://evil.example/c">тут</a>: 2 < 3 > 1 &amp;'
BAD_DATE = "<i>20.11"
OFFLINE = "<b>Олег</b> & <i>сын"  # no Telegram: goes to the call list


def visits_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["order_no", "visit_date", "customer_name", "phone", "car", "advisor"])
    writer.writerow(["ZN-1", "2026-10-19", NAME, "+79120000001", CAR, ADVISOR])
    writer.writerow(["ZN-2", BAD_DATE, "Анна", "+79120000002", "Lada", "Петров"])
    writer.writerow(["ZN-3", "2026-10-19", OFFLINE, "+79120000003", CAR, ADVISOR])
    return buffer.getvalue().encode()


def assert_shown_as_typed(message: dict[str, Any], *values: str) -> None:
    for value in values:
        assert value in message["text"], f"{value!r} not shown as typed in {message['text']!r}"
    assert spans(message, "text_link") == [], "a typed link became a link"
    for kind in ("bold", "italic", "underline"):
        for span in spans(message, kind):
            assert not any(span in value for value in values), f"{span!r} became {kind}"


async def test_typed_markup_is_shown_as_typed_on_every_screen(app: App) -> None:
    admin = app.member(1, "Руководитель")
    await admin.send_update({"document": app.telegram.upload(visits_csv(), "visits.csv")})
    # The import report quotes the bad value back.
    assert "Новых: 2" in admin.last["text"]
    assert_shown_as_typed(admin.last, BAD_DATE)

    # First contact by phone: "Thank you, <name>!", then the survey.
    customer = app.customer(5001)
    await customer.send("/start")
    await customer.send_update(
        {"contact": {"phone_number": "79120000001", "first_name": "И", "user_id": 5001}}
    )
    thanks = [m for m in customer.messages() if "Спасибо" in m.get("text", "")][-1]
    assert_shown_as_typed(thanks, NAME)
    await customer.click("Начать опрос")
    for _ in range(12):
        await customer.click(customer.buttons()[0])
    await customer.send(COMMENT)
    await customer.click("Да, свяжитесь со мной")

    # The alert each manager gets privately.
    manager = app.member(2, "Менеджер")
    alert = app.telegram.bot_messages(2)[-1]
    assert_shown_as_typed(alert, NAME, CAR, ADVISOR, COMMENT)

    # The case card, the open cases, and the relay header of what the customer writes.
    await manager.send("/case 1")
    assert_shown_as_typed(manager.last, NAME, CAR, ADVISOR, COMMENT)
    await manager.send("/cases")
    assert_shown_as_typed(manager.last, NAME)
    await customer.send("А ещё <b>вот</b> что")
    assert "Передали" in customer.last["text"] or "✓" in customer.last["text"]
    header = [m for m in app.telegram.bot_messages(2) if "кейс" in m["text"].lower()][-1]
    assert_shown_as_typed(header, NAME, "А ещё <b>вот</b> что")

    # What the customer sees of their own data.
    await customer.send("/mydata")
    assert_shown_as_typed(customer.last, NAME, CAR, COMMENT)

    # The staff list, and the call list's caption and file.
    await admin.send("/staff add manager 7007")
    await admin.send("/staff")
    assert "7007" in admin.last["text"]
    app.clock.advance(hours=2)
    await app.services.sender.run_once(app.bot)  # ZN-3 has no Telegram: skipped
    await manager.send("/calllist")
    assert manager.last["text"].startswith(f"Позвонить: 1\n\n{OFFLINE}, +79120000003")
    await manager.click("Весь список файлом")
    assert manager.last["caption"] == "Клиентов для обзвона: 1"
    book = load_workbook(io.BytesIO(app.telegram.files[manager.last["document"]["file_id"]]))
    sheet = book.active
    assert sheet is not None
    assert list(sheet.iter_rows(values_only=True))[1][:3] == (OFFLINE, "+79120000003", CAR)
