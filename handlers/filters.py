"""Who is staff: checked on every staff command and button, never trusted from the client.

Admins and managers come from ADMIN_IDS / MANAGER_IDS and from the staff an admin adds
with /staff; the settings win, so a configured admin can never be locked out.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.settings import Settings
from storage.uow import Repositories

ADMIN, MANAGER = "admin", "manager"


async def role_of(user_id: int, settings: Settings, db: Repositories) -> str | None:
    if user_id in settings.admin_ids:
        return ADMIN
    if user_id in settings.manager_ids:
        return MANAGER
    return await db.staff.role(user_id)


async def alert_chats(settings: Settings, db: Repositories) -> list[int]:
    """Where a new case is announced: the managers' group and/or each manager privately."""
    chats: list[int] = []
    if settings.managers_chat_id is not None and settings.alert_to in ("both", "group"):
        chats.append(settings.managers_chat_id)
    if settings.alert_to in ("both", "managers") or settings.managers_chat_id is None:
        managers = [*settings.manager_ids, *await db.staff.ids(MANAGER)]
        chats.extend(managers or await admin_chats(settings, db))
    return list(dict.fromkeys(chats))


async def admin_chats(settings: Settings, db: Repositories) -> list[int]:
    return list(dict.fromkeys([*settings.admin_ids, *await db.staff.ids(ADMIN)]))


class IsStaff(Filter):
    async def __call__(
        self, event: Message | CallbackQuery, settings: Settings, db: Repositories
    ) -> bool:
        user = event.from_user
        return user is not None and await role_of(user.id, settings, db) is not None


class IsAdmin(Filter):
    async def __call__(
        self, event: Message | CallbackQuery, settings: Settings, db: Repositories
    ) -> bool:
        user = event.from_user
        return user is not None and await role_of(user.id, settings, db) == ADMIN
