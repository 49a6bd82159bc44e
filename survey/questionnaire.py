"""The 12 questions of the dealership's Follow-up questionnaire (appendix 3 of the seed).

Russian texts are the source document's, with its slips corrected (ё throughout,
"мастер-консультант", "а также", requests ending with a full stop); English is ours.
Each question states which answer is the *problem* answer, because the wording is
not uniform: Q1, Q7 and Q10 are phrased so that "yes" is bad.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    YES_NO = "yes_no"
    RATING = "rating"


class Choice(StrEnum):
    """Stored answer codes for yes/no questions; ratings are stored as "1".."5"."""

    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


RATING_VALUES: tuple[str, ...] = ("1", "2", "3", "4", "5")
# A rating at or below this is a problem answer (the issue: "ratings of 1-2 are bad").
RATING_PROBLEM_MAX = 2

Localized = dict[str, str]


@dataclass(frozen=True, slots=True)
class Question:
    number: int
    kind: Kind
    text: Localized
    short: Localized
    # Button labels that say what the answer means ("Ответили быстро", not "Нет").
    labels: dict[Choice, Localized] | None = None
    problem: Choice | None = None
    # Bare typed "да"/"нет" is ambiguous for a negated question, so it is not accepted.
    bare_yes_no_ambiguous: bool = False

    @property
    def values(self) -> tuple[str, ...]:
        """In button order: the good answer first, whichever way the question is worded."""
        if self.kind is Kind.RATING:
            return RATING_VALUES
        bad = self.problem or Choice.NO
        good = Choice.NO if bad == Choice.YES else Choice.YES
        return (good, bad, Choice.UNSURE)

    def is_problem(self, value: str) -> bool:
        if self.kind is Kind.RATING:
            return int(value) <= RATING_PROBLEM_MAX
        return value == self.problem

    def score(self, value: str) -> float | None:
        """1 for a good answer, 0 for a bad one, (r-1)/4 for a rating; None for "unsure"."""
        if self.kind is Kind.RATING:
            return (int(value) - 1) / 4
        if value == Choice.UNSURE:
            return None
        return 0.0 if value == self.problem else 1.0

    def label(self, value: str, locale: str) -> str:
        if self.kind is Kind.RATING:
            return value
        if value == Choice.UNSURE:
            return UNSURE_LABEL.get(locale, UNSURE_LABEL["ru"])
        assert self.labels is not None
        texts = self.labels[Choice(value)]
        return texts.get(locale, texts["ru"])


UNSURE_LABEL: Localized = {"ru": "Затрудняюсь ответить", "en": "Not sure"}


def _yes_no(
    number: int,
    ru: str,
    en: str,
    short: tuple[str, str],
    yes: tuple[str, str],
    no: tuple[str, str],
    problem: Choice,
    *,
    ambiguous: bool = False,
) -> Question:
    return Question(
        number=number,
        kind=Kind.YES_NO,
        text={"ru": ru, "en": en},
        short={"ru": short[0], "en": short[1]},
        labels={
            Choice.YES: {"ru": yes[0], "en": yes[1]},
            Choice.NO: {"ru": no[0], "en": no[1]},
        },
        problem=problem,
        bare_yes_no_ambiguous=ambiguous,
    )


def _rating(number: int, ru: str, en: str, short: tuple[str, str]) -> Question:
    return Question(
        number=number,
        kind=Kind.RATING,
        text={"ru": ru, "en": en},
        short={"ru": short[0], "en": short[1]},
    )


QUESTIONS: tuple[Question, ...] = (
    _yes_no(
        1,
        "Не пришлось ли Вам ждать ответа на звонок более трёх гудков?",
        "Did you have to wait more than three rings before your call was answered?",
        ("Ожидание ответа на звонок", "Waiting on the phone"),
        yes=("Пришлось ждать", "Had to wait"),
        no=("Ответили быстро", "Answered quickly"),
        problem=Choice.YES,
        ambiguous=True,
    ),
    _yes_no(
        2,
        "При записи на сервис предложили ли Вам вызов такси, автомобиль в аренду "
        "или подменный автомобиль?",
        "When you booked the service, were you offered a taxi, a rental car or a courtesy car?",
        ("Такси или подменный автомобиль", "Taxi or courtesy car"),
        yes=("Да, предложили", "Yes, offered"),
        no=("Нет, не предложили", "No, not offered"),
        problem=Choice.NO,
    ),
    _yes_no(
        3,
        "Были ли обсуждены с Вами работы, которые необходимо выполнить, "
        "непосредственно рядом с автомобилем?",
        "Were the necessary works discussed with you right next to your car?",
        ("Обсуждение работ у автомобиля", "Works discussed at the car"),
        yes=("Да, у автомобиля", "Yes, at the car"),
        no=("Нет, не обсуждали", "No, they were not"),
        problem=Choice.NO,
    ),
    _yes_no(
        4,
        "При приёме автомобиля на сервис получили ли Вы от мастера-консультанта "
        "подробные объяснения предстоящих работ?",
        "When your car was checked in, did the service advisor explain the upcoming "
        "works in detail?",
        ("Объяснение предстоящих работ", "Works explained at check-in"),
        yes=("Да, объяснили подробно", "Yes, in detail"),
        no=("Нет, не объяснили", "No, not explained"),
        problem=Choice.NO,
    ),
    _yes_no(
        5,
        "При приёме автомобиля на сервис были ли согласованы с Вами и зафиксированы "
        "в заказ-наряде объём предстоящих работ, их стоимость, сроки выполнения?",
        "When your car was checked in, were the scope, cost and timing of the works "
        "agreed with you and written into the work order?",
        ("Согласование заказ-наряда", "Work order agreed"),
        yes=("Да, согласовали", "Yes, agreed"),
        no=("Нет, не согласовали", "No, not agreed"),
        problem=Choice.NO,
    ),
    _yes_no(
        6,
        "Все ли заказанные Вами работы были выполнены в полном объёме "
        "в течение последнего визита?",
        "Were all the works you ordered fully completed during your last visit?",
        ("Все работы выполнены", "All works completed"),
        yes=("Да, всё выполнено", "Yes, all done"),
        no=("Нет, не всё", "No, not everything"),
        problem=Choice.NO,
    ),
    _yes_no(
        7,
        "Было ли Ваше последнее обращение на сервис связано с ранее неустранёнными "
        "неполадками или ранее незавершённым ремонтом?",
        "Was your last visit caused by a fault that had not been fixed before "
        "or by an unfinished earlier repair?",
        ("Повторный ремонт", "Repeat repair"),
        yes=("Да, повторный ремонт", "Yes, a repeat repair"),
        no=("Нет, новое обращение", "No, a new issue"),
        problem=Choice.YES,
    ),
    _yes_no(
        8,
        "Был ли Ваш автомобиль готов к назначенному времени?",
        "Was your car ready at the agreed time?",
        ("Автомобиль готов вовремя", "Car ready on time"),
        yes=("Да, вовремя", "Yes, on time"),
        no=("Нет, с опозданием", "No, it was late"),
        problem=Choice.NO,
    ),
    _yes_no(
        9,
        "Все ли позиции составленного счёта были объяснены подробно?",
        "Were all items of the invoice explained in detail?",
        ("Объяснение счёта", "Invoice explained"),
        yes=("Да, всё объяснили", "Yes, all explained"),
        no=("Нет, не всё", "No, not everything"),
        problem=Choice.NO,
    ),
    _yes_no(
        10,
        "Превысила ли сумма счёта ранее согласованную с Вами?",
        "Did the invoice exceed the amount agreed with you beforehand?",
        ("Счёт выше согласованного", "Invoice above agreed amount"),
        yes=("Да, превысила", "Yes, it was higher"),
        no=("Нет, не превысила", "No, it was not"),
        problem=Choice.YES,
    ),
    _rating(
        11,
        "Оцените, пожалуйста, степень дружелюбия мастера-консультанта в общении с Вами.",
        "Please rate how friendly the service advisor was with you.",
        ("Дружелюбие мастера-консультанта", "Advisor's friendliness"),
    ),
    _rating(
        12,
        "Оцените, пожалуйста, степень отзывчивости мастера-консультанта на Ваши просьбы "
        "и пожелания, а также его готовность помочь Вам.",
        "Please rate how responsive the service advisor was to your requests and wishes, "
        "and how ready to help you.",
        ("Отзывчивость мастера-консультанта", "Advisor's responsiveness"),
    ),
)

QUESTION_COUNT = len(QUESTIONS)


def question(number: int) -> Question:
    if not 1 <= number <= QUESTION_COUNT:
        raise KeyError(number)
    return QUESTIONS[number - 1]


# One character per answer, so a survey's twelve answers fit one short column that
# reports can aggregate without reading the answers table ("-": not answered).
_CODE = {Choice.YES.value: "y", Choice.NO.value: "n", Choice.UNSURE.value: "u"} | {
    value: value for value in RATING_VALUES
}
_VALUE = {code: value for value, code in _CODE.items()}
NOT_ANSWERED = "-"


def encode_answers(answers: dict[int, str]) -> str:
    return "".join(
        _CODE[answers[n]] if n in answers else NOT_ANSWERED for n in range(1, QUESTION_COUNT + 1)
    )


def decode_answers(codes: str) -> dict[int, str]:
    return {n: _VALUE[code] for n, code in enumerate(codes, start=1) if code != NOT_ANSWERED}


def answer_code(value: str) -> str:
    return _CODE[value]


def problem_codes(number: int) -> tuple[str, ...]:
    """The codes that are problem answers to this question."""
    q = question(number)
    return tuple(_CODE[value] for value in q.values if q.is_problem(value))


def answer_counts(answers: dict[int, str]) -> tuple[int, int]:
    """(answers other than "don't remember", problem answers) among one survey's answers."""
    given = [(n, v) for n, v in answers.items() if v != Choice.UNSURE.value]
    return len(given), sum(question(n).is_problem(v) for n, v in given)


# The two questions that rate the service advisor in person.
FRIENDLINESS, RESPONSIVENESS = 11, 12


def advisor_ratings(answers: dict[int, str]) -> tuple[int | None, int | None]:
    """The advisor's friendliness and responsiveness ratings (1-5), when given."""
    return tuple(  # type: ignore[return-value]
        int(answers[n]) if answers.get(n) in RATING_VALUES else None
        for n in (FRIENDLINESS, RESPONSIVENESS)
    )
