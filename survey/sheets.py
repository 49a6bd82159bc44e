"""Spreadsheet writing for people: one CSV writer and one XLSX sheet writer that every
file this program writes goes through.

A cell that starts with "=", "+", "-" or "@" is written as text, never as a formula; the
XLSX gets a bold frozen header with a filter, widths by column and a number format by
kind (real dates and times, numbers as numbers); the CSV is for Russian Excel (";" and
decimal commas in Russian).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

# A cell that starts with one of these is a formula to a spreadsheet (or becomes one when
# edited). Every cell this program writes goes through `_Sheet` or `_CsvWriter`, so text a
# customer, an import or staff typed is always written as text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


# --- how a value looks -----------------------------------------------------------------------

DATE, MOMENT, NUMBER, DECIMAL, PERCENT, TEXT, LONG_TEXT = (
    "date",
    "moment",
    "number",
    "decimal",
    "percent",
    "text",
    "long",
)
_EXCEL_FORMAT = {
    DATE: "DD.MM.YYYY",
    MOMENT: "DD.MM.YYYY HH:MM",
    NUMBER: "0",
    DECIMAL: "0.0",
    PERCENT: "0.0",
}
_WIDTH = {DATE: 12, MOMENT: 17, NUMBER: 10, DECIMAL: 10, PERCENT: 12, TEXT: 22, LONG_TEXT: 50}


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    kind: str = TEXT
    width: float | None = None


def _csv_value(value: object, kind: str, locale: str) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float):
        text = f"{value:.1f}" if kind in (DECIMAL, PERCENT) else str(value)
        return text.replace(".", ",") if locale == "ru" else text
    return value


class CsvWriter:
    """csv.writer for Russian Excel (";"), whose formula-like cells get a leading
    apostrophe (shown as text)."""

    def __init__(self, out: IO[str], columns: Sequence[Column], locale: str) -> None:
        self._writer = csv.writer(out, delimiter=";" if locale == "ru" else ",")
        self._kinds = [column.kind for column in columns]
        self._locale = locale
        self._writer.writerow([column.title for column in columns])

    def writerow(self, values: Sequence[object]) -> None:
        cells = [
            _csv_value(value, kind, self._locale)
            for value, kind in zip(values, self._kinds, strict=False)
        ]
        self._writer.writerow([f"'{v}" if formula_like(v) else v for v in cells])


class Sheet:
    """A write-only worksheet: a bold, frozen header with a filter, widths by column, each
    value in its format; formula-like text is written as a string cell."""

    def __init__(
        self,
        book: Any,
        title: str,
        columns: Sequence[Column] | None = None,
        *,
        printable: bool = False,
    ) -> None:
        from openpyxl.utils import get_column_letter

        self._sheet = book.create_sheet(title)
        self._columns = list(columns or [])
        self._rows = 0
        for number, column in enumerate(self._columns, start=1):
            width = column.width or _WIDTH[column.kind]
            self._sheet.column_dimensions[get_column_letter(number)].width = width
        if printable:  # before any row: a write-only sheet writes its settings first
            self._printable()
        if self._columns:
            self._sheet.freeze_panes = "A2"
            self._header([column.title for column in self._columns])

    def _header(self, titles: Sequence[str]) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font

        cells = []
        for title in titles:
            cell = WriteOnlyCell(self._sheet, value=title)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cells.append(cell)
        self._sheet.append(cells)
        self._rows += 1

    def title_row(self, title: str) -> None:
        """A bold line (a title or a table's header) on a free-form sheet."""
        self._header([title])

    def append(self, values: Iterable[object], kinds: Sequence[str] | None = None) -> None:
        from openpyxl.cell import WriteOnlyCell

        kinds = kinds or [column.kind for column in self._columns]
        row: list[object] = []
        for index, value in enumerate(values):
            kind = kinds[index] if index < len(kinds) else TEXT
            if formula_like(value) or (kind in _EXCEL_FORMAT and value is not None):
                cell = WriteOnlyCell(self._sheet, value=value)
                if formula_like(value):
                    cell.data_type = "s"  # openpyxl would store "=..." as a formula
                else:
                    cell.number_format = _EXCEL_FORMAT[kind]
                value = cell
            row.append(value)
        self._sheet.append(row)
        self._rows += 1

    def with_filter(self) -> None:
        from openpyxl.utils import get_column_letter

        if self._columns:
            last = get_column_letter(len(self._columns))
            self._sheet.auto_filter.ref = f"A1:{last}{max(self._rows, 2)}"

    def _printable(self) -> None:
        """Portrait, one page wide."""
        self._sheet.page_setup.orientation = "portrait"
        self._sheet.page_setup.fitToWidth = 1
        self._sheet.page_setup.fitToHeight = 0
        self._sheet.sheet_properties.pageSetUpPr.fitToPage = True


def workbook() -> Any:
    from openpyxl import Workbook  # imported here: it pulls in numpy, ~30 MB held for good

    return Workbook(write_only=True)


def saved(book: Any) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
