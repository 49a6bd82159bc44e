"""Admins: visit uploads, broadcasts with progress, the staff list. The admin router's
filter (handlers/__init__.py) lets only admins in here."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from pathlib import PurePath

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.outbound.menus import publish_for
from handlers.telegram import staff_name, strip_keyboard
from handlers.views.broadcasts import progress_keyboard, progress_text
from handlers.views.callbacks import (
    AudienceCallback,
    BroadcastCallback,
    ConfirmCallback,
    StaffCallback,
)
from handlers.views.dates import period_example
from handlers.views.keyboards import audience_keyboard, confirm_keyboard, staff_keyboard
from handlers.views.staff import role_name
from handlers.views.text import fill, quote, spoken
from storage.uow import UnitOfWork
from storage.workflows import outreach as broadcasts
from storage.workflows import staff as staff_list
from storage.workflows.imports import import_visits
from survey.clock import Clock
from survey.outreach import Audience, Progress
from survey.periods import PeriodError, parse_period
from survey.policy import ADMIN, MANAGER, OPERATOR, Policies
from survey.visit_import import ImportFileError, read_visits

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# The role as an admin may type it in /staff add, in either language.
ROLE_WORDS = {
    ADMIN: ADMIN,
    MANAGER: MANAGER,
    OPERATOR: OPERATOR,
    "руководитель": ADMIN,
    "менеджер": MANAGER,
    "оператор": OPERATOR,
}
MAX_REPORTED_ROWS = 30
REPORT_LIMIT = 3900  # characters of the import report, below Telegram's 4096


class BroadcastSetup(StatesGroup):
    period = State()
    order = State()
    confirm = State()


# --- visit list upload -----------------------------------------------------------------


async def visits_uploaded(
    message: Message, bot: Bot, db: UnitOfWork, policies: Policies, clock: Clock
) -> None:
    document = message.document
    assert document is not None
    name = document.file_name or ""
    if PurePath(name).suffix.lower() not in (".csv", ".xlsx"):
        await message.answer(_("Send the visit list as a .csv or .xlsx file."))
        return
    if (document.file_size or 0) > MAX_UPLOAD_BYTES:
        await message.answer(
            fill(
                _("The file is larger than {limit} MB; split it into parts."),
                limit=MAX_UPLOAD_BYTES // (1024 * 1024),
            )
        )
        return
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    now = clock()
    today = now.astimezone(policies.dealer.zone).date()
    try:
        # Parsing a large file is CPU work: in a thread, so customers keep being answered.
        parsed = await asyncio.to_thread(
            read_visits, buffer.getvalue(), name, today=today, limits=policies.imports
        )
    except ImportFileError as error:
        await message.answer(
            fill(_("{file}: nothing imported: {reason}"), file=name, reason=spoken(error.reason))
        )
        return
    counts = await import_visits(db, parsed, policies, now)
    lines = [
        "<b>" + _("Visits imported") + "</b>",
        fill(
            _("New: {created} · updated: {updated} · rejected rows: {rejected}"),
            created=counts.created,
            updated=counts.updated,
            rejected=len({e.line for e in parsed.errors}),
        ),
    ]
    lines += [quote(spoken(note)) for note in parsed.notes]
    if parsed.ignored_columns:
        lines.append(
            fill(_("Ignored columns: {columns}"), columns=", ".join(parsed.ignored_columns))
        )
    shown = 0
    for problem in parsed.errors[:MAX_REPORTED_ROWS]:
        line = fill(_("line {line}: {reason}"), line=problem.line, reason=spoken(problem.reason))
        if sum(len(text) + 1 for text in lines) + len(line) > REPORT_LIMIT:
            break  # whole lines only: cutting HTML could split an entity
        lines.append(line)
        shown += 1
    if len(parsed.errors) > shown:
        lines.append(fill(_("…and {count} more"), count=len(parsed.errors) - shown))
    await message.answer("\n".join(lines))


# --- broadcasts --------------------------------------------------------------------------


async def cmd_broadcast(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Whom shall we write to?"), reply_markup=audience_keyboard())


async def audience_chosen(
    query: CallbackQuery,
    callback_data: AudienceCallback,
    db: UnitOfWork,
    state: FSMContext,
    clock: Clock,
) -> None:
    await query.answer()
    assert isinstance(query.message, Message)
    if callback_data.audience == Audience.PERIOD:
        await state.set_state(BroadcastSetup.period)
        await query.message.edit_text(
            fill(_("Send the visit dates, for example {example}."), example=period_example())
        )
    elif callback_data.audience == Audience.ORDER:
        await state.set_state(BroadcastSetup.order)
        await query.message.edit_text(_("Send the work order number."))
    else:
        await _preview(query.message, db, state, clock, Audience.NOT_COMPLETED, {})


async def period_received(
    message: Message, db: UnitOfWork, state: FSMContext, policies: Policies, clock: Clock
) -> None:
    try:
        period = parse_period(message.text, clock().astimezone(policies.dealer.zone).date())
    except PeriodError:
        await message.answer(
            fill(_("I did not understand the dates. Example: {example}"), example=period_example())
        )
        return
    if period.first is None:
        await message.answer(
            fill(
                _("Please give the first and the last day. Example: {example}"),
                example=period_example(),
            )
        )
        return
    params = {"first": period.first.isoformat(), "last": period.last.isoformat()}
    await _preview(message, db, state, clock, Audience.PERIOD, params, edit=False)


async def order_received(
    message: Message, db: UnitOfWork, state: FSMContext, clock: Clock
) -> None:
    order_no = (message.text or "").strip()
    if not order_no or len(order_no) > 64:
        await message.answer(_("Send the work order number."))
        return
    await _preview(message, db, state, clock, Audience.ORDER, {"order_no": order_no}, edit=False)


async def _plan(
    db: UnitOfWork, audience: Audience, params: dict[str, str], now: datetime
) -> broadcasts.Preview:
    from survey.periods import Period, parse_date

    if audience is Audience.PERIOD:
        period = Period(parse_date(params["first"]), parse_date(params["last"]))
        return await broadcasts.preview(db, audience, now, period=period)
    if audience is Audience.ORDER:
        return await broadcasts.preview(db, audience, now, order_no=params["order_no"])
    return await broadcasts.preview(db, audience, now)


async def _preview(
    message: Message,
    db: UnitOfWork,
    state: FSMContext,
    clock: Clock,
    audience: Audience,
    params: dict[str, str],
    *,
    edit: bool = True,
) -> None:
    plan = await _plan(db, audience, params, clock())
    text = "\n".join(
        [
            fill(_("It will reach {reach} customer(s)."), reach=plan.reach),
            fill(_("Without Telegram (go to the call list): {count}"), count=plan.no_telegram),
            fill(_("Opted out (will be skipped): {count}"), count=plan.opted_out),
            fill(_("Already messaged before: {count}"), count=plan.already),
            "",
            _("Messages go out only outside quiet hours. Start?"),
        ]
    )
    if not plan.targets:
        await state.clear()
        reply = _("Nobody to write to for this choice.") + "\n" + text.split("\n\n")[0]
        await (message.edit_text(reply) if edit else message.answer(reply))
        return
    await state.set_state(BroadcastSetup.confirm)
    await state.set_data({"audience": audience.value, "params": params})
    await (
        message.edit_text(text, reply_markup=confirm_keyboard())
        if edit
        else message.answer(text, reply_markup=confirm_keyboard())
    )


async def broadcast_confirmed(
    query: CallbackQuery,
    callback_data: ConfirmCallback,
    db: UnitOfWork,
    state: FSMContext,
    clock: Clock,
) -> None:
    assert isinstance(query.message, Message)
    data = await state.get_data()
    await state.clear()
    if not callback_data.go or "audience" not in data:
        await query.message.edit_text(_("Broadcast cancelled; nothing was sent."))
        await query.answer()
        return
    now = clock()
    plan = await _plan(db, Audience(data["audience"]), data["params"], now)
    broadcast = await broadcasts.start(
        db,
        plan,
        now,
        created_by=query.from_user.id,
        progress_chat_id=query.message.chat.id,
        progress_message_id=query.message.message_id,
    )
    progress = Progress.of(await db.outreach.broadcast_counts(broadcast.id))
    await query.message.edit_text(
        progress_text(broadcast, progress, now),
        reply_markup=progress_keyboard(broadcast),
    )
    await query.answer(_("Started."))


async def broadcast_cancelled(
    query: CallbackQuery, callback_data: BroadcastCallback, db: UnitOfWork, clock: Clock
) -> None:
    broadcast = await db.outreach.get_broadcast(callback_data.broadcast_id)
    if broadcast is None or broadcast.status != "running":
        await query.answer(_("This broadcast has already ended."), show_alert=True)
        return
    now = clock()
    await broadcasts.cancel(db, broadcast, now)
    progress = Progress.of(await db.outreach.broadcast_counts(broadcast.id))
    if isinstance(query.message, Message):
        await query.message.edit_text(progress_text(broadcast, progress, now))
    await query.answer(_("Cancelled; what was sent stays sent."))


# --- staff management -------------------------------------------------------------------


async def cmd_staff(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    words = (command.args or "").split()
    usage = _(
        "Usage: /staff add manager ID, /staff add admin ID, /staff add operator ID, "
        "/staff remove ID"
    )
    role = ROLE_WORDS.get(words[1].lower()) if len(words) > 1 else None
    if words[:1] == ["add"] and len(words) == 3 and role and words[2].isdigit():
        user_id = int(words[2])
        await staff_list.put(db, user_id, role, message.from_user.id, clock())
        who = await staff_name(bot, user_id)
        await message.answer(fill(_("{who} is now {role}."), who=who, role=role_name(role)))
        language = await db.users.language(user_id)
        await publish_for(bot, i18n, user_id, role, language, policies.dealer.board_url)
        return
    if words[:1] == ["remove"] and len(words) == 2 and words[1].isdigit():
        if int(words[1]) in policies.staffing.staff_ids:
            await message.answer(
                fill(
                    _(
                        "{id} is set in the configuration (ADMIN_IDS/MANAGER_IDS/OPERATOR_IDS); "
                        "change it there."
                    ),
                    id=words[1],
                )
            )
            return
        removed = await staff_list.remove(db, int(words[1]))
        await message.answer(
            _("Removed.") if removed else fill(_("{id} is not on the staff list."), id=words[1])
        )
        if removed:
            await publish_for(bot, i18n, int(words[1]), None, None)
        return
    if words:
        await message.answer(usage)
        return
    members = await db.staff.all()
    people = [(user_id, ADMIN, True) for user_id in policies.staffing.admin_ids]
    people += [(user_id, MANAGER, True) for user_id in policies.staffing.manager_ids]
    people += [(user_id, OPERATOR, True) for user_id in policies.staffing.operator_ids]
    people += [(member.user_id, member.role, False) for member in members]
    names = await asyncio.gather(*(staff_name(bot, person[0]) for person in people))
    lines = ["<b>" + _("Staff") + "</b>"]
    for (_id, role, configured), name in zip(people, names, strict=True):
        source = _("set in the configuration") if configured else _("added in the bot")
        lines.append(
            fill("{name} · {role} · {source}", name=name, role=role_name(role), source=source)
        )
    lines += ["", usage]
    named = {person[0]: name for person, name in zip(people, names, strict=True)}
    keyboard = staff_keyboard({member.user_id: named[member.user_id] for member in members})
    await message.answer("\n".join(lines), reply_markup=keyboard)


async def staff_removed(
    query: CallbackQuery, callback_data: StaffCallback, bot: Bot, db: UnitOfWork, i18n: I18n
) -> None:
    removed = await staff_list.remove(db, callback_data.user_id)
    await query.answer(_("Removed.") if removed else _("Already removed."))
    if removed:
        await publish_for(bot, i18n, callback_data.user_id, None, None)
    if isinstance(query.message, Message):
        await strip_keyboard(bot, query.message.chat.id, query.message.message_id)


def create_router() -> Router:
    """Inside the admins' router (role checked there); uploads and setup in private."""
    router = Router(name=__name__)
    private = F.chat.type == ChatType.PRIVATE
    typed = (F.text, ~F.text.startswith("/"))
    router.message.register(visits_uploaded, private, F.document)
    router.message.register(cmd_broadcast, Command("broadcast"), private)
    router.message.register(period_received, BroadcastSetup.period, private, *typed)
    router.message.register(order_received, BroadcastSetup.order, private, *typed)
    router.callback_query.register(audience_chosen, AudienceCallback.filter())
    router.callback_query.register(broadcast_confirmed, ConfirmCallback.filter())
    router.callback_query.register(
        broadcast_cancelled, BroadcastCallback.filter(F.action == "cancel")
    )
    router.message.register(cmd_staff, Command("staff"), private)
    router.callback_query.register(staff_removed, StaffCallback.filter())
    return router
