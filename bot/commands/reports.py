"""`stats` and `export`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.commands import CommandError, cli_period, open_database
from bot.settings import Settings
from handlers.views.dates import period_title
from storage.reports import ReportRepository
from survey.clock import utc_now


async def stats(settings: Settings, args: argparse.Namespace) -> int:
    from handlers.views.stats import managers, summary
    from storage.database import create_session_factory
    from storage.workflows.report import build_report

    period = cli_period(settings, args.period)
    engine = await open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            report = await build_report(ReportRepository(session), period, settings.zone)
    finally:
        await engine.dispose()
    if args.managers:
        text = managers(report, settings.case_take_sla, settings.case_resolve_sla)
    else:
        text = summary(report, settings.default_language)
    print(plain(text))
    return 0


def plain(text: str) -> str:
    """A message's HTML as terminal text."""
    import re

    return (
        re.sub(r"</?[bi]>", "", text)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


async def digest(settings: Settings, args: argparse.Namespace) -> int:
    """The weekly report on demand: printed, or with --send sent to DIGEST_TO now."""
    from bot.commands import NO_TOKEN
    from handlers.views.digest import text
    from storage.database import create_session_factory
    from storage.uow import Database, UnitOfWork
    from storage.workflows import digest as digests
    from survey.digest import DigestError, parse_week, previous, week_of

    now = utc_now()
    try:
        week = (
            parse_week(args.week)
            if args.week
            else previous(week_of(now.astimezone(settings.zone).date()))
        )
    except DigestError as error:
        raise CommandError(f"--week: {error}") from error
    if args.send and settings.bot_token is None:
        raise CommandError(NO_TOKEN)
    policies = settings.policies()
    engine = await open_database(settings)
    try:
        sessions = create_session_factory(engine)
        async with sessions() as session:
            db = UnitOfWork(session)
            if not args.send:
                report = await digests.collect(db, week, now, settings.zone)
                print(plain(text(report, settings.default_language)))
                return 0
            chats = await digests.recipients(db, policies.digest, policies.staffing)
            if not chats:
                raise CommandError(_("Nobody to send it to: set DIGEST_TO or ADMIN_IDS"))
            await digests.queue(db, week, chats, now)
        sent = await _deliver(settings, Database(sessions))
    finally:
        await engine.dispose()
    print(_("Messages sent: {count}").format(count=sent))
    return 0


async def _deliver(settings: Settings, database: Any) -> int:
    from bot.dispatcher import create_bot
    from bot.i18n import create_i18n
    from handlers.outbound.outbox import Outbox

    assert settings.bot_token is not None
    bot = create_bot(settings, settings.bot_token.get_secret_value())
    outbox = Outbox(database, settings.policies(), utc_now, create_i18n(settings.default_language))
    try:
        return await outbox.deliver(bot)
    finally:
        await bot.session.close()


async def export(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.workflows.export import export_csv, export_xlsx

    period = cli_period(settings, args.period)
    out: Path = args.out
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise CommandError(_("--out must end in .csv or .xlsx"))
    engine = await open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            try:
                if suffix == ".csv":
                    with out.open("w", newline="", encoding="utf-8-sig") as text:
                        count = await export_csv(
                            ReportRepository(session),
                            period,
                            text,
                            locale=settings.default_language,
                            zone=settings.zone,
                        )
                else:
                    with out.open("wb") as binary:
                        count = await export_xlsx(
                            ReportRepository(session),
                            period,
                            binary,
                            today=utc_now().astimezone(settings.zone).date(),
                            csi_threshold=settings.segment_csi_threshold,
                            repeat_at=settings.segment_repeat_visits,
                            locale=settings.default_language,
                            zone=settings.zone,
                            period_title=period_title(period),
                        )
            except OSError as error:
                raise CommandError(
                    _("cannot write {file}: {reason}").format(file=out, reason=error.strerror)
                ) from error
    finally:
        await engine.dispose()
    print(
        _("Surveys for {period} written to {file}: {count}").format(
            period=period_title(period), file=out, count=count
        )
    )
    return 0
