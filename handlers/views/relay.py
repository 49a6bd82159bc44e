"""Texts of the conversation between a customer and the client service."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.views.text import fill


def content_of(message: Message) -> str:
    """What the case history keeps of a relayed message."""
    return message.text or message.caption or f"[{message.content_type}]"


def to_customer(message: Message) -> str:
    return "💬 " + _("Client service:") + "\n" + message.html_text


def customer_header(name: str, case_id: int) -> str:
    return "💬 " + fill(_("Customer {name}, case #{number}:"), name=name, number=case_id)
