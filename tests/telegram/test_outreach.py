"""Invitations, reminders, broadcasts, the call list and personal data, against the fake API."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.commands import in_language
from bot.commands.outreach import send_broadcast
from handlers.outbound.sender import Sender
from storage.models import Answer, Customer, Send, Survey, TelegramUser
from storage.uow import UnitOfWork
from storage.workflows import outreach as broadcasts
from storage.workflows.imports import import_visits
from storage.workflows.outreach import expire_surveys
from survey.outreach import Audience
from survey.periods import Period
from survey.visit_import import ParsedVisits, VisitRecord
from tests.conftest import App, changed
from tests.fakes import Failure
from tests.processes import eventually, midday_zone

ADMIN = 1


@pytest.fixture
async def desk(app: App) -> AsyncIterator[App]:
    configured = app.restarted(privacy_url="https://dealer.example/privacy")
    yield configured
    await configured.bot.session.close()


def visit(n: int, *, day: date = date(2026, 10, 19), telegram: int | None = None) -> VisitRecord:
    return VisitRecord(
        line=n + 1,
        order_no=f"ZN-{n:04d}",
        visit_date=day,
        customer_name=f"Клиент {n}",
        phone=f"+7900{n:07d}",
        car="Lada Vesta",
        advisor="Смирнов",
        telegram_user_id=telegram if telegram is not None else 10_000 + n,
    )


async def load(app: App, *records: VisitRecord) -> None:
    async with app.sessions() as session:
        await import_visits(
            UnitOfWork(session), ParsedVisits(list(records)), app.services.policies, app.clock()
        )
        await session.commit()


def sender(app: App) -> Sender:
    return app.services.sender


async def sends(app: App) -> dict[str, tuple[str, str | None]]:
    async with app.sessions() as session:
        rows = (await session.scalars(select(Send).order_by(Send.id))).all()
        return {f"{s.survey.visit.order_no}/{s.kind}": (s.status, s.error) for s in rows}


def invitations_to(app: App, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in app.telegram.bot_messages(chat_id) if "Здравствуйте" in m.get("text", "")]


async def test_invitation_goes_out_a_day_after_the_visit_with_who_and_why(desk: App) -> None:
    # The clock reads 12:00 in Moscow on 20.10: yesterday's visit is due, today's is not.
    await load(desk, visit(1), visit(2, day=date(2026, 10, 20)))
    assert await sender(desk).run_once(desk.bot) == 1
    [invitation] = invitations_to(desk, 10_001)
    assert "клиентская служба «Фаворит Моторс»" in invitation["text"]
    assert "https://dealer.example/privacy" in invitation["text"]
    assert "/stop" in invitation["text"]
    assert invitations_to(desk, 10_002) == []

    survey = await desk.survey("ZN-0001")
    assert survey.invited_at == desk.clock()
    assert survey.expires_at == desk.clock() + timedelta(days=7)
    assert (await sends(desk))["ZN-0001/reminder"] == ("pending", None)

    # The invitation is the survey's live message: starting from it just works.
    customer = desk.customer(10_001)
    await customer.click("Начать опрос", invitation)
    assert "Вопрос 1 из 12" in customer.last["text"]

    desk.clock.advance(days=1)
    assert await sender(desk).run_once(desk.bot) == 2  # today's invitation, yesterday's reminder
    assert len(invitations_to(desk, 10_002)) == 1
    assert (
        "Напоминаем: вы ответили на 0 из 12" not in desk.telegram.bot_messages(10_001)[-1]["text"]
    )


async def test_quiet_hours_hold_invitations_until_morning(desk: App) -> None:
    desk.clock.now = desk.clock.now.replace(hour=18)  # 21:00 in Moscow
    await load(desk, visit(1))
    assert await sender(desk).run_once(desk.bot) == 1  # taken, but only rescheduled
    assert invitations_to(desk, 10_001) == []
    async with desk.sessions() as session:
        send = await session.scalar(select(Send))
        assert send is not None
        assert send.status == "pending"
        assert send.next_attempt_at.isoformat() == "2026-10-21T07:00:00+00:00"  # 10:00 MSK
    desk.clock.advance(hours=12, minutes=59)
    await sender(desk).run_once(desk.bot)
    assert invitations_to(desk, 10_001) == []
    desk.clock.advance(minutes=1)
    await sender(desk).run_once(desk.bot)
    assert len(invitations_to(desk, 10_001)) == 1


async def test_opted_out_unknown_and_recently_surveyed_customers_are_skipped(desk: App) -> None:
    async with desk.sessions() as session:
        session.add(TelegramUser(id=10_001, opted_out_at=desk.clock(), created_at=desk.clock()))
        await session.commit()
    await load(desk, visit(1), visit(3))
    async with desk.sessions() as session:
        db = UnitOfWork(session)
        await db.visits.import_records(
            [
                VisitRecord(
                    3,
                    "ZN-0002",
                    date(2026, 10, 19),
                    "Без Телеграма",
                    "+79000000002",
                    "Kia",
                    "Смирнов",
                    None,
                )
            ],
            desk.clock(),
        )
        survey = await db.outreach.by_order("ZN-0002")
        assert survey is not None
        await db.outreach.schedule(survey, "invitation", desk.clock(), desk.clock())
        # Customer 3 answered another survey ten days ago: within the 30-day cooldown.
        older = await import_and_get(db, visit(3, day=date(2026, 10, 1)), "ZN-0003-old", desk)
        older.completed_at = desk.clock() - timedelta(days=10)
        await session.commit()

    await sender(desk).run_once(desk.bot)
    assert await sends(desk) == {
        "ZN-0001/invitation": ("skipped", "opted_out"),
        "ZN-0003/invitation": ("skipped", "cooldown"),
        "ZN-0002/invitation": ("skipped", "no_telegram"),
    }
    assert desk.telegram.calls_of("sendMessage") == []
    async with desk.sessions() as session:
        rows = await UnitOfWork(session).outreach.call_list()
    assert [(r["order_no"], r["reason"]) for r in rows] == [("ZN-0002", "no_telegram")]


async def import_and_get(db: UnitOfWork, record: VisitRecord, order_no: str, app: App) -> Survey:
    await db.visits.import_records(
        [VisitRecord(**{**_fields(record), "order_no": order_no})], app.clock()
    )
    survey = await db.outreach.by_order(order_no)
    assert survey is not None
    return survey


def _fields(record: VisitRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in VisitRecord.__slots__}


async def test_one_reminder_then_the_survey_expires_and_says_so(desk: App) -> None:
    await load(desk, visit(1))
    await sender(desk).run_once(desk.bot)
    invitation = invitations_to(desk, 10_001)[0]
    desk.clock.advance(hours=24)
    await sender(desk).run_once(desk.bot)
    reminder = desk.telegram.bot_messages(10_001)[-1]
    assert "Напоминаем о нашем коротком опросе" in reminder["text"]
    assert "reply_markup" not in desk.telegram.chat(10_001).messages[invitation["message_id"]]
    desk.clock.advance(days=2)
    assert await sender(desk).run_once(desk.bot) == 0  # one reminder only

    desk.clock.advance(days=5)
    async with desk.services.database.unit() as db:
        assert await expire_surveys(db, desk.clock()) == 1
    customer = desk.customer(10_001)
    await customer.click("Начать опрос", reminder)
    alert = desk.telegram.calls_of("answerCallbackQuery")[-1].params
    assert alert["text"] == "Этот опрос уже закрыт."
    async with desk.sessions() as session:
        rows = await UnitOfWork(session).outreach.call_list()
    assert [(r["order_no"], r["reason"]) for r in rows] == [("ZN-0001", "expired")]


async def test_blocked_server_errors_and_429_are_each_handled_and_recorded(desk: App) -> None:
    desk.telegram.fail(
        Failure("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=10_001)
    )
    # Three 500s in a row outlast the HTTP-level retries; the sender then retries later.
    desk.telegram.fail(
        Failure("sendMessage", 500, "Internal Server Error", chat_id=10_002, times=3)
    )
    desk.telegram.fail(
        Failure(
            "sendMessage", 429, "Too Many Requests: retry after 1", chat_id=10_003, retry_after=1
        )
    )
    await load(desk, visit(1), visit(2), visit(3), visit(4))
    await sender(desk).run_once(desk.bot)
    outcome = await sends(desk)
    assert outcome["ZN-0001/invitation"][0] == "blocked"
    assert outcome["ZN-0002/invitation"][0] == "pending"
    assert "Internal Server Error" in (outcome["ZN-0002/invitation"][1] or "")
    assert outcome["ZN-0003/invitation"] == ("pending", "429: retry after 1s")
    assert outcome["ZN-0004/invitation"] == ("sent", None)
    async with desk.sessions() as session:
        blocked = await session.scalar(select(Customer).where(Customer.telegram_user_id == 10_001))
        assert blocked is not None
        assert blocked.unreachable_reason == "blocked"

    desk.clock.advance(seconds=10)
    await sender(desk).run_once(desk.bot)
    outcome = await sends(desk)
    assert outcome["ZN-0002/invitation"] == ("sent", None)
    assert outcome["ZN-0003/invitation"] == ("sent", None)
    assert outcome["ZN-0001/invitation"][0] == "blocked"
    for chat in (10_002, 10_003, 10_004):
        assert len(invitations_to(desk, chat)) == 1
    async with desk.sessions() as session:
        rows = await UnitOfWork(session).outreach.call_list()
    assert [(r["order_no"], r["reason"]) for r in rows] == [("ZN-0001", "blocked")]


@pytest.mark.slow  # paces real messages at SEND_RATE for seconds
async def test_the_send_rate_is_respected(app: App) -> None:
    limited = app.restarted(send_rate=10)
    try:
        await load(limited, *[visit(n) for n in range(1, 26)])
        await sender(limited).run_once(limited.bot)
        times = sorted(call.at for call in limited.telegram.calls_of("sendMessage"))
        assert len(times) == 25
        # Never more than 10 in any one second (a small margin for timer jitter).
        for first, eleventh in zip(times, times[10:], strict=False):
            assert eleventh - first >= 0.95
    finally:
        await limited.bot.session.close()


async def test_one_message_a_second_per_chat(app: App) -> None:
    relaxed = app.restarted(survey_cooldown=timedelta(0))
    try:
        await load(relaxed, visit(1, telegram=5555), visit(2, telegram=5555))
        await sender(relaxed).run_once(relaxed.bot)
        times = [call.at for call in relaxed.telegram.calls_of("sendMessage")]
        assert len(times) == 2
        assert abs(times[1] - times[0]) >= 0.95
    finally:
        await relaxed.bot.session.close()


@pytest.mark.slow  # a real-time broadcast stopped half-way
async def test_an_interrupted_broadcast_finishes_with_everyone_messaged_once(desk: App) -> None:
    await load_without_schedule(desk, 40)
    async with desk.sessions() as session:
        db = UnitOfWork(session)
        plan = await broadcasts.preview(
            db, Audience.PERIOD, desk.clock(), period=Period(date(2026, 10, 1), date(2026, 10, 31))
        )
        assert plan.reach == 40
        await broadcasts.start(db, plan, desk.clock(), created_by=ADMIN)
        await session.commit()

    stop = asyncio.Event()
    desk.telegram.listeners.append(
        lambda event, _m: stop.set() if len(desk.telegram.calls_of("sendMessage")) >= 12 else None
    )
    first = Sender(desk.services.database, desk.services.policies, desk.clock, sender(desk).i18n)
    first.limiter = type(first.limiter)(5)  # slow, so the stop lands mid-way
    await first.run_until_stopped(desk.bot, stop)
    sent_before = len(desk.telegram.calls_of("sendMessage"))
    assert 12 <= sent_before < 40

    restarted = desk.restarted()
    try:
        while await sender(restarted).run_once(restarted.bot):
            pass
    finally:
        await restarted.bot.session.close()
    per_chat = [len(invitations_to(desk, 20_000 + n)) for n in range(40)]
    assert per_chat == [1] * 40


async def load_without_schedule(app: App, count: int) -> None:
    async with app.sessions() as session:
        records = [
            VisitRecord(
                n + 2,
                f"B-{n:03d}",
                date(2026, 10, 5),
                f"К{n}",
                f"+7911{n:07d}",
                "Kia",
                "Смирнов",
                20_000 + n,
            )
            for n in range(count)
        ]
        await UnitOfWork(session).visits.import_records(records, app.clock())
        await session.commit()


async def test_overlapping_broadcasts_never_message_anyone_twice(desk: App) -> None:
    await load_without_schedule(desk, 10)
    async with desk.sessions() as session:
        db = UnitOfWork(session)
        october = Period(date(2026, 10, 1), date(2026, 10, 31))
        one = await broadcasts.preview(db, Audience.PERIOD, desk.clock(), period=october)
        await broadcasts.start(db, one, desk.clock(), created_by=ADMIN)
        two = await broadcasts.preview(
            db, Audience.PERIOD, desk.clock(), period=Period(date(2026, 10, 5), date(2026, 10, 5))
        )
        await broadcasts.start(db, two, desk.clock(), created_by=ADMIN)
        three = await broadcasts.preview(db, Audience.ORDER, desk.clock(), order_no="B-003")
        await broadcasts.start(db, three, desk.clock(), created_by=ADMIN)
        await session.commit()
    await sender(desk).run_once(desk.bot)
    assert [len(invitations_to(desk, 20_000 + n)) for n in range(10)] == [1] * 10
    async with desk.sessions() as session:
        again = await broadcasts.preview(
            UnitOfWork(session), Audience.ORDER, desk.clock(), order_no="B-003"
        )
    # Invited already: the order can now only get its (one) reminder, never the invitation again.
    assert [kind for _survey, kind in again.targets] == ["reminder"]


async def test_broadcast_from_the_chat_with_progress_and_summary(desk: App) -> None:
    await load_without_schedule(desk, 3)
    admin = desk.member(ADMIN, "Руководитель")
    await admin.send("/broadcast")
    await admin.click("Визиты за период")
    await admin.send("first of october")
    assert "Не понял даты" in admin.last["text"]
    await admin.send("2026-10-01..2026-10-31")
    assert "Получат сообщение: 3." in admin.last["text"]
    await admin.click("Начать")
    progress_id = admin.last["message_id"]
    assert "Рассылка №1" in admin.last["text"]
    assert "Осталось: 3" in admin.last["text"]
    await sender(desk).run_once(desk.bot)
    await desk.services.progress.report(desk.bot)
    final = desk.telegram.chat(ADMIN).messages[progress_id]
    assert "Отправлено: 3" in final["text"]
    assert "Готово." in final["text"]
    assert "reply_markup" not in final


async def test_a_cancelled_broadcast_sends_nothing_more(desk: App) -> None:
    await load_without_schedule(desk, 3)
    admin = desk.member(ADMIN, "Руководитель")
    await admin.send("/broadcast")
    await admin.click("Один заказ-наряд")
    await admin.send("B-001")
    assert "Получат сообщение: 1." in admin.last["text"]
    await admin.click("Начать")
    await admin.click("Отменить")
    assert "Отменено: не отправлено 1." in admin.last["text"]
    await sender(desk).run_once(desk.bot)
    assert desk.telegram.calls_of("sendMessage")[-1].params["chat_id"] == str(ADMIN)


async def test_broadcast_and_staff_commands_are_admin_only(desk: App) -> None:
    customer = desk.customer(4444)
    for command in ("/broadcast", "/staff", "/calllist"):
        await customer.send(command)
        assert "/language" in customer.last["text"]  # the customer help, nothing more
        assert "рассыл" not in customer.last["text"].lower()


async def test_staff_added_and_removed_in_the_bot(desk: App) -> None:
    admin = desk.member(ADMIN, "Руководитель")
    newcomer = desk.member(4242, "Новичок")
    await newcomer.send("/cases")
    assert "/language" in newcomer.last["text"]
    await admin.send("/staff add manager 4242")
    assert "Новичок теперь менеджер клиентской службы" in admin.last["text"]
    await newcomer.send("/cases")
    assert "Открытых кейсов нет" in newcomer.last["text"]
    await admin.send("/staff")
    assert "Новичок · менеджер клиентской службы · добавлен в боте" in admin.last["text"]
    await admin.click("Убрать: Новичок")
    await newcomer.send("/cases")
    assert "/language" in newcomer.last["text"]
    await admin.send("/staff remove 1")
    assert "задан в настройках" in admin.last["text"]
    await admin.send("/staff add boss x")
    assert "Как пользоваться" in admin.last["text"]


async def test_calllist_in_the_chat_has_a_button_each_and_the_whole_list_as_xlsx(
    desk: App,
) -> None:
    async with desk.sessions() as session:
        db = UnitOfWork(session)
        await db.visits.import_records(
            [
                VisitRecord(
                    2, "ZN-9", date(2026, 10, 19), "Ольга", "+79005554433", "Kia", "Смирнов", None
                )
            ],
            desk.clock(),
        )
        survey = await db.outreach.by_order("ZN-9")
        assert survey is not None
        await db.outreach.schedule(survey, "invitation", desk.clock(), desk.clock())
        await session.commit()
    await sender(desk).run_once(desk.bot)
    staff = desk.member(2, "Менеджер")
    await staff.send("/calllist")
    assert staff.last["text"] == (
        "Позвонить: 1\n\nОльга, +79005554433 · Kia, ZN-9 от 19.10.2026 · нет Telegram · "
        "звонков 0 из 3"
    )
    assert staff.buttons() == ["📞 Ольга", "Весь список файлом"]
    await staff.click("Весь список файлом")
    document = staff.last["document"]
    sheet = load_workbook(io.BytesIO(desk.telegram.files[document["file_id"]])).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Клиент",
        "Телефон",
        "Автомобиль",
        "Заказ-наряд",
        "Дата визита",
        "Почему звоним",
    )
    assert rows[1] == (
        "Ольга",
        "+79005554433",
        "Kia",
        "ZN-9",
        datetime(2026, 10, 19),
        "нет Telegram",
    )
    assert sheet["E2"].number_format == "DD.MM.YYYY"


async def test_linking_by_shared_contact_refuses_someone_elses(desk: App) -> None:
    async with desk.sessions() as session:
        await UnitOfWork(session).visits.import_records(
            [
                VisitRecord(
                    2, "ZN-7", date(2026, 10, 19), "Пётр", "+79123456789", "Kia", "Смирнов", None
                )
            ],
            desk.clock(),
        )
        await session.commit()
    person = desk.customer(6006)
    await person.send("/start")
    assert desk.telegram.chat(6006).reply_keyboard is not None
    assert desk.telegram.chat(6006).reply_keyboard["keyboard"][0][0]["request_contact"] is True

    await person.send_update(
        {"contact": {"phone_number": "+79123456789", "first_name": "Пётр", "user_id": 9999}}
    )
    assert "своим номером" in person.last["text"]
    await person.send_update({"contact": {"phone_number": "+79123456789", "first_name": "Пётр"}})
    assert "своим номером" in person.last["text"]
    assert (await desk.survey("ZN-7")).visit.customer.telegram_user_id is None

    await person.send_update(
        {"contact": {"phone_number": "8 (912) 345-67-89", "first_name": "Пётр", "user_id": 6006}}
    )
    assert "Здравствуйте, Пётр!" in person.last["text"]
    assert (await desk.survey("ZN-7")).visit.customer.telegram_user_id == 6006
    assert desk.telegram.chat(6006).reply_keyboard is None

    stranger = desk.customer(7007)
    await stranger.send_update(
        {"contact": {"phone_number": "79990001122", "first_name": "Кто-то", "user_id": 7007}}
    )
    assert "не нашли визитов" in stranger.last["text"]


async def test_visit_list_uploaded_in_the_chat(desk: App) -> None:
    admin = desk.member(ADMIN, "Руководитель")
    good = (
        "order_no;visit_date;customer_name;phone;car;advisor\n"
        "ZN-1;2026-10-19;Иван;89123456789;Kia;Смирнов\n"
        "ZN-2;вчера;Анна;89031112233;Skoda;Кузнецов\n"
    ).encode()
    await admin.send_update({"document": desk.telegram.upload(good, "visits.csv")})
    assert "Новых: 1 · обновлено: 0 · отклонено строк: 1" in admin.last["text"]
    assert "строка 3: дата визита (visit_date): «вчера» — не дата" in admin.last["text"]
    assert (await sends(desk)) == {"ZN-1/invitation": ("pending", None)}

    for content, name, answer in (
        (b"%PDF", "visits.pdf", "файлом .csv или .xlsx"),
        (b"a,b\n1,2\n", "visits.csv", "visits.csv: ничего не импортировано"),
    ):
        await admin.send_update({"document": desk.telegram.upload(content, name)})
        assert answer in admin.last["text"]
    big = desk.telegram.upload(b"x", "big.csv")
    big["file_size"] = 6 * 1024 * 1024
    await admin.send_update({"document": big})
    assert "больше 5 МБ" in admin.last["text"]

    customer = desk.customer(3333)
    await customer.send_update(
        {"document": desk.telegram.upload(good.replace(b"ZN-1", b"ZN-X"), "v.csv")}
    )
    async with desk.sessions() as session:
        assert await UnitOfWork(session).outreach.by_order("ZN-X") is None


async def test_mydata_and_forget(desk: App) -> None:
    survey = await desk.add_visit()
    customer = desk.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for _ in range(10):
        await customer.send("да" if _ else "ответили быстро")
    await customer.send("5")
    await customer.send("5")
    await customer.send("Мой телефон 8-912-000-00-00, звоните")
    await customer.send("нет")

    await customer.send("/mydata")
    assert "Иван Петров" in customer.last["text"]
    assert "+79123456789" in customer.last["text"]
    assert "ZN-0001" in customer.last["text"]
    await customer.send("/forget")
    await customer.click("Нет, оставить")
    assert "Ничего не удалено" in customer.last["text"]
    await customer.send("/forget")
    await customer.click("Да, удалить мои данные")
    assert "удалены" in customer.last["text"]

    async with desk.sessions() as session:
        stored = await session.scalar(select(Customer))
        assert stored is not None
        assert (stored.name, stored.phone, stored.telegram_user_id) == ("", None, None)
        assert stored.erased_at is not None
        kept = await session.scalar(select(Survey))
        assert kept is not None
        assert kept.comment is None
        assert len((await session.scalars(select(Answer))).all()) == 12
        assert await session.get(TelegramUser, 1001) is None
    await customer.send("/mydata")
    assert "не привязана карточка клиента" in customer.last["text"]


async def test_logs_carry_no_names_phones_or_comments(
    desk: App, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from bot.logs import keep_personal_data_out, quiet_routine

    caplog.set_level(logging.DEBUG)
    keep_personal_data_out()  # as followup-bot configures logging with LOG_LEVEL=DEBUG
    quiet_routine(False)
    await load(desk, visit(1))
    await sender(desk).run_once(desk.bot)
    customer = desk.customer(10_001)
    await customer.click("Начать опрос")
    await customer.send("пришлось ждать")
    for _ in range(9):
        await customer.send("нет")
    await customer.send("1")
    await customer.send("1")
    await customer.send("Секретный комментарий")
    await customer.send("да")
    assert caplog.records, "the bot logs something"
    for secret in ("Клиент 1", "+79000000001", "9000000001", "Секретный комментарий"):
        assert secret not in caplog.text


async def test_the_command_line_waits_for_what_the_running_bot_has_claimed(
    desk: App, capsys: pytest.CaptureFixture[str]
) -> None:
    """`followup-bot broadcast` beside the running bot: a send the bot's sender has
    claimed, not yet on its way, is the bot's; the command waits for it instead of
    ending with it "remaining" (it once did, whenever the bot claimed in that window)."""
    await load_without_schedule(desk, 3)
    settings = changed(desk.settings, timezone=midday_zone())
    now = datetime.now(UTC)  # the command runs on the real clock
    async with desk.sessions() as session:
        db = UnitOfWork(session)
        plan = await broadcasts.preview(
            db, Audience.PERIOD, now, period=Period(date(2026, 10, 1), date(2026, 10, 31))
        )
        number = (await broadcasts.start(db, plan, now, created_by=ADMIN)).id
        await session.commit()
    async with desk.sessions() as session:
        held = (await session.scalars(select(Send).order_by(Send.id))).first()
        assert held is not None
        assert await UnitOfWork(session).outreach.claim(held.id, now, timedelta(minutes=5))
        await session.commit()
        held_chat = held.survey.visit.customer.telegram_user_id

    with in_language("ru"):  # as the command line runs it (the task keeps the context)
        command = asyncio.create_task(send_broadcast(settings, desk.sessions, number))
    try:
        await eventually(lambda: len(desk.telegram.calls_of("sendMessage")) == 2)
        await asyncio.sleep(1.5)  # the command looks again each second
        assert not command.done()
        assert desk.telegram.bot_messages(held_chat) == []
        # The bot lets it go (its sender stopped before the send's turn): the command
        # sends it itself.
        async with desk.sessions() as session:
            await session.execute(
                update(Send).where(Send.id == held.id).values(claimed_until=None)
            )
            await session.commit()
        assert await asyncio.wait_for(command, 120) == 0
    finally:
        command.cancel()
    assert [len(invitations_to(desk, 20_000 + n)) for n in range(3)] == [1, 1, 1]
    assert "осталось 0" in capsys.readouterr().out
