"""The call list: customers the bot cannot reach, for the call centre to phone."""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ("name", "phone", "car", "order_no", "visit_date", "reason")
REASONS_RU = {
    "no_telegram": "нет Telegram",
    "blocked": "заблокировал бота",
    "expired": "не ответил на опрос",
}


def _row(entry: dict[str, Any]) -> list[str]:
    values = dict(entry)
    values["visit_date"] = entry["visit_date"].isoformat()
    values["reason"] = REASONS_RU.get(entry["reason"], entry["reason"])
    return [str(values[column]) for column in COLUMNS]


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(_row(entry) for entry in rows)
    # A BOM so that Excel opens the Cyrillic correctly.
    return buffer.getvalue().encode("utf-8-sig")


def as_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook  # imported here: it pulls in numpy, ~30 MB held for good

    book = Workbook(write_only=True)
    sheet = book.create_sheet("call list")
    sheet.append(list(COLUMNS))
    for entry in rows:
        sheet.append(_row(entry))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
