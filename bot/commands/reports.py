"""`stats` and `export`."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiogram.utils.i18n import gettext as _

from bot.commands import CommandError, cli_period, open_database
from bot.settings import Settings
from handlers.views.dates import period_title
from storage.reports import ReportRepository
from survey.clock import utc_now


async def stats(settings: Settings, args: argparse.Namespace) -> int:
    import re

    from handlers.views.stats import managers, summary
    from storage.database import create_session_factory
    from storage.workflows.report import build_report

    period = cli_period(settings, args.period)
    engine = await open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            report = await build_report(ReportRepository(session), period)
    finally:
        await engine.dispose()
    if args.managers:
        text = managers(report, settings.case_take_sla, settings.case_resolve_sla)
    else:
        text = summary(report, settings.default_language)
    print(
        re.sub(r"</?[bi]>", "", text)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
    return 0


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
