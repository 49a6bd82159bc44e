"""The program's services, built in one place from the settings and handed explicitly to
the dispatcher, the scheduler and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import create_i18n
from bot.settings import Settings
from handlers.outbound.outbox import Outbox
from handlers.outbound.progress import ProgressReporter
from handlers.outbound.sender import Sender
from storage.uow import Database
from survey.clock import Clock, utc_now
from survey.policy import Policies


@dataclass(frozen=True)
class Services:
    settings: Settings
    policies: Policies
    sessions: async_sessionmaker[AsyncSession]
    database: Database
    clock: Clock
    i18n: I18n
    outbox: Outbox
    sender: Sender
    progress: ProgressReporter

    @classmethod
    def build(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock = utc_now,
    ) -> Services:
        policies = settings.policies()
        database = Database(sessions)
        i18n = create_i18n(settings.default_language)
        return cls(
            settings=settings,
            policies=policies,
            sessions=sessions,
            database=database,
            clock=clock,
            i18n=i18n,
            outbox=Outbox(database, policies, clock, i18n),
            sender=Sender(database, policies, clock, i18n),
            progress=ProgressReporter(database, policies, clock, i18n),
        )
