"""A customer's personal data (152-FZ): what we store (/mydata), erasing it (/forget),
and linking a Telegram account to an imported customer by sharing one's own phone."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.customer.survey import show_survey
from handlers.views.callbacks import ForgetCallback
from handlers.views.dates import format_date
from handlers.views.keyboards import LANGUAGE_NAMES, forget_keyboard, share_phone_keyboard
from handlers.views.survey import status_word
from handlers.views.text import fill
from storage.uow import UnitOfWork
from storage.workflows import customers
from survey.clock import Clock
from survey.phones import normalise_phone
from survey.policy import Policies
from survey.questionnaire import decode_answers


async def contact_shared(
    message: Message,
    bot: Bot,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    assert message.contact is not None
    assert message.from_user is not None
    # Only one's own contact links anything: a forwarded or typed-in contact of someone
    # else carries another user_id (or none) and must never reveal their survey.
    if message.contact.user_id != message.from_user.id:
        await message.answer(
            _("Please share your own number with the button below."),
            reply_markup=share_phone_keyboard(),
        )
        return
    phone = normalise_phone(message.contact.phone_number)
    customer = await db.visits.customer_by_phone(phone) if phone else None
    if customer is None:
        await message.answer(
            _(
                "We found no service visits with this number. If you gave us another "
                "number, please use the link from your invitation."
            ),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    await customers.link(db, customer, message.from_user.id, clock())
    pending = await db.surveys.pending_for_user(message.from_user.id)
    await message.answer(
        fill(_("Thank you, {name}! Your account is linked."), name=customer.name),
        reply_markup=ReplyKeyboardRemove(),
    )
    if pending:
        await show_survey(bot, message.chat.id, pending[0], db, policies, i18n.current_locale)
    else:
        await message.answer(_("There is no survey waiting for you right now. Thank you!"))


async def cmd_mydata(message: Message, db: UnitOfWork) -> None:
    assert message.from_user is not None
    customers = await db.visits.customers_of(message.from_user.id)
    user = await db.users.get(message.from_user.id)
    lines = ["<b>" + _("What we store about you") + "</b>", ""]
    lines.append(fill(_("Telegram id: {id}"), id=message.from_user.id))
    if user is not None:
        language = LANGUAGE_NAMES.get(user.language or "", "—")
        lines.append(fill(_("Language: {language}"), language=language))
        if user.opted_out_at:
            lines.append(_("You opted out of surveys."))
    if not customers:
        lines.append(_("No customer record is linked to your account."))
    for customer in customers:
        lines += [
            "",
            fill(
                _("Name: {name}, phone: {phone}"), name=customer.name, phone=customer.phone or "—"
            ),
        ]
        for survey in await db.surveys.of_customer(customer.id):
            visit = survey.visit
            lines.append(
                fill(
                    _(
                        "Visit {date}, {car}, work order {order_no}: "
                        "survey {status}, {answers} answer(s)"
                    ),
                    date=format_date(visit.visit_date),
                    car=visit.car,
                    order_no=visit.order_no,
                    status=status_word(survey.status),
                    answers=len(decode_answers(survey.answer_codes)),
                )
            )
            if survey.comment:
                comment = survey.comment[:300]
                lines.append(fill(_("Your comment: {comment}"), comment=comment))
    lines += ["", _("/forget erases your personal data.")]
    await message.answer("\n".join(lines))


async def cmd_forget(message: Message) -> None:
    await message.answer(
        _(
            "We will erase your name, phone, Telegram id and your comments. Your answers "
            "stay only as anonymous statistics, and we will not write to you again unless "
            "you come back. Erase?"
        ),
        reply_markup=forget_keyboard(),
    )


async def forget_confirmed(
    query: CallbackQuery,
    callback_data: ForgetCallback,
    db: UnitOfWork,
    state: FSMContext,
    clock: Clock,
) -> None:
    if not callback_data.confirmed:
        if isinstance(query.message, Message):
            await query.message.edit_text(_("Nothing was erased."))
        await query.answer()
        return
    await customers.forget(db, query.from_user.id, clock())
    await state.clear()
    if isinstance(query.message, Message):
        await query.message.edit_text(_("Done: your personal data is erased. Goodbye!"))
    await query.answer()


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(contact_shared, F.contact)
    router.message.register(cmd_mydata, Command("mydata"))
    router.message.register(cmd_forget, Command("forget"))
    router.callback_query.register(forget_confirmed, ForgetCallback.filter())
    return router
