"""Staff added in the bot by admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffMember

ROLES = ("admin", "manager")


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def role(self, user_id: int) -> str | None:
        member = await self._session.get(StaffMember, user_id)
        return member.role if member else None

    async def all(self) -> Sequence[StaffMember]:
        return (
            await self._session.scalars(select(StaffMember).order_by(StaffMember.added_at))
        ).all()

    async def ids(self, role: str) -> list[int]:
        query = select(StaffMember.user_id).where(StaffMember.role == role)
        return list((await self._session.scalars(query)).all())

    async def put(self, user_id: int, role: str, added_by: int, now: datetime) -> None:
        member = await self._session.get(StaffMember, user_id)
        if member is None:
            self._session.add(
                StaffMember(user_id=user_id, role=role, added_by=added_by, added_at=now)
            )
        else:
            member.role = role

    async def remove(self, user_id: int) -> bool:
        member = await self._session.get(StaffMember, user_id)
        if member is None:
            return False
        await self._session.delete(member)
        return True
