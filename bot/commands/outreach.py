"""`import-visits`, `invite-links`, `broadcast` and `call-list`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands import NO_TOKEN, CommandError, ask_username, open_database
from bot.settings import Settings
from handlers.views.dates import period_example
from handlers.views.text import spoken
from survey.clock import utc_now


async def import_visits(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from storage.workflows.imports import import_visits
    from survey.visit_import import ImportFileError, read_visits

    path: Path = args.file
    policies = settings.policies()
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
        if size > policies.imports.max_bytes:
            raise CommandError(
                _("{file}: larger than IMPORT_MAX_MB={limit}").format(
                    file=path.name, limit=settings.import_max_mb
                )
            )
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise CommandError(
            _("cannot read {file}: {reason}").format(file=path, reason=error.strerror)
        ) from error
    now = utc_now()
    today = now.astimezone(settings.zone).date()
    try:
        parsed = await asyncio.to_thread(
            read_visits, data, path.name, today=today, limits=policies.imports
        )
    except ImportFileError as error:
        raise CommandError(
            _("{file}: nothing imported: {reason}").format(
                file=path.name, reason=spoken(error.reason)
            )
        ) from error

    for note in parsed.notes:
        print(_("note: {note}").format(note=spoken(note)))
    if parsed.ignored_columns:
        print(_("Ignored columns: {columns}").format(columns=", ".join(parsed.ignored_columns)))
    for problem in parsed.errors:
        print(_("line {line}: {reason}").format(line=problem.line, reason=spoken(problem.reason)))
    if parsed.errors and args.strict:
        print(
            _("Problems found: {count}; --strict: nothing imported").format(
                count=len(parsed.errors)
            )
        )
        return 1

    engine = await open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            counts = await import_visits(UnitOfWork(session), parsed, policies, now)
    finally:
        await engine.dispose()
    print(
        _("New: {created} · updated: {updated} · rejected rows: {rejected}").format(
            created=counts.created,
            updated=counts.updated,
            rejected=len({p.line for p in parsed.errors}),
        )
    )
    return 1 if parsed.errors else 0


async def invite_links(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from storage.workflows.outreach import hand_out_links
    from survey.exports import LINK_COLUMNS, csv_bytes

    username = settings.bot_username or await ask_username(settings)
    engine = await open_database(settings)
    now = utc_now()
    try:
        async with create_session_factory(engine)() as session:
            rows = []
            db = UnitOfWork(session)
            for survey in await hand_out_links(db, now, mark_invited=args.mark_invited):
                visit = survey.visit
                rows.append(
                    {
                        "order_no": visit.order_no,
                        "visit_date": visit.visit_date.isoformat(),
                        "customer_name": visit.customer.name,
                        "phone": visit.customer.phone or "",
                        "car": visit.car,
                        "advisor": visit.advisor,
                        "status": survey.status,
                        "link": f"https://t.me/{username}?start={survey.token}",
                    }
                )
    finally:
        await engine.dispose()
    if args.out:
        data = csv_bytes(LINK_COLUMNS, ([row[c] for c in LINK_COLUMNS] for row in rows))
        try:
            await asyncio.to_thread(args.out.write_bytes, data)
        except OSError as error:
            raise CommandError(
                _("cannot write {file}: {reason}").format(file=args.out, reason=error.strerror)
            ) from error
        print(_("Links written to {file}: {count}").format(file=args.out, count=len(rows)))
    else:
        for row in rows:
            print(f"{row['order_no']}\t{row['customer_name']}\t{row['link']}")
        print(_("Links: {count}").format(count=len(rows)), file=sys.stderr)
    return 0


async def broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from storage.workflows import outreach as broadcasts
    from survey.outreach import Audience
    from survey.periods import PeriodError, parse_period

    if settings.bot_token is None:
        raise CommandError(NO_TOKEN)
    now = utc_now()
    engine = await open_database(settings)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session:
            db = UnitOfWork(session)
            if args.period:
                try:
                    period = parse_period(args.period, now.astimezone(settings.zone).date())
                except PeriodError as error:
                    raise CommandError(
                        "--period: "
                        + _("I did not understand the dates. Example: {example}").format(
                            example=period_example()
                        )
                    ) from error
                if period.first is None:
                    raise CommandError(
                        "--period: "
                        + _("Please give the first and the last day. Example: {example}").format(
                            example=period_example()
                        )
                    )
                plan = await broadcasts.preview(db, Audience.PERIOD, now, period=period)
            elif args.order:
                plan = await broadcasts.preview(db, Audience.ORDER, now, order_no=args.order)
            else:
                plan = await broadcasts.preview(db, Audience.NOT_COMPLETED, now)
            print(_("It will reach {reach} customer(s).").format(reach=plan.reach))
            print(
                _("Without Telegram (go to the call list): {count}").format(count=plan.no_telegram)
            )
            print(_("Opted out (will be skipped): {count}").format(count=plan.opted_out))
            print(_("Already messaged before: {count}").format(count=plan.already))
            if not plan.targets:
                print(_("Nobody to write to for this choice."))
                return 0
            if not args.yes and not confirmed(_("Start the broadcast? [y/N] ")):
                print(_("Not started."))
                return 1
            broadcast = await broadcasts.start(db, plan, now, created_by=None)
            number = broadcast.id
        return await send_broadcast(settings, sessions, number)
    finally:
        await engine.dispose()


def confirmed(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes", "д", "да")
    except EOFError:
        return False


async def send_broadcast(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], number: int
) -> int:
    """Send until the broadcast is done; what quiet hours hold back is left to the bot."""
    from bot.dispatcher import create_bot
    from bot.i18n import create_i18n
    from handlers.outbound.sender import Sender
    from storage.uow import Database, UnitOfWork
    from storage.workflows.outreach import finish
    from survey.outreach import Progress, SendStatus

    assert settings.bot_token is not None
    bot = create_bot(settings, settings.bot_token.get_secret_value())
    sender = Sender(
        Database(sessions), settings.policies(), utc_now, create_i18n(settings.default_language)
    )
    shown = ""
    try:
        while True:
            taken = await sender.run_once(bot)
            async with sessions() as session:
                db = UnitOfWork(session)
                counts = await db.outreach.broadcast_counts(number)
                progress = Progress.of(counts)
                broadcast = await db.outreach.get_broadcast(number)
                assert broadcast is not None
                line = _(
                    "Broadcast #{number}: sent {sent}, failed {failed}, blocked {blocked}, "
                    "skipped {skipped}, remaining {remaining}, uncertain {uncertain}"
                ).format(
                    number=number,
                    sent=progress.sent,
                    failed=progress.failed,
                    blocked=progress.blocked,
                    skipped=progress.skipped,
                    remaining=progress.remaining,
                    uncertain=progress.uncertain,
                )
                if line != shown:
                    print(line, flush=True)
                    shown = line
                if progress.remaining == 0:
                    await finish(db, broadcast, utc_now())
                    return 0
                in_hand = counts.get(SendStatus.SENDING, 0)
                if not taken and not in_hand:
                    in_hand = await db.outreach.claimed_elsewhere(number, utc_now())
            if not taken and in_hand:
                # The running bot has some in hand (claimed, or on their way): wait for
                # them (a dead holder's lease runs out and they come back here as due).
                await asyncio.sleep(1)
                continue
            if not taken:
                print(
                    _(
                        "Waiting for the end of quiet hours or a retry: {count}; "
                        "the running bot sends them"
                    ).format(count=progress.remaining)
                )
                return 0
    finally:
        await bot.session.close()


async def call_list(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from survey.exports import as_csv, as_xlsx

    engine = await open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            outreach = UnitOfWork(session).outreach
            rows = await outreach.call_list(utc_now(), settings.call_attempts)
    finally:
        await engine.dispose()
    if args.out is None:
        sys.stdout.write(as_csv(rows, settings.default_language).decode("utf-8-sig"))
        return 0
    suffix = args.out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise CommandError(_("--out must end in .csv or .xlsx"))
    language = settings.default_language
    data = as_xlsx(rows, language) if suffix == ".xlsx" else as_csv(rows, language)
    try:
        await asyncio.to_thread(args.out.write_bytes, data)
    except OSError as error:
        raise CommandError(
            _("cannot write {file}: {reason}").format(file=args.out, reason=error.strerror)
        ) from error
    print(
        _("Customers to phone, written to {file}: {count}").format(file=args.out, count=len(rows))
    )
    return 0
