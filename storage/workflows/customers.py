"""What a customer controls: their account link, language, opt-out, and erasure."""

from __future__ import annotations

from datetime import datetime

from storage.models import Customer, Survey
from storage.uow import UnitOfWork


async def link(db: UnitOfWork, customer: Customer, user_id: int, now: datetime) -> None:
    """Bind a Telegram account to the imported customer (a link opened, a phone shared)."""
    db.users.link_customer(customer, user_id, now)
    await db.commit()


async def set_language(db: UnitOfWork, user_id: int, code: str, now: datetime) -> None:
    await db.users.set_language(user_id, code, now)
    await db.commit()


async def set_opted_out(db: UnitOfWork, user_id: int, opted_out: bool, now: datetime) -> None:
    await db.users.set_opted_out(user_id, opted_out, now)
    await db.commit()


async def forget(db: UnitOfWork, user_id: int, now: datetime) -> None:
    """Erase a person's personal data; anonymous answers stay for the statistics."""
    await db.users.forget(user_id, now)
    await db.commit()


async def pause(db: UnitOfWork, survey: Survey, chat_id: int) -> None:
    """Without live buttons the survey no longer takes typed text; /start brings it back."""
    db.surveys.set_live_message(survey, chat_id, None)
    await db.commit()
