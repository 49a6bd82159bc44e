"""The keyboards of the customer, staff and admin screens that have no view of their own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views.callbacks import (
    AudienceCallback,
    ConfirmCallback,
    ForgetCallback,
    LanguageCallback,
    OptInCallback,
    SegmentCallback,
    StaffCallback,
)
from survey.metrics import SEGMENT_NAMES, Segment
from survey.outreach import Audience

LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


def language_keyboard(codes: Iterable[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code in codes:
        builder.button(text=LANGUAGE_NAMES[code], callback_data=LanguageCallback(code=code))
    return builder.as_markup()


def opt_in_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Receive surveys again"), callback_data=OptInCallback())
    return builder.as_markup()


def share_phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, erase my data"), callback_data=ForgetCallback(confirmed=True))
    builder.button(text=_("No, keep it"), callback_data=ForgetCallback(confirmed=False))
    builder.adjust(1)
    return builder.as_markup()


def audience_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for audience, label in (
        (Audience.PERIOD, _("Visits in a date range, not yet invited")),
        (Audience.NOT_COMPLETED, _("Invited, survey not completed")),
        (Audience.ORDER, _("One work order")),
    ):
        builder.button(text=label, callback_data=AudienceCallback(audience=audience.value))
    builder.adjust(1)
    return builder.as_markup()


def confirm_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Start"), callback_data=ConfirmCallback(go=True))
    builder.button(text=_("Cancel"), callback_data=ConfirmCallback(go=False))
    return builder.as_markup()


def staff_keyboard(names: Mapping[int, str]) -> InlineKeyboardMarkup:
    """A remove button for each member added in the bot (named, not numbered)."""
    builder = InlineKeyboardBuilder()
    for user_id, name in names.items():
        builder.button(
            text=_("Remove {name}").format(name=name), callback_data=StaffCallback(user_id=user_id)
        )
    builder.adjust(1)
    return builder.as_markup()


def segments_keyboard(counts: Mapping[Segment, int], locale: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for segment, count in counts.items():
        if count:
            builder.button(
                text=f"{SEGMENT_NAMES[segment][locale]} ({count})",
                callback_data=SegmentCallback(segment=segment.value),
            )
    builder.adjust(1)
    return builder.as_markup()
