"""/start (with an invitation token or without) and /help."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.customer.survey import show_survey
from handlers.views.keyboards import share_phone_keyboard
from handlers.views.staff import role_name
from handlers.views.text import fill
from storage.uow import UnitOfWork
from storage.workflows import customers
from storage.workflows.staff import role_of
from survey.clock import Clock
from survey.dialogue import SurveyStatus
from survey.policy import ADMIN, OPERATOR, Policies

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def cmd_start_with_token(
    message: Message,
    command: CommandObject,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    token = command.args or ""
    survey = await db.surveys.by_token(token) if TOKEN_PATTERN.match(token) else None
    if survey is None:
        await message.answer(
            _(
                "This link is not valid. Please open the link from your invitation "
                "exactly as it was sent, or wait for the next one."
            )
        )
        return
    customer = survey.visit.customer
    if customer.telegram_user_id not in (None, message.from_user.id):
        await message.answer(
            _(
                "This invitation was sent to another customer, so it cannot be opened "
                "from your account."
            )
        )
        return
    if survey.status == SurveyStatus.COMPLETED:
        await message.answer(
            _("You have already answered the survey about this visit. Thank you!")
        )
        return
    if survey.status == SurveyStatus.EXPIRED:
        await message.answer(
            _("The survey about this visit has closed. Thank you for your time all the same!")
        )
        return
    await customers.link(db, customer, message.from_user.id, clock())
    await show_survey(bot, message.chat.id, survey, db, policies, i18n.current_locale)


async def cmd_start(
    message: Message,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    i18n: I18n,
) -> None:
    assert message.from_user is not None
    pending = await db.surveys.pending_for_user(message.from_user.id)
    if pending:
        await show_survey(bot, message.chat.id, pending[0], db, policies, i18n.current_locale)
        return
    role = await role_of(db, policies.staffing, message.from_user.id)
    if role is not None:
        await message.answer(await staff_greeting(message.from_user, role, db, policies))
        return
    lines = [
        fill(
            _(
                "Hello! This is the client-service bot of {dealership}.\n\n"
                "After a service visit we send you a link to a short survey about it. "
                "Open that link and the survey starts here. There is no survey waiting "
                "for you right now."
            ),
            dealership=policies.dealer.name,
        ),
        "",
        _(
            "Were you at our service recently? Share your phone number with the button "
            "below and we will find your visit."
        ),
    ]
    lines.append("")
    if policies.dealer.privacy_url:
        lines.append(
            fill(_("How we handle your personal data: {url}"), url=policies.dealer.privacy_url)
        )
    lines.append(_("/stop: receive no more surveys, /mydata: what we store about you."))
    await message.answer("\n".join(lines), reply_markup=share_phone_keyboard())


async def staff_greeting(user: User, role: str, db: UnitOfWork, policies: Policies) -> str:
    """Staff are greeted as staff: who they are here, the cases waiting, their commands."""
    greeting = fill(
        _("Hello, {name}! You are {role} at {dealership}."),
        name=user.first_name,
        role=role_name(role),
        dealership=policies.dealer.name,
    )
    if role == OPERATOR:
        return "\n".join([greeting, "", staff_help(role)])
    open_cases = await db.cases.count_active()
    mine = await db.cases.count_active(assignee_id=user.id)
    lines = [
        fill(
            _("Hello, {name}! You are {role} at {dealership}."),
            name=user.first_name,
            role=role_name(role),
            dealership=policies.dealer.name,
        ),
        fill(
            _("Open cases: {open_cases}, of them yours: {mine}."),
            open_cases=open_cases,
            mine=mine,
        ),
        "",
        staff_help(role),
    ]
    return "\n".join(lines)


async def cmd_help(message: Message, policies: Policies, db: UnitOfWork) -> None:
    assert message.from_user is not None
    role = await role_of(db, policies.staffing, message.from_user.id)
    if role is None:
        await message.answer(customer_help())
        return
    await message.answer(staff_help(role))


def staff_help(role: str) -> str:
    if role == OPERATOR:
        return "\n".join(
            [
                "<b>" + _("Call-centre commands") + "</b>",
                _("/calllist: the next customers to phone, a button each"),
                _("/phone ZN-1: a phone survey by work order"),
                _("/language: choose the language · /help: this list"),
            ]
        )
    lines = [
        "<b>" + _("Client-service commands") + "</b>",
        _("/cases: open cases · /my: cases you have taken · /case N: one case"),
        _("/board: the cases board with countdowns and figures (a Telegram Mini App)"),
        _("/stats [period]: statistics and charts · /export [period] [csv]: a file"),
        _("/segments: loyalty segments · /calllist: customers to phone"),
    ]
    if role == ADMIN:
        lines += [
            _("/broadcast: invite or remind customers · /staff: who is staff"),
            _("Send a .csv or .xlsx file to import visits."),
        ]
    lines.append(_("/language: choose the language · /help: this list"))
    return "\n".join(lines)


def customer_help() -> str:
    return _(
        "I ask a few questions after your visit to the service centre, so that we can "
        "fix what went wrong and keep what went right.\n\n"
        "/start: continue your survey\n"
        "/language: choose the language\n"
        "/stop: receive no more surveys\n"
        "/mydata: what we store about you\n"
        "/forget: erase your personal data\n"
        "/help: this message"
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(cmd_start_with_token, CommandStart(deep_link=True))
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    return router
