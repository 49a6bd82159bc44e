"""`stats` and `export`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands import CommandError, cli_period, open_database
from bot.settings import Settings
from storage.reports import ReportRepository
from survey.clock import utc_now


async def stats(settings: Settings, args: argparse.Namespace) -> int:
    import re

    from bot.i18n import create_i18n
    from handlers.views.stats import summary
    from storage.database import create_session_factory
    from storage.workflows.report import build_report

    period = cli_period(settings, args.period)
    engine = await open_database(settings)
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


async def export(settings: Settings, args: argparse.Namespace) -> int:
    from storage.database import create_session_factory
    from storage.workflows.export import export_csv, export_xlsx

    period = cli_period(settings, args.period)
    out: Path = args.out
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise CommandError("--out must end in .xlsx or .csv")
    engine = await open_database(settings)
    try:
        async with create_session_factory(engine)() as session:
            try:
                if suffix == ".csv":
                    with out.open("w", newline="", encoding="utf-8-sig") as text:
                        count = await export_csv(ReportRepository(session), period, text)
                else:
                    with out.open("wb") as binary:
                        count = await export_xlsx(
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
