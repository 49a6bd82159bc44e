"""Sending the weekly report's three parts (text, chart, file), each a delivery of its own
that the outbox claims, sends and retries like any other."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.types import BufferedInputFile

from handlers.views import digest as views
from handlers.views.dates import period_title
from storage.models import Delivery
from storage.uow import UnitOfWork
from storage.workflows.digest import collect
from storage.workflows.report import build_report, segment_counts
from survey.digest import parse_week
from survey.exports import write_xlsx
from survey.periods import Period
from survey.policy import Policies

CHART_WEEKS = 8


async def send_part(
    bot: Bot, db: UnitOfWork, delivery: Delivery, policies: Policies, locale: str, now: datetime
) -> None:
    label = delivery.text or ""
    week = parse_week(label)
    assert week.first is not None
    if delivery.kind == "digest":
        digest = await collect(db, week, now, policies.dealer.zone)
        message = await bot.send_message(delivery.chat_id, views.text(digest, locale))
    elif delivery.kind == "dchart":
        from handlers.views import charts  # matplotlib loads on the first chart only

        weeks = Period(week.first - timedelta(days=7 * (CHART_WEEKS - 1)), week.last)
        report = await build_report(db.reports, weeks, policies.dealer.zone)
        chart = await asyncio.to_thread(charts.csi_trend, report, locale)
        photo = BufferedInputFile(chart.png, filename=f"csi-{label}.png")
        message = await bot.send_photo(delivery.chat_id, photo, caption=views.chart_caption())
    else:
        today = now.astimezone(policies.dealer.zone).date()
        report = await build_report(db.reports, week, policies.dealer.zone)
        segments = await segment_counts(
            db.reports, today, policies.segments.csi_threshold, policies.segments.repeat_visits
        )
        out = io.BytesIO()
        await write_xlsx(
            db.reports.answer_rows(week.first, week.last),
            report,
            segments,
            out,
            locale=locale,
            zone=policies.dealer.zone,
            period_title=period_title(week),
        )
        document = BufferedInputFile(out.getvalue(), filename=f"followup-{label}.xlsx")
        message = await bot.send_document(
            delivery.chat_id, document, caption=views.file_caption(label)
        )
    delivery.message_id = message.message_id
