"""/stats, /export and /segments for client-service staff."""

from __future__ import annotations

import asyncio
import io
from datetime import date

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.views import stats
from handlers.views.callbacks import SegmentCallback
from handlers.views.dates import period_example, period_title
from handlers.views.keyboards import segments_keyboard
from handlers.views.text import fill
from storage.uow import UnitOfWork
from storage.workflows.report import build_report, segment_counts
from survey.clock import Clock
from survey.metrics import SEGMENT_NAMES, Segment
from survey.periods import Period, PeriodError, parse_period
from survey.policy import Policies
from survey.report import Report

# "/stats managers 30d" (or "менеджеры").
MANAGER_WORDS = {"managers", "менеджеры"}


def _today(policies: Policies, clock: Clock) -> date:
    return clock().astimezone(policies.dealer.zone).date()


async def _period(
    message: Message, text: str | None, policies: Policies, clock: Clock
) -> Period | None:
    try:
        return parse_period(text, _today(policies, clock))
    except PeriodError:
        await message.answer(
            fill(
                _("I did not understand the period. Examples: {example}, or all."),
                example=period_example(),
            )
        )
        return None


async def cmd_stats(
    message: Message,
    command: CommandObject,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    words = (command.args or "").split()
    about_managers = bool(words) and words[0].lower() in MANAGER_WORDS
    period = await _period(message, " ".join(words[about_managers:]) or None, policies, clock)
    if period is None:
        return
    report = await build_report(db.reports, period, policies.dealer.zone)
    if about_managers:
        await _send_managers(message, report, policies, i18n.current_locale)
        return
    await message.answer(stats.summary(report, i18n.current_locale))
    if not stats.has_data(report):
        await message.answer(stats.no_data_note())
        return
    locale = i18n.current_locale
    # Imported here, not at the top: matplotlib and numpy hold about 60 MB, which a bot
    # that nobody asks for charts should not carry.
    from handlers.views import charts

    # Drawing is CPU work: keep it off the event loop so other chats are not held up.
    drawn = await asyncio.to_thread(charts.all_charts, report, locale)
    if len(drawn) == 1:  # an album needs two or more
        photo = BufferedInputFile(drawn[0].png, filename="chart-1.png")
        await message.answer_photo(photo, caption=drawn[0].caption)
        return
    await message.answer_media_group(
        [
            InputMediaPhoto(
                media=BufferedInputFile(chart.png, filename=f"chart-{n}.png"),
                caption=chart.caption,
            )
            for n, chart in enumerate(drawn, start=1)
        ]
    )


async def _send_managers(
    message: Message, report: Report, policies: Policies, locale: str
) -> None:
    take, resolve = policies.cases.take_sla, policies.cases.resolve_sla
    await message.answer(stats.managers(report, take, resolve))
    if not report.managers:
        return
    from handlers.views import charts

    chart = await asyncio.to_thread(charts.managers, report, locale)
    photo = BufferedInputFile(chart.png, filename="managers.png")
    await message.answer_photo(photo, caption=chart.caption)


async def cmd_export(
    message: Message,
    command: CommandObject,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    words = (command.args or "").split()
    as_csv = "csv" in words
    words = [w for w in words if w not in ("csv", "xlsx")]
    period = await _period(message, " ".join(words) or None, policies, clock)
    if period is None:
        return
    # openpyxl loads on the first export only, like matplotlib for the charts.
    from storage.workflows.export import export_csv, export_xlsx

    name = f"followup-{period.label().replace('..', '_').replace('…', 'to_')}"
    if as_csv:
        text = io.StringIO()
        count = await export_csv(
            db.reports, period, text, locale=i18n.current_locale, zone=policies.dealer.zone
        )
        data, name = text.getvalue().encode("utf-8-sig"), name + ".csv"
    else:
        binary = io.BytesIO()
        count = await export_xlsx(
            db.reports,
            period,
            binary,
            today=_today(policies, clock),
            csi_threshold=policies.segments.csi_threshold,
            repeat_at=policies.segments.repeat_visits,
            locale=i18n.current_locale,
            zone=policies.dealer.zone,
            period_title=period_title(period),
        )
        data, name = binary.getvalue(), name + ".xlsx"
    await message.answer_document(
        BufferedInputFile(data, filename=name),
        caption=fill(_("Surveys in the file: {count}"), count=count),
    )


async def cmd_segments(
    message: Message, db: UnitOfWork, policies: Policies, clock: Clock, i18n: I18n
) -> None:
    counts = await segment_counts(
        db.reports,
        _today(policies, clock),
        policies.segments.csi_threshold,
        policies.segments.repeat_visits,
    )
    await message.answer(
        stats.segments(counts, i18n.current_locale),
        reply_markup=segments_keyboard(counts, i18n.current_locale),
    )


async def segment_listed(
    query: CallbackQuery,
    callback_data: SegmentCallback,
    db: UnitOfWork,
    policies: Policies,
    clock: Clock,
    i18n: I18n,
) -> None:
    if callback_data.segment not in {s.value for s in Segment}:
        await query.answer(_("This button no longer works."), show_alert=True)
        return
    segment = Segment(callback_data.segment)
    members = await db.reports.segment_members(
        segment,
        _today(policies, clock),
        policies.segments.csi_threshold,
        policies.segments.repeat_visits,
    )
    lines = ["<b>" + SEGMENT_NAMES[segment][i18n.current_locale] + "</b>", ""]
    for customer, csi, visits in members:
        lines.append(
            fill(
                _("{name}, {phone}: CSI {csi:.0f}, visits in a year: {visits}"),
                name=customer.name,
                phone=customer.phone or "—",
                csi=csi,
                visits=visits,
            )
        )
    if len(members) == 50:
        lines.append(_("(the first 50; /export has them all)"))
    if query.message is not None:
        await query.message.answer("\n".join(lines))
    await query.answer()


def create_router() -> Router:
    """Inside the staff router (role checked there)."""
    router = Router(name=__name__)
    router.message.register(cmd_stats, Command("stats"))
    router.message.register(cmd_export, Command("export"))
    router.message.register(cmd_segments, Command("segments"))
    router.callback_query.register(segment_listed, SegmentCallback.filter())
    return router
