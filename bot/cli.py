"""`followup-bot` / `python -m bot`: run the bot and the admin's command-line tasks."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from bot.commands import CommandError, in_language, outreach, reports
from bot.commands import run as running
from bot.logs import configure as configure_logging
from bot.settings import Settings

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    configure_logging(logging.WARNING)
    try:
        settings = Settings()
        if args.command == "run":
            configure_logging(logging.getLevelName(settings.log_level))
        # What the commands print is for the head of client service: in DEFAULT_LANGUAGE.
        with in_language(settings.default_language):
            return int(asyncio.run(args.handler(settings, args)))
    except ValidationError as error:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in error.errors())
        print(f"followup-bot: bad configuration: {problems}", file=sys.stderr)
    except CommandError as error:
        print(f"followup-bot: {error}", file=sys.stderr)
    except DBAPIError as error:
        # E.g. SQLite's write lock held by another process (the running bot) past
        # busy_timeout: a clear line, nothing half-written (the transaction rolled back).
        reason = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
        print(
            f"followup-bot: the database did not answer in time ({reason}); nothing was "
            "changed by this command, try it again",
            file=sys.stderr,
        )
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
    run.set_defaults(handler=running.run)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=running.migrate)

    imports = commands.add_parser("import-visits", help="load service visits from CSV or XLSX")
    imports.add_argument("file", type=Path)
    imports.add_argument(
        "--strict", action="store_true", help="import nothing if any row is rejected"
    )
    imports.set_defaults(handler=outreach.import_visits)

    links = commands.add_parser("invite-links", help="one survey link per visit not yet answered")
    links.add_argument("--out", type=Path, help="write a CSV file instead of printing")
    links.add_argument(
        "--mark-invited",
        action="store_true",
        help="count the listed surveys as invited (you send the links by SMS or e-mail): "
        "no Telegram invitation then goes out for them",
    )
    links.set_defaults(handler=outreach.invite_links)

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
    broadcast.set_defaults(handler=outreach.broadcast)

    calls = commands.add_parser("call-list", help="customers to phone: unreachable in Telegram")
    calls.add_argument("--out", type=Path, help=".csv or .xlsx file (default: CSV to stdout)")
    calls.set_defaults(handler=outreach.call_list)

    report = commands.add_parser("stats", help="survey statistics for a period")
    report.add_argument(
        "--period", default="30d", help="7d, 30d, 2026-10, 2026-10-01..2026-10-31, all"
    )
    report.add_argument(
        "--managers", action="store_true", help="each manager's deadlines instead (SLA figures)"
    )
    report.set_defaults(handler=reports.stats)

    export = commands.add_parser("export", help="answers, summary, advisors, segments as a file")
    export.add_argument("--period", default="30d", help="as for stats")
    export.add_argument("--out", type=Path, required=True, help=".xlsx or .csv (raw answers)")
    export.set_defaults(handler=reports.export)

    digest = commands.add_parser("digest", help="the weekly report to management, on demand")
    digest.add_argument(
        "--week", help="an ISO week such as 2026-W47 (default: the last full week)"
    )
    digest.add_argument("--send", action="store_true", help="send it to DIGEST_TO now, not print")
    digest.set_defaults(handler=reports.digest)

    play = commands.add_parser("try", help="play the survey in this terminal, no Telegram needed")
    play.add_argument(
        "--database-url",
        help="database to use (default: a throwaway SQLite file, so real data stays clean)",
    )
    play.add_argument("--language", choices=("ru", "en"), default="ru")
    play.set_defaults(handler=running.try_survey)
    return parser
