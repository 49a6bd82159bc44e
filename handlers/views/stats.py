"""The statistics summary as a Telegram message (also printed by `followup-bot stats`)."""

from __future__ import annotations

from datetime import timedelta

from aiogram.utils.i18n import gettext as _

from handlers.views.dates import period_title
from handlers.views.text import decimal, fill, quote
from survey.metrics import SEGMENT_NAMES, STRATEGIES, Segment
from survey.questionnaire import question
from survey.report import Report

TOP_ADVISORS = 10


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def figure(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else decimal(value, digits)


def in_hours(seconds: float | None) -> str:
    return "—" if seconds is None else fill(_("{hours:.1f} h"), hours=seconds / 3600)


def summary(report: Report, locale: str) -> str:
    funnel, cases = report.funnel, report.escalations
    lines = [
        "<b>" + fill(_("Statistics for {period}"), period=period_title(report.period)) + "</b>",
        fill(
            _("Invited: {invited} · started: {started} · completed: {completed} ({rate})"),
            invited=funnel.invited,
            started=funnel.started,
            completed=funnel.completed,
            rate=percent(funnel.response_rate),
        ),
        *channel_lines(report),
        fill(
            _("CSI: {csi} (from {count} completed surveys)"),
            csi=figure(report.csi),
            count=report.csi_surveys,
        ),
        fill(
            _("Median time from invitation to answers: {time}"),
            time=in_hours(report.median_completion_seconds),
        ),
        fill(
            _("Service advisor ratings: friendliness {q11}, responsiveness {q12}"),
            q11=figure(report.rating_mean(11), 2),
            q12=figure(report.rating_mean(12), 2),
        ),
        "",
        "<b>" + _('Problem answers ("not sure" not counted)') + "</b>",
    ]
    for q in report.questions:
        short = question(q.question).short
        name = short.get(locale, short["ru"])
        lines.append(f"{q.question}. {name}: {percent(q.problem_share)} (n={q.answered})")
    lines += [
        "",
        "<b>" + _("Cases") + "</b>",
        fill(
            _("Opened {opened} · taken within SLA {in_time} of {taken} · resolved {resolved}"),
            opened=cases.opened,
            in_time=cases.taken_within_sla,
            taken=cases.taken,
            resolved=cases.resolved,
        ),
        fill(
            _("Median time to take: {take} · to resolve: {resolve}"),
            take=in_hours(cases.median_take_seconds),
            resolve=in_hours(cases.median_resolve_seconds),
        ),
    ]
    advisors = [row for row in report.advisors if row.completed][:TOP_ADVISORS]
    if advisors:
        lines += ["", "<b>" + _("Service advisors (CSI, surveys)") + "</b>"]
        for row in advisors:
            score = None if row.csi_mean_score is None else row.csi_mean_score * 100
            lines.append(f"{quote(row.advisor)}: {figure(score, 0)} (n={row.completed})")
    return "\n".join(lines)


def channel_name(channel: str) -> str:
    return {"telegram": "Telegram", "phone": _("phone")}.get(channel, channel)


def channel_lines(report: Report) -> list[str]:
    """Each channel's response rate, when the period has more than Telegram."""
    if set(report.channels) <= {"telegram"}:
        return []
    return [
        fill(
            _("{channel}: invited {invited}, completed {completed} ({rate})"),
            channel=channel_name(channel),
            invited=funnel.invited,
            completed=funnel.completed,
            rate=percent(funnel.response_rate),
        )
        for channel, funnel in report.channels.items()
    ]


def managers(report: Report, take_sla: timedelta, resolve_sla: timedelta) -> str:
    """Each manager's deadlines (survey.deadlines) for /stats managers."""
    lines = [
        "<b>"
        + fill(_("Managers' deadlines for {period}"), period=period_title(report.period))
        + "</b>",
        fill(
            _("SLA: take within {take}, resolve within {resolve} (working hours)"),
            take=in_hours(take_sla.total_seconds()),
            resolve=in_hours(resolve_sla.total_seconds()),
        ),
    ]
    if not report.managers:
        lines += ["", _("No case was taken in this period.")]
    for row in report.managers:
        lines += [
            "",
            "<b>" + quote(row.manager) + "</b>",
            fill(
                _("Taken {taken}, within SLA {in_time}; median time to take {median}"),
                taken=row.taken,
                in_time=percent(row.take_sla_share),
                median=in_hours(row.median_take_seconds),
            ),
            fill(
                _("Resolved {resolved}, within SLA {in_time}; median time to resolve {median}"),
                resolved=row.resolved,
                in_time=percent(row.resolve_sla_share),
                median=in_hours(row.median_resolve_seconds),
            ),
            fill(
                _("Reopened {reopened}; customers said solved {fixed}, not solved {not_fixed}"),
                reopened=percent(row.reopened_share),
                fixed=row.said_fixed,
                not_fixed=row.said_not_fixed,
            ),
        ]
    return "\n".join(lines)


def has_data(report: Report) -> bool:
    """Anything to draw: a survey started, or a score to show."""
    return bool(report.funnel.started or report.csi_surveys)


def no_data_note() -> str:
    return _("No surveys in this period, so there are no charts.")


def segments(counts: dict[Segment, int], locale: str) -> str:
    lines = ["<b>" + _("Loyalty segments") + "</b>", ""]
    for segment, count in counts.items():
        lines.append(f"<b>{SEGMENT_NAMES[segment][locale]}</b>: {count}")
        lines.append(f"<i>{STRATEGIES[segment][locale]}</i>")
    return "\n".join(lines)
