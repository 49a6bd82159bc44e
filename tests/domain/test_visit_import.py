"""Reading visit lists: every bad row reported by line, the file checked before storing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from bot.i18n import create_i18n
from survey.visit_import import ImportFileError, RowProblem, read_visits

TODAY = date(2026, 10, 20)
HEADER = "order_no,visit_date,customer_name,phone,car,advisor,telegram_user_id"


def csv_bytes(*lines: str, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    text = "\n".join(line.replace(",", delimiter) for line in (HEADER, *lines))
    return text.encode(encoding)


def test_valid_rows_in_both_date_formats() -> None:
    parsed = read_visits(
        csv_bytes(
            "ZN-1,2026-10-01,Иван Петров,+7 (912) 345-67-89,Kia Rio,Смирнов,1001",
            "ZN-2,02.10.2026,Анна Иванова,8 903 111 22 33,Skoda Octavia,Кузнецов,",
        ),
        "visits.csv",
        today=TODAY,
    )
    assert parsed.errors == []
    assert [
        (r.line, r.order_no, r.visit_date, r.phone, r.telegram_user_id) for r in parsed.records
    ] == [
        (2, "ZN-1", date(2026, 10, 1), "+79123456789", 1001),
        (3, "ZN-2", date(2026, 10, 2), "+79031112233", None),
    ]


def test_semicolons_bom_and_windows_1251() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(
        "ZN-1,2026-10-01,Иван,89123456789,Kia,Смирнов,", delimiter=";"
    )
    assert len(read_visits(data, "visits.csv", today=TODAY).records) == 1
    legacy = csv_bytes("ZN-1;2026-10-01;Иван;89123456789;Kia;Смирнов;", encoding="cp1251")
    parsed = read_visits(legacy.replace(b",", b";"), "visits.csv", today=TODAY)
    assert parsed.records[0].customer_name == "Иван"
    assert [str(note) for note in parsed.notes] == [
        "the file is not UTF-8; it was read as Windows-1251"
    ]


def test_every_bad_row_is_reported_with_its_line_and_reason() -> None:
    parsed = read_visits(
        csv_bytes(
            "ZN-1,2026-10-01,Иван,89123456789,Kia,Смирнов,",
            ",2026-10-01,Иван,89123456789,Kia,Смирнов,",
            "ZN-3,31.02.2026,Иван,89123456789,Kia,Смирнов,",
            "ZN-4,2026-10-01,Иван,12345,Kia,Смирнов,",
            "ZN-5,2026-12-01,Иван,89123456789,Kia,Смирнов,",
            "ZN-6,2026-10-01,Иван,89123456789,Kia,Смирнов,abc",
            "ZN-1,2026-10-02,Иван,89123456789,Kia,Смирнов,",
            "",
            "ZN-9,2026-10-01,,89123456789,,Смирнов,",
        ),
        "visits.csv",
        today=TODAY,
    )
    assert [r.order_no for r in parsed.records] == ["ZN-1"]
    assert [(e.line, e.column, e.problem) for e in parsed.errors] == [
        (3, "order_no", RowProblem.MISSING),
        (4, "visit_date", RowProblem.BAD_DATE),
        (5, "phone", RowProblem.BAD_PHONE),
        (6, "visit_date", RowProblem.FUTURE_DATE),
        (7, "telegram_user_id", RowProblem.BAD_TELEGRAM_ID),
        (8, "order_no", RowProblem.DUPLICATE),
        (10, "customer_name", RowProblem.MISSING),
        (10, "car", RowProblem.MISSING),
    ]
    # The domain names the message and its values; each side says it in its language.
    assert str(parsed.errors[5].reason) == (
        "work order number (order_no) ZN-1 already appears on line 2"
    )
    assert str(parsed.errors[1].reason).startswith(
        "visit date (visit_date) “31.02.2026” is not a date"
    )
    russian = create_i18n()
    assert parsed.errors[1].reason.render(lambda m: russian.gettext(m, locale="ru")) == (
        "дата визита (visit_date): «31.02.2026» — не дата (пишите 31.10.2026 или 2026-10-31)"
    )


def test_a_wrong_header_rejects_the_whole_file() -> None:
    with pytest.raises(ImportFileError, match="lacks phone, advisor"):
        read_visits(b"order_no,visit_date,customer_name,car\n1,2,3,4", "v.csv", today=TODAY)
    with pytest.raises(ImportFileError, match="empty"):
        read_visits(b"", "v.csv", today=TODAY)
    with pytest.raises(ImportFileError, match=r"\.csv or \.xlsx"):
        read_visits(b"x", "visits.pdf", today=TODAY)
    with pytest.raises(ImportFileError, match="cannot be opened"):
        read_visits(b"not a zip", "visits.xlsx", today=TODAY)


def test_the_optional_column_may_be_absent_and_extra_columns_are_named() -> None:
    data = (
        "order_no;visit_date;customer_name;phone;car;advisor;vin\n"
        "ZN-1;2026-10-01;Иван;89123456789;Kia;Смирнов;XW8\n"
    )
    parsed = read_visits(data.encode(), "v.csv", today=TODAY)
    assert parsed.records[0].telegram_user_id is None
    assert parsed.ignored_columns == ["vin"]


def test_xlsx_with_real_dates_and_numeric_phones() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(["ZN-1", date(2026, 10, 1), "Иван", 89123456789, "Kia", "Смирнов", 1001])
    sheet.append(["ZN-2", "01.10.2026", "Анна", "+7 903 111-22-33", "Skoda", "Кузнецов", None])
    sheet.append(["ZN-3", "вчера", "Олег", "89031112233", "Lada", "Кузнецов", None])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = read_visits(buffer.getvalue(), "Visits.XLSX", today=TODAY)
    assert [(r.order_no, r.visit_date, r.phone, r.telegram_user_id) for r in parsed.records] == [
        ("ZN-1", date(2026, 10, 1), "+79123456789", 1001),
        ("ZN-2", date(2026, 10, 1), "+79031112233", None),
    ]
    assert [(e.line, e.problem) for e in parsed.errors] == [(4, RowProblem.BAD_DATE)]
