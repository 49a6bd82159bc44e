"""`followup-bot` / `python -m bot`: run the bot and the admin's command-line tasks."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.logs import configure as configure_logging
from bot.settings import Settings
from storage.reports import ReportRepository
from survey.clock import utc_now

if TYPE_CHECKING:
    from survey.periods import Period

log = logging.getLogger(__name__)

NO_TOKEN = (
    "BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot) and put "
    "BOT_TOKEN=<the token it gives> into .env, or try the survey offline: followup-bot try"
)


class CommandError(Exception):
    """A failure the person at the terminal can act on: printed as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(logging.INFO if args.command == "run" else logging.WARNING)
    try:
        settings = Settings()
        return int(asyncio.run(args.handler(settings, args)))
    except ValidationError as error:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in error.errors())
        print(f"followup-bot: bad configuration: {problems}", file=sys.stderr)
    except CommandError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    name = ".".join(str(part) for part in location).upper()
    return f"{name}: {message}" if name else message


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followup-bot", description="Follow-up: the after-service survey in Telegram."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="apply migrations and run the bot (long polling)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--webhook", action="store_true", help="serve a webhook (also when WEBHOOK_URL is set)"
    )
    mode.add_argument(
        "--jobs-only",
        action="store_true",
        help="no updates, only invitations, alerts and reminders (a second instance)",
    )
    run.set_defaults(handler=_run)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=_migrate)

    imports = commands.add_parser("import-visits", help="load service visits from CSV or XLSX")
    imports.add_argument("file", type=Path)
    imports.add_argument(
        "--strict", action="store_true", help="import nothing if any row is rejected"
    )
    imports.set_defaults(handler=_import_visits)

    links = commands.add_parser("invite-links", help="one survey link per visit not yet answered")
    links.add_argument("--out", type=Path, help="write a CSV file instead of printing")
    links.set_defaults(handler=_invite_links)

    broadcast = commands.add_parser("broadcast", help="send survey invitations or reminders now")
    audience = broadcast.add_mutually_exclusive_group(required=True)
    audience.add_argument(
        "--period",
        help="visits in these dates not yet invited: 30d, 2026-10, 2026-10-01..2026-10-31",
    )
    audience.add_argument(
        "--not-completed", action="store_true", help="remind those invited who did not finish"
    )
    audience.add_argument("--order", help="one work order number")
    broadcast.add_argument("--yes", action="store_true", help="start without asking")
    broadcast.set_defaults(handler=_broadcast)

    calls = commands.add_parser("call-list", help="customers to phone: unreachable in Telegram")
    calls.add_argument("--out", type=Path, help=".csv or .xlsx file (default: CSV to stdout)")
    calls.set_defaults(handler=_call_list)

    report = commands.add_parser("stats", help="survey statistics for a period")
    report.add_argument(
        "--period", default="30d", help="7d, 30d, 2026-10, 2026-10-01..2026-10-31, all"
    )
    report.set_defaults(handler=_stats)

    export = commands.add_parser("export", help="answers, summary, advisors, segments as a file")
    export.add_argument("--period", default="30d", help="as for stats")
    export.add_argument("--out", type=Path, required=True, help=".xlsx or .csv (raw answers)")
    export.set_defaults(handler=_export)

    play = commands.add_parser("try", help="play the survey in this terminal, no Telegram needed")
    play.add_argument(
        "--database-url",
        help="database to use (default: a throwaway SQLite file, so real data stays clean)",
    )
    play.add_argument("--language", choices=("ru", "en"), default="ru")
    play.set_defaults(handler=_try)
    return parser


async def _open_database(settings: Settings, *, migrate: bool = True) -> AsyncEngine:
    from storage.database import create_engine
    from storage.migrate import upgrade

    try:
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            folder = Path(url.database).parent
            if not folder.is_dir():
                # Said here: SQLite would only say "unable to open database file".
                raise CommandError(f"cannot open the database: the folder {folder} does not exist")
        engine = create_engine(settings.database_url)
    except (SQLAlchemyError, ValueError) as error:
        raise CommandError(f"DATABASE_URL is not usable: {error}") from error
    if migrate:
        try:
            await upgrade(engine)
        except (SQLAlchemyError, OSError) as error:
            await engine.dispose()
            raise CommandError(
                f"cannot open the database at DATABASE_URL ({type(error).__name__}: "
                f"{str(error).splitlines()[0]})"
            ) from error
    return engine


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    engine = await _open_database(settings)
    await engine.dispose()
    print("database is up to date")
    return 0


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        raise CommandError(NO_TOKEN)
    from aiogram.utils.token import TokenValidationError

    from bot.dispatcher import create_bot, create_dispatcher
    from bot.i18n import create_i18n
    from bot.lifecycle import set_commands
    from bot.scheduler import create_scheduler
    from bot.services import Services
    from storage.database import create_session_factory

    engine = await _open_database(settings)
    try:
        bot = create_bot(settings, settings.bot_token.get_secret_value())
    except TokenValidationError as error:
        await engine.dispose()
        raise CommandError("BOT_TOKEN does not look like a token from @BotFather") from error
    services = Services.build(settings, create_session_factory(engine))
    dispatcher = create_dispatcher(services)
    scheduler = create_scheduler(services, bot)
    stop_sending = asyncio.Event()
    sending = asyncio.create_task(services.sender.run_until_stopped(bot, stop_sending))
    webhook = args.webhook or settings.webhook_url is not None
    try:
        if webhook and (settings.webhook_url is None or settings.webhook_secret is None):
            raise CommandError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
        scheduler.start()
        if args.jobs_only:
            await _until_stopped()
        else:
            await set_commands(bot, create_i18n(settings.default_language))
            if webhook:
                from bot.webhook import serve

                await serve(settings, bot, dispatcher, engine)
            else:
                await dispatcher.start_polling(bot, handle_signals=True)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        stop_sending.set()
        await sending  # the batch in flight finishes and is recorded
        await dispatcher.storage.close()  # the Redis connection, when REDIS_URL is set
        await bot.session.close()
        await engine.dispose()
    return 0


async def _until_stopped() -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _import_visits(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from storage.workflows.imports import import_visits
    from survey.visit_import import ImportFileError, read_visits

    path: Path = args.file
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from error
    now = utc_now()
    try:
        parsed = read_visits(data, path.name, today=now.astimezone(settings.zone).date())
    except ImportFileError as error:
        raise CommandError(f"{path.name}: {error}") from error

    for note in parsed.notes:
        print(f"note: {note}")
    if parsed.ignored_columns:
        print("note: ignored columns: " + ", ".join(parsed.ignored_columns))
    for problem in parsed.errors:
        print(f"line {problem.line}: {problem.reason}")
    if parsed.errors and args.strict:
        print(f"{len(parsed.errors)} problem(s) found; --strict: nothing imported")
        return 1

    engine = await _open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            counts = await import_visits(UnitOfWork(session), parsed, settings.policies(), now)
    finally:
        await engine.dispose()
    print(
        f"imported {counts.created} new visit(s), updated {counts.updated}, "
        f"rejected {len({p.line for p in parsed.errors})} row(s)"
    )
    return 1 if parsed.errors else 0


async def _invite_links(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from storage.workflows.outreach import hand_out_links

    username = settings.bot_username or await _ask_username(settings)
    engine = await _open_database(settings)
    now = utc_now()
    try:
        async with create_session_factory(engine)() as session:
            rows = []
            for survey in await hand_out_links(UnitOfWork(session), now):
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
        _write_csv(args.out, rows)
        print(f"{len(rows)} link(s) written to {args.out}")
    else:
        for row in rows:
            print(f"{row['order_no']}\t{row['customer_name']}\t{row['link']}")
        print(f"{len(rows)} link(s)", file=sys.stderr)
    return 0


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8-sig") as file:
            writer = csv.DictWriter(
                file,
                fieldnames=[
                    "order_no",
                    "visit_date",
                    "customer_name",
                    "phone",
                    "car",
                    "advisor",
                    "status",
                    "link",
                ],
            )
            writer.writeheader()
            writer.writerows(rows)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}") from error


async def _broadcast(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from storage.workflows import outreach as broadcasts
    from survey.outreach import Audience
    from survey.periods import PeriodError, parse_period

    if settings.bot_token is None:
        raise CommandError(NO_TOKEN)
    now = utc_now()
    engine = await _open_database(settings)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session:
            db = UnitOfWork(session)
            if args.period:
                try:
                    period = parse_period(args.period, now.astimezone(settings.zone).date())
                except PeriodError as error:
                    raise CommandError(
                        f"--period: {error}; e.g. 2026-10-01..2026-10-31"
                    ) from error
                if period.first is None:
                    raise CommandError("--period needs a first day, e.g. 2026-10-01..2026-10-31")
                plan = await broadcasts.preview(db, Audience.PERIOD, now, period=period)
            elif args.order:
                plan = await broadcasts.preview(db, Audience.ORDER, now, order_no=args.order)
            else:
                plan = await broadcasts.preview(db, Audience.NOT_COMPLETED, now)
            print(
                f"reach: {plan.reach}, without Telegram (call list): {plan.no_telegram}, "
                f"opted out: {plan.opted_out}, already messaged: {plan.already}"
            )
            if not plan.targets:
                print("nobody to write to")
                return 0
            if not args.yes and not _confirmed("start the broadcast? [y/N] "):
                print("not started")
                return 1
            broadcast = await broadcasts.start(db, plan, now, created_by=None)
            number = broadcast.id
        return await _send_broadcast(settings, sessions, number)
    finally:
        await engine.dispose()


def _confirmed(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes", "д", "да")
    except EOFError:
        return False


async def _send_broadcast(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], number: int
) -> int:
    """Send until the broadcast is done; what quiet hours hold back is left to the bot."""
    from bot.dispatcher import create_bot
    from bot.i18n import create_i18n
    from handlers.outbound.sender import Sender
    from storage.uow import Database, UnitOfWork
    from storage.workflows.outreach import finish
    from survey.outreach import Progress

    assert settings.bot_token is not None
    bot = create_bot(settings, settings.bot_token.get_secret_value())
    sender = Sender(
        Database(sessions), settings.policies(), utc_now, create_i18n(settings.default_language)
    )
    try:
        while True:
            taken = await sender.run_once(bot)
            async with sessions() as session:
                db = UnitOfWork(session)
                progress = Progress.of(await db.outreach.broadcast_counts(number))
                broadcast = await db.outreach.get_broadcast(number)
                assert broadcast is not None
                print(
                    f"broadcast #{number}: sent {progress.sent}, failed {progress.failed}, "
                    f"blocked {progress.blocked}, skipped {progress.skipped}, "
                    f"remaining {progress.remaining}",
                    flush=True,
                )
                if progress.remaining == 0:
                    await finish(db, broadcast, utc_now())
                    return 0
            if not taken:
                print(
                    f"{progress.remaining} message(s) wait for the end of quiet hours or a retry; "
                    "the running bot sends them"
                )
                return 0
    finally:
        await bot.session.close()


async def _call_list(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.uow import UnitOfWork
    from survey.exports import as_csv, as_xlsx

    engine = await _open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            rows = await UnitOfWork(session).outreach.call_list()
    finally:
        await engine.dispose()
    if args.out is None:
        sys.stdout.write(as_csv(rows).decode("utf-8-sig"))
        return 0
    suffix = args.out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise CommandError("--out must end in .csv or .xlsx")
    data = as_xlsx(rows) if suffix == ".xlsx" else as_csv(rows)
    try:
        await asyncio.to_thread(args.out.write_bytes, data)
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror}") from error
    print(f"{len(rows)} customer(s) written to {args.out}")
    return 0


def _cli_period(settings: Settings, text: str) -> Period:
    from survey.periods import EXAMPLE, PeriodError, parse_period

    try:
        return parse_period(text, utc_now().astimezone(settings.zone).date())
    except PeriodError as error:
        raise CommandError(f"--period: {error}; examples: {EXAMPLE}, all") from error


async def _stats(settings: Settings, args: argparse.Namespace) -> int:
    import re

    from bot.i18n import create_i18n
    from handlers.views.stats import summary
    from storage.database import create_session_factory
    from storage.workflows.report import build_report

    period = _cli_period(settings, args.period)
    engine = await _open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            report = await build_report(ReportRepository(session), period)
    finally:
        await engine.dispose()
    i18n = create_i18n(settings.default_language)
    with i18n.context(), i18n.use_locale(settings.default_language):
        text = summary(report, settings.default_language)
    print(
        re.sub(r"</?[bi]>", "", text)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.workflows.export import write_csv, write_xlsx

    period = _cli_period(settings, args.period)
    out: Path = args.out
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise CommandError("--out must end in .xlsx or .csv")
    engine = await _open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            try:
                if suffix == ".csv":
                    with out.open("w", newline="", encoding="utf-8-sig") as text:
                        count = await write_csv(ReportRepository(session), period, text)
                else:
                    with out.open("wb") as binary:
                        count = await write_xlsx(
                            ReportRepository(session),
                            period,
                            binary,
                            today=utc_now().astimezone(settings.zone).date(),
                            csi_threshold=settings.segment_csi_threshold,
                            repeat_at=settings.segment_repeat_visits,
                        )
            except OSError as error:
                raise CommandError(f"cannot write {out}: {error.strerror}") from error
    finally:
        await engine.dispose()
    print(f"{count} survey(s) for {period.label()} written to {out}")
    return 0


async def _ask_username(settings: Settings) -> str:
    if settings.bot_token is None:
        raise CommandError(
            "set BOT_USERNAME (the bot's @name without @) or BOT_TOKEN to build the links"
        )
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

    from bot.dispatcher import create_bot

    bot = create_bot(settings, settings.bot_token.get_secret_value())
    try:
        me = await bot.get_me()
    except (TelegramAPIError, TelegramNetworkError) as error:
        raise CommandError(
            f"cannot ask Telegram for the bot's username ({error}); set BOT_USERNAME instead"
        ) from error
    finally:
        await bot.session.close()
    if not me.username:
        raise CommandError("the bot has no username; set BOT_USERNAME")
    return me.username


async def _try(settings: Settings, args: argparse.Namespace) -> int:
    from bot.playground.play import play

    return await play(settings, database_url=args.database_url, language=args.language)
