"""Feedback at any time: a customer who writes outside a survey, with no case open, is
asked what it is about; the message (text, photos, voice, files) then becomes a case the
managers are alerted to, or, for praise, a notice to them."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.filters import IsStaff
from handlers.outbound.outbox import Outbox
from handlers.telegram import media_of
from handlers.views import feedback as views
from handlers.views.alerts import visit_summary
from handlers.views.callbacks import FeedbackCallback
from storage.models import Visit
from storage.uow import UnitOfWork
from storage.workflows import feedback
from survey.clock import Clock
from survey.feedback import MAX_MEDIA, MESSAGE_MAX_CHARS, TOPICS
from survey.policy import Policies


class FeedbackDraft(StatesGroup):
    topic = State()


async def customer_wrote(message: Message, state: FSMContext, db: UnitOfWork) -> None:
    """Kept as a draft until the customer says what it is (one question, however many
    messages they send before answering it)."""
    data = await state.get_data()
    texts: list[str] = list(data.get("texts", []))
    media: list[dict[str, Any]] = list(data.get("media", []))
    said = message.text or message.caption
    if said:
        texts.append(said)
    item = media_of(message)
    if item is not None and len(media) < MAX_MEDIA:
        media.append(item)
    first = not data
    await state.set_state(FeedbackDraft.topic)
    await state.update_data(texts=texts, media=media)
    if first:
        assert message.from_user is not None
        paused = bool(await db.surveys.pending_for_user(message.from_user.id))
        await message.answer(views.topic_question(paused), reply_markup=views.topic_keyboard())
    else:
        await message.answer(_("Added. Now choose what it is about with a button above."))


async def topic_chosen(
    query: CallbackQuery,
    callback_data: FeedbackCallback,
    bot: Bot,
    db: UnitOfWork,
    state: FSMContext,
    policies: Policies,
    clock: Clock,
    outbox: Outbox,
) -> None:
    data = await state.get_data()
    topic = callback_data.topic
    if topic not in TOPICS or not data:
        await state.clear()
        if isinstance(query.message, Message):
            await query.message.edit_text(_("All right, nothing was sent."))
        await query.answer()
        return
    await state.clear()
    text = "\n\n".join(data.get("texts", []))[:MESSAGE_MAX_CHARS] or None
    media = data.get("media", [])
    user = query.from_user

    def praise_notice(visit: Visit | None) -> str:
        summary = visit_summary(visit) if visit is not None else None
        return views.praise_notice(user.full_name, summary, text, views.media_words(media))

    case = await feedback.receive(
        db, user.id, user.full_name, topic, text, media, clock(), policies, praise_notice
    )
    if isinstance(query.message, Message):
        await query.message.edit_text(views.received(topic, case.id if case else None))
    await query.answer()
    if case is not None:
        await outbox.deliver(bot, case.id)
    else:
        await outbox.deliver(bot, kind="notice")  # the praise for the managers


def create_router() -> Router:
    """After the survey and the relay of an open case: what is left is new feedback."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE, ~IsStaff())
    content = (
        F.text | F.caption | F.photo | F.voice | F.video | F.video_note | F.audio | F.document
    )
    router.message.register(customer_wrote, content, ~F.text.startswith("/"))
    router.callback_query.register(topic_chosen, FeedbackCallback.filter())
    return router
