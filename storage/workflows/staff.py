"""Who is staff and where their messages go: the configuration first, then /staff."""

from __future__ import annotations

from datetime import datetime

from storage.uow import UnitOfWork
from survey.policy import ADMIN, MANAGER, OPERATOR, Staffing


async def role_of(db: UnitOfWork, staffing: Staffing, user_id: int) -> str | None:
    """ADMIN_IDS / MANAGER_IDS win, so a configured admin can never be locked out."""
    return staffing.configured_role(user_id) or await db.staff.role(user_id)


async def alert_chats(db: UnitOfWork, staffing: Staffing) -> list[int]:
    """Where a new case is announced: the managers' group and/or each manager privately."""
    chats: list[int] = []
    if staffing.managers_chat_id is not None and staffing.alert_to in ("both", "group"):
        chats.append(staffing.managers_chat_id)
    if staffing.alert_to in ("both", "managers") or staffing.managers_chat_id is None:
        managers = [*staffing.manager_ids, *await db.staff.ids(MANAGER)]
        chats.extend(managers or await admin_chats(db, staffing))
    return list(dict.fromkeys(chats))


async def admin_chats(db: UnitOfWork, staffing: Staffing) -> list[int]:
    return list(dict.fromkeys([*staffing.admin_ids, *await db.staff.ids(ADMIN)]))


async def everyone(db: UnitOfWork, staffing: Staffing) -> list[tuple[int, str, str | None]]:
    """Every staff member once, with their role and chosen language (for their menus)."""
    roles = {member.user_id: member.role for member in await db.staff.all()}
    roles |= {user_id: OPERATOR for user_id in staffing.operator_ids}
    roles |= {user_id: MANAGER for user_id in staffing.manager_ids}
    roles |= {user_id: ADMIN for user_id in staffing.admin_ids}
    return [(user_id, role, await db.users.language(user_id)) for user_id, role in roles.items()]


async def put(db: UnitOfWork, user_id: int, role: str, by: int, now: datetime) -> None:
    await db.staff.put(user_id, role, by, now)
    await db.commit()


async def remove(db: UnitOfWork, user_id: int) -> bool:
    removed = await db.staff.remove(user_id)
    await db.commit()
    return removed
