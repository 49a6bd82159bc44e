"""Who may press what: checked on every staff command and button, never trusted from the
client. Set once on each audience's router (see handlers/__init__.py)."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from storage.uow import UnitOfWork
from storage.workflows.staff import role_of
from survey.policy import ADMIN, CASE_ROLES, Policies


class IsStaff(Filter):
    """Anyone on the staff: admin, manager or call-centre operator."""

    async def __call__(
        self, event: Message | CallbackQuery, policies: Policies, db: UnitOfWork
    ) -> bool:
        user = event.from_user
        return user is not None and await role_of(db, policies.staffing, user.id) is not None


class IsCaseWorker(Filter):
    """A manager or an admin: cases, reports, talking to customers (not an operator)."""

    async def __call__(
        self, event: Message | CallbackQuery, policies: Policies, db: UnitOfWork
    ) -> bool:
        user = event.from_user
        return user is not None and await role_of(db, policies.staffing, user.id) in CASE_ROLES


class IsAdmin(Filter):
    async def __call__(
        self, event: Message | CallbackQuery, policies: Policies, db: UnitOfWork
    ) -> bool:
        user = event.from_user
        return user is not None and await role_of(db, policies.staffing, user.id) == ADMIN
