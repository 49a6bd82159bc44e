"""Files for people: the call list for the call centre, and the survey export (answers,
summary, advisors, trend, segments) as XLSX or CSV, in the reader's language.

An analyst opens the XLSX and uses it as it is: real dates and times in the dealership's
time zone (named in the header), numbers as numbers, each answer in the button's words
with a problem flag, a bold frozen header with a filter, sensible widths, and a summary
sheet that prints on one page. The CSV has the same columns for Russian Excel (UTF-8 with
a BOM, ";" between cells, decimal commas). Fed plain rows, never a session; rows are
streamed into a write-only workbook, so memory stays flat however long the period.

Texts live here as {language: text} like the questionnaire's, so the domain stays free of
the Telegram side's catalogues.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, Callable, Iterable, Mapping, Sequence
from typing import IO, Any
from zoneinfo import ZoneInfo

from survey.metrics import SEGMENT_NAMES, STRATEGIES, Segment
from survey.questionnaire import QUESTION_COUNT, Kind, decode_answers, question
from survey.report import Report
from survey.sheets import (
    DATE,
    DECIMAL,
    LONG_TEXT,
    MOMENT,
    NUMBER,
    PERCENT,
    TEXT,
    Column,
    CsvWriter,
    Sheet,
    formula_like,
    saved,
    workbook,
)

Localized = dict[str, str]


def _say(texts: Localized, locale: str) -> str:
    return texts.get(locale, texts["ru"])


# --- the call list ---------------------------------------------------------------------------

_CALL_COLUMNS: tuple[tuple[str, Localized, str], ...] = (
    ("name", {"ru": "Клиент", "en": "Customer"}, TEXT),
    ("phone", {"ru": "Телефон", "en": "Phone"}, TEXT),
    ("car", {"ru": "Автомобиль", "en": "Car"}, TEXT),
    ("order_no", {"ru": "Заказ-наряд", "en": "Work order"}, TEXT),
    ("visit_date", {"ru": "Дата визита", "en": "Visit date"}, DATE),
    ("reason", {"ru": "Почему звоним", "en": "Why we call"}, TEXT),
)
CALL_REASONS: dict[str, Localized] = {
    "no_telegram": {"ru": "нет Telegram", "en": "no Telegram"},
    "blocked": {"ru": "заблокировал бота", "en": "blocked the bot"},
    "expired": {"ru": "не ответил на опрос", "en": "did not answer the survey"},
    "uncertain": {
        "ru": "не знаем, дошло ли приглашение",
        "en": "the invitation may not have arrived",
    },
}


def _call_columns(locale: str) -> list[Column]:
    return [Column(_say(title, locale), kind) for _key, title, kind in _CALL_COLUMNS]


def _call_row(entry: Mapping[str, Any], locale: str) -> list[object]:
    values = dict(entry)
    reason = CALL_REASONS.get(entry["reason"])
    values["reason"] = _say(reason, locale) if reason else entry["reason"]
    return [values[key] for key, _title, _kind in _CALL_COLUMNS]


def as_csv(rows: list[dict[str, Any]], locale: str = "ru") -> bytes:
    buffer = io.StringIO()
    writer = CsvWriter(buffer, _call_columns(locale), locale)
    for entry in rows:
        writer.writerow(_call_row(entry, locale))
    return buffer.getvalue().encode("utf-8-sig")  # a BOM: Excel then reads the Cyrillic


def as_xlsx(rows: list[dict[str, Any]], locale: str = "ru") -> bytes:
    book = workbook()
    sheet = Sheet(book, _say({"ru": "Обзвон", "en": "Call list"}, locale), _call_columns(locale))
    for entry in rows:
        sheet.append(_call_row(entry, locale))
    sheet.with_filter()
    return saved(book)


# Invitation links for an SMS or mailing tool: machine column names, as such tools expect.
LINK_COLUMNS = (
    "order_no",
    "visit_date",
    "customer_name",
    "phone",
    "car",
    "advisor",
    "status",
    "link",
)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A plain CSV (comma, UTF-8 with BOM) for tools, formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([f"'{v}" if formula_like(v) else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


# --- the survey export -----------------------------------------------------------------------

STATUS_WORDS: dict[str, Localized] = {
    "invited": {"ru": "приглашён", "en": "invited"},
    "in_progress": {"ru": "начат, не закончен", "en": "started, not finished"},
    "completed": {"ru": "завершён", "en": "completed"},
    "declined": {"ru": "отказался", "en": "declined"},
    "expired": {"ru": "истёк срок", "en": "expired"},
}
CHANNEL_WORDS: dict[str, Localized] = {
    "telegram": {"ru": "Telegram", "en": "Telegram"},
    "phone": {"ru": "телефон", "en": "phone"},
}
YES_NO: dict[bool, Localized] = {True: {"ru": "да", "en": "yes"}, False: {"ru": "нет", "en": "no"}}
SHEETS: dict[str, Localized] = {
    "answers": {"ru": "Ответы", "en": "Answers"},
    "summary": {"ru": "Сводка", "en": "Summary"},
    "advisors": {"ru": "Мастера-консультанты", "en": "Service advisors"},
    "trend": {"ru": "Динамика", "en": "Trend"},
    "segments": {"ru": "Сегменты", "en": "Segments"},
    "managers": {"ru": "Менеджеры", "en": "Managers"},
}


def _t(ru: str, en: str) -> Localized:
    return {"ru": ru, "en": en}


def _speaker(locale: str) -> Callable[[str, str], str]:
    def say(ru: str, en: str) -> str:
        return _say(_t(ru, en), locale)

    return say


def question_title(number: int, locale: str) -> str:
    return f"{number}. {_say(question(number).short, locale)}"


def answer_columns(locale: str, zone: ZoneInfo) -> list[Column]:
    say = _speaker(locale)
    return [
        Column(say("Заказ-наряд", "Work order"), TEXT, 14),
        Column(say("Дата визита", "Visit date"), DATE),
        Column(say("Мастер-консультант", "Service advisor")),
        Column(say("Автомобиль", "Car")),
        Column(say("Статус", "Status"), TEXT, 18),
        Column(say("Канал", "Channel"), TEXT, 10),
        Column(say(f"Завершён ({zone.key})", f"Completed ({zone.key})"), MOMENT, 20),
        Column("CSI", DECIMAL, 8),
        Column(say("Есть проблема", "Has a problem"), TEXT, 10),
        Column(say("Проблемных ответов", "Problem answers"), NUMBER, 12),
        Column(say("Вопросы с проблемой", "Questions with a problem"), TEXT, 14),
        *[
            Column(
                question_title(n, locale),
                NUMBER if question(n).kind is Kind.RATING else TEXT,
                14 if question(n).kind is Kind.RATING else 22,
            )
            for n in range(1, QUESTION_COUNT + 1)
        ],
        Column(say("Комментарий", "Comment"), LONG_TEXT),
        Column(say("Просит связаться", "Asks to be called"), TEXT, 12),
    ]


def answer_row(row: tuple[Any, ...], locale: str, zone: ZoneInfo) -> list[Any]:
    order_no, visit_date, advisor, car, status, completed_at, score, codes, comment, wants = row[
        :10
    ]
    channel = row[10] if len(row) > 10 else "telegram"
    given = decode_answers(codes)
    answers: list[Any] = []
    problems: list[int] = []
    for number in range(1, QUESTION_COUNT + 1):
        value = given.get(number)
        q = question(number)
        if value is None:
            answers.append(None)
            continue
        if q.is_problem(value):
            problems.append(number)
        answers.append(int(value) if q.kind is Kind.RATING else q.label(value, locale))
    completed = status == "completed"
    status_words = STATUS_WORDS.get(status)
    return [
        order_no,
        visit_date,
        advisor,
        car,
        _say(status_words, locale) if status_words else status,
        _say(CHANNEL_WORDS.get(channel, {"ru": channel}), locale),
        completed_at.astimezone(zone).replace(tzinfo=None) if completed_at else None,
        round(score * 100, 1) if score is not None and completed else None,
        _say(YES_NO[bool(problems)], locale),
        len(problems),
        ", ".join(str(n) for n in problems),
        *answers,
        comment or "",
        _say(YES_NO[wants], locale) if wants is not None else "",
    ]


async def write_answers_csv(
    rows: AsyncIterable[tuple[Any, ...]],
    out: IO[str],
    locale: str = "ru",
    zone: ZoneInfo | None = None,
) -> int:
    zone = zone or ZoneInfo("Europe/Moscow")
    writer = CsvWriter(out, answer_columns(locale, zone), locale)
    count = 0
    async for row in rows:
        writer.writerow(answer_row(row, locale, zone))
        count += 1
    return count


async def write_xlsx(
    rows: AsyncIterable[tuple[Any, ...]],
    report: Report,
    segments: Mapping[Segment, int],
    out: IO[bytes],
    *,
    locale: str = "ru",
    zone: ZoneInfo | None = None,
    period_title: str = "",
) -> int:
    zone = zone or ZoneInfo("Europe/Moscow")
    book = workbook()
    _summary_sheet(book, report, locale, period_title)
    answers = Sheet(book, _say(SHEETS["answers"], locale), answer_columns(locale, zone))
    count = 0
    async for row in rows:
        answers.append(answer_row(row, locale, zone))
        count += 1
    answers.with_filter()
    _advisor_sheet(book, report, locale)
    _manager_sheet(book, report, locale)
    _trend_sheet(book, report, locale)
    sheet = Sheet(
        book,
        _say(SHEETS["segments"], locale),
        [
            Column(_say(_t("Сегмент", "Segment"), locale), TEXT, 24),
            Column(_say(_t("Клиентов", "Customers"), locale), NUMBER),
            Column(_say(_t("Что делать", "What to do"), locale), LONG_TEXT, 70),
        ],
    )
    for segment, customers in segments.items():
        sheet.append(
            [_say(SEGMENT_NAMES[segment], locale), customers, _say(STRATEGIES[segment], locale)]
        )
    book.save(out)
    return count


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


def _summary_sheet(book: Any, report: Report, locale: str, period_title: str) -> None:
    """The page a head of service prints: the period's figures, then each question."""
    say = _speaker(locale)
    sheet = Sheet(
        book,
        _say(SHEETS["summary"], locale),
        [
            Column(say("Показатель", "Figure"), TEXT, 46),
            Column(say("Значение", "Value"), DECIMAL, 14),
        ],
        printable=True,
    )
    funnel, cases = report.funnel, report.escalations
    rows: list[tuple[str, object, str]] = [
        (say("Период", "Period"), period_title or report.period.label(), TEXT),
        (say("Приглашено", "Invited"), funnel.invited, NUMBER),
        (say("Начали опрос", "Started"), funnel.started, NUMBER),
        (say("Завершили опрос", "Completed"), funnel.completed, NUMBER),
        (say("Доля ответивших, %", "Response rate, %"), _percent(funnel.response_rate), PERCENT),
        ("CSI", None if report.csi is None else round(report.csi, 1), DECIMAL),
        (
            say("Медиана от приглашения до ответов, ч", "Median invitation to answers, h"),
            _hours(report.median_completion_seconds),
            DECIMAL,
        ),
        (say("Кейсов открыто", "Cases opened"), cases.opened, NUMBER),
        (say("Взято в срок", "Taken within SLA"), cases.taken_within_sla, NUMBER),
        (say("Кейсов решено", "Cases resolved"), cases.resolved, NUMBER),
        (
            say("Медиана до взятия, ч", "Median time to take, h"),
            _hours(cases.median_take_seconds),
            DECIMAL,
        ),
        (
            say("Медиана до решения, ч", "Median time to resolve, h"),
            _hours(cases.median_resolve_seconds),
            DECIMAL,
        ),
    ]
    for name, value, kind in rows:
        sheet.append([name, value], [TEXT, kind])
    sheet.append([])
    sheet.title_row(say("По вопросам", "By question"))
    headers = [
        say("Вопрос", "Question"),
        say("Ответов", "Answered"),
        say("Проблемных", "Problem answers"),
        say("Доля проблем, %", "Problem share, %"),
        say("Затрудняюсь ответить", "Not sure"),
        say("Средняя оценка", "Mean rating"),
    ]
    sheet.append(headers, [TEXT] * len(headers))
    kinds = [TEXT, NUMBER, NUMBER, PERCENT, NUMBER, DECIMAL]
    for q in report.questions:
        sheet.append(
            [
                question_title(q.question, locale),
                q.answered,
                q.problems,
                _percent(q.problem_share),
                q.unsure,
                None if q.mean_rating is None else round(q.mean_rating, 2),
            ],
            kinds,
        )


def _advisor_sheet(book: Any, report: Report, locale: str) -> None:
    say = _speaker(locale)
    sheet = Sheet(
        book,
        _say(SHEETS["advisors"], locale),
        [
            Column(say("Мастер-консультант", "Service advisor"), TEXT, 26),
            Column(say("Завершённых опросов", "Completed surveys"), NUMBER, 12),
            Column("CSI", DECIMAL),
            Column(say("Дружелюбие (1–5)", "Friendliness (1-5)"), DECIMAL, 14),
            Column(say("Отзывчивость (1–5)", "Responsiveness (1-5)"), DECIMAL, 14),
            Column(say("Доля проблем, %", "Problem share, %"), PERCENT),
        ],
    )
    for row in sorted(report.advisors, key=lambda r: (-(r.csi_mean_score or -1), r.advisor)):
        sheet.append(
            [
                row.advisor,
                row.completed,
                _percent(row.csi_mean_score),
                None if row.friendliness is None else round(row.friendliness, 2),
                None if row.responsiveness is None else round(row.responsiveness, 2),
                _percent(row.problems / row.answered if row.answered else None),
            ]
        )
    sheet.with_filter()


def _manager_sheet(book: Any, report: Report, locale: str) -> None:
    """Each manager's deadlines (survey.deadlines)."""
    say = _speaker(locale)
    sheet = Sheet(
        book,
        _say(SHEETS["managers"], locale),
        [
            Column(say("Менеджер", "Manager"), TEXT, 24),
            Column(say("Взято кейсов", "Cases taken"), NUMBER, 12),
            Column(say("Взято в срок, %", "Taken within SLA, %"), PERCENT, 14),
            Column(say("Медиана до взятия, ч", "Median time to take, h"), DECIMAL, 14),
            Column(say("Решено", "Resolved"), NUMBER),
            Column(say("Решено в срок, %", "Resolved within SLA, %"), PERCENT, 14),
            Column(say("Медиана до решения, ч", "Median time to resolve, h"), DECIMAL, 14),
            Column(say("Открыто снова, %", "Reopened, %"), PERCENT, 14),
            Column(say("Клиент: решена", "Customer: solved"), NUMBER, 12),
            Column(say("Клиент: не решена", "Customer: not solved"), NUMBER, 12),
        ],
    )
    for row in report.managers:
        sheet.append(
            [
                row.manager,
                row.taken,
                _percent(row.take_sla_share),
                _hours(row.median_take_seconds),
                row.resolved,
                _percent(row.resolve_sla_share),
                _hours(row.median_resolve_seconds),
                _percent(row.reopened_share),
                row.said_fixed,
                row.said_not_fixed,
            ]
        )
    sheet.with_filter()


def _trend_sheet(book: Any, report: Report, locale: str) -> None:
    """Completed surveys and CSI per week and per month (by visit date), with counts."""
    say = _speaker(locale)
    sheet = Sheet(
        book,
        _say(SHEETS["trend"], locale),
        [
            Column(say("Период", "Period"), TEXT, 10),
            Column(say("Начало", "Starts"), DATE),
            Column(say("Завершённых опросов", "Completed surveys"), NUMBER, 12),
            Column("CSI", DECIMAL),
        ],
    )
    for label, rows in (
        (say("неделя", "week"), report.weeks),
        (say("месяц", "month"), report.months),
    ):
        for start, count, score in rows:
            sheet.append([label, start, count, _percent(score)])
    sheet.with_filter()
