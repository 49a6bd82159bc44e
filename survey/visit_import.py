"""Reading the visit list an admin exports from the dealer management system.

The whole file is validated before anything is stored: the result lists every valid
visit and every rejected row with its line number and reason, and storage decides
whether to take the valid rows or (strict mode) nothing.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import PurePath

from survey.phones import normalise_phone
from survey.texts import N_, Said, said

REQUIRED_COLUMNS = ("order_no", "visit_date", "customer_name", "phone", "car", "advisor")
OPTIONAL_COLUMNS = ("telegram_user_id",)
MAX_TEXT_CHARS = 200
MAX_ORDER_NO_CHARS = 64
MAX_TELEGRAM_ID = 2**52  # Telegram promises ids fit in 52 bits


class RowProblem(StrEnum):
    MISSING = "missing"
    TOO_LONG = "too_long"
    BAD_DATE = "bad_date"
    FUTURE_DATE = "future_date"
    BAD_PHONE = "bad_phone"
    BAD_TELEGRAM_ID = "bad_telegram_id"
    DUPLICATE = "duplicate"


_PROBLEM_TEXT = {
    RowProblem.MISSING: N_("{column} is empty"),
    RowProblem.TOO_LONG: N_("{column} is longer than {limit} characters"),
    RowProblem.BAD_DATE: N_("{column} “{value}” is not a date (write 31.10.2026 or 2026-10-31)"),
    RowProblem.FUTURE_DATE: N_("{column} {value} is in the future"),
    RowProblem.BAD_PHONE: N_("{column} “{value}” is not a phone number"),
    RowProblem.BAD_TELEGRAM_ID: N_("{column} “{value}” is not a Telegram user id"),
    RowProblem.DUPLICATE: N_("{column} {value} already appears on line {limit}"),
}
# What each column holds, said with its header: "work order number (order_no)".
COLUMN_NAMES = {
    "order_no": N_("work order number"),
    "visit_date": N_("visit date"),
    "customer_name": N_("customer's name"),
    "phone": N_("phone"),
    "car": N_("car"),
    "advisor": N_("service advisor"),
    "telegram_user_id": N_("Telegram id"),
}


def column_named(column: str) -> Said:
    return said(N_("{name} ({column})"), name=said(COLUMN_NAMES[column]), column=column)


class ImportFileError(Exception):
    """The file as a whole cannot be read: wrong type, unreadable, or a wrong header."""

    def __init__(self, reason: Said) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VisitRecord:
    line: int
    order_no: str
    visit_date: date
    customer_name: str
    phone: str
    car: str
    advisor: str
    telegram_user_id: int | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    problem: RowProblem
    value: str = ""
    limit: int = 0

    @property
    def reason(self) -> Said:
        return said(
            _PROBLEM_TEXT[self.problem],
            column=column_named(self.column),
            value=self.value,
            limit=self.limit,
        )


@dataclass
class ParsedVisits:
    records: list[VisitRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[Said] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """How large a visit list may be: rows, and bytes once unpacked (an XLSX is a zip)."""

    max_rows: int = 50_000
    max_bytes: int = 50 * 1024 * 1024


def read_visits(
    data: bytes, filename: str, *, today: date, limits: ImportLimits = ImportLimits()
) -> ParsedVisits:
    """Parse and validate a whole file; ImportFileError names what makes it unusable.

    CPU-bound for a large file: callers on an event loop run it in a worker thread.
    """
    suffix = PurePath(filename).suffix.lower()
    notes: list[Said] = []
    if len(data) > limits.max_bytes:
        raise ImportFileError(
            said(N_("the file is larger than {size} MB"), size=_megabytes(limits.max_bytes))
        )
    if suffix == ".csv":
        rows = _csv_rows(data, notes)
    elif suffix == ".xlsx":
        rows = _xlsx_rows(data, limits)
    else:
        raise ImportFileError(said(N_("expected a .csv or .xlsx file")))
    result = _validate(_bounded(rows, limits.max_rows), today)
    result.notes[:0] = notes
    return result


def validate_objects(items: list[dict[str, object]], today: date) -> ParsedVisits:
    """Visits sent as JSON objects (the visits API), checked exactly like a file's rows:
    object i is line i + 2 of a file with the full header."""
    header = list(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    rows = [[_cell_text(item.get(column)) for column in header] for item in items]
    return _validate(iter([header, *rows]), today)


def _megabytes(size: int) -> int:
    return round(size / (1024 * 1024))


def _bounded(rows: Iterator[list[str]], max_rows: int) -> Iterator[list[str]]:
    """The header and at most `max_rows` rows; one more stops the import as a whole."""
    for count, row in enumerate(rows):
        if count > max_rows:
            raise ImportFileError(
                said(N_("the file has more than {rows} rows; split it into parts"), rows=max_rows)
            )
        yield row


def _csv_rows(data: bytes, notes: list[Said]) -> Iterator[list[str]]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode(data, "utf-16", "UTF-16")
        notes.append(said(N_("the file is UTF-16; it was read as such")))
    elif b"\x00" in data[:4096]:
        raise ImportFileError(
            said(N_("this is not a text file; save the visit list as CSV or XLSX"))
        )
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Excel in a Russian locale still saves "CSV" in Windows-1251.
            text = _decode(data, "cp1251", "UTF-8 / Windows-1251")
            notes.append(said(N_("the file is not UTF-8; it was read as Windows-1251")))
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as error:
        raise ImportFileError(
            said(N_("the CSV cannot be read ({error})"), error=str(error))
        ) from error


def _decode(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ImportFileError(
            said(
                N_("the text is not {encoding} (byte {byte}); save it as CSV UTF-8"),
                encoding=name,
                byte=error.start + 1,
            )
        ) from error


def _xlsx_rows(data: bytes, limits: ImportLimits) -> Iterator[list[str]]:
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportFileError(
            said(N_("the XLSX file cannot be opened: it is damaged or not an XLSX file"))
        ) from error
    if unpacked > limits.max_bytes:
        raise ImportFileError(
            said(
                N_("the XLSX file unpacks to more than {size} MB; split it into parts"),
                size=_megabytes(limits.max_bytes),
            )
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many unrelated types for a damaged file
        raise ImportFileError(said(N_("the XLSX file cannot be opened: it is damaged"))) from error
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(cell) for cell in row]
    except Exception as error:  # a truncated sheet fails while it is read
        raise ImportFileError(said(N_("the XLSX file is damaged and cannot be read"))) from error
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _validate(rows: Iterator[list[str]], today: date) -> ParsedVisits:
    first = next(rows, None)
    if first is None:
        raise ImportFileError(said(N_("the file is empty")))
    header = [cell.strip().lower() for cell in first]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ImportFileError(
            said(
                N_("the header lacks {missing}; expected: {expected}"),
                missing=", ".join(missing),
                expected=",".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS),
            )
        )
    known = set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    result = ParsedVisits(ignored_columns=[c for c in header if c and c not in known])
    position = {column: header.index(column) for column in known if column in header}
    first_line_of: dict[str, int] = {}

    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {
            column: (row[index].strip() if index < len(row) else "")
            for column, index in position.items()
        }
        record, errors = _validate_row(line, cells, today)
        if record is not None and record.order_no in first_line_of:
            errors.append(
                RowError(
                    line,
                    "order_no",
                    RowProblem.DUPLICATE,
                    record.order_no,
                    first_line_of[record.order_no],
                )
            )
            record = None
        if record is not None:
            first_line_of[record.order_no] = line
            result.records.append(record)
        result.errors.extend(errors)
    return result


def _validate_row(
    line: int, cells: dict[str, str], today: date
) -> tuple[VisitRecord | None, list[RowError]]:
    errors: list[RowError] = []

    def text(column: str, limit: int = MAX_TEXT_CHARS) -> str:
        value = cells.get(column, "")
        if not value:
            errors.append(RowError(line, column, RowProblem.MISSING))
        elif len(value) > limit:
            errors.append(RowError(line, column, RowProblem.TOO_LONG, limit=limit))
        return value

    order_no = text("order_no", MAX_ORDER_NO_CHARS)
    customer_name = text("customer_name")
    car = text("car")
    advisor = text("advisor")

    visit_date = _parse_date(cells["visit_date"])
    if not cells["visit_date"]:
        errors.append(RowError(line, "visit_date", RowProblem.MISSING))
    elif visit_date is None:
        errors.append(RowError(line, "visit_date", RowProblem.BAD_DATE, cells["visit_date"]))
    elif visit_date > today:
        future = visit_date.strftime("%d.%m.%Y")
        errors.append(RowError(line, "visit_date", RowProblem.FUTURE_DATE, future))

    phone = normalise_phone(cells["phone"])
    if not cells["phone"]:
        errors.append(RowError(line, "phone", RowProblem.MISSING))
    elif phone is None:
        errors.append(RowError(line, "phone", RowProblem.BAD_PHONE, cells["phone"]))

    telegram_user_id: int | None = None
    raw_id = cells.get("telegram_user_id", "")
    if raw_id:
        if raw_id.isdigit() and 0 < int(raw_id) < MAX_TELEGRAM_ID:
            telegram_user_id = int(raw_id)
        else:
            errors.append(RowError(line, "telegram_user_id", RowProblem.BAD_TELEGRAM_ID, raw_id))

    if errors or visit_date is None or phone is None:
        return None, errors
    record = VisitRecord(
        line=line,
        order_no=order_no,
        visit_date=visit_date,
        customer_name=customer_name,
        phone=phone,
        car=car,
        advisor=advisor,
        telegram_user_id=telegram_user_id,
    )
    return record, errors


def _parse_date(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None
