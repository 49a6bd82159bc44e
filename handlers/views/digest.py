"""The weekly report to management as a message."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from handlers.views.dates import period_title
from handlers.views.stats import channel_name, figure, percent
from handlers.views.text import decimal, fill, quote
from survey.digest import Digest, week_label
from survey.questionnaire import question


def _change(points: float | None) -> str:
    if points is None:
        return "—"
    sign = "+" if points > 0 else ("−" if points < 0 else "±")
    return sign + decimal(abs(points), 1)


def text(digest: Digest, locale: str) -> str:
    week, funnel = digest.week, digest.week.funnel
    lines = [
        "<b>"
        + fill(
            _("Weekly report {week}: {period}"),
            week=week_label(week.period),
            period=period_title(week.period),
        )
        + "</b>",
        "",
        "<b>" + _("Surveys") + "</b>",
        *[
            fill(
                _("{channel}: invited {invited}, completed {completed}, response rate {rate}"),
                channel=channel_name(channel),
                invited=counts.invited,
                completed=counts.completed,
                rate=percent(counts.response_rate),
            )
            for channel, counts in (week.channels or {"telegram": funnel}).items()
        ],
        fill(
            _(
                "CSI {csi}: {week_change} against the week before, {mean_change} against the "
                "four weeks before ({mean})"
            ),
            csi=figure(week.csi),
            week_change=_change(digest.csi_change),
            mean_change=_change(digest.csi_against_four_weeks),
            mean=figure(digest.four_weeks.csi),
        ),
    ]
    lines += ["", "<b>" + _("Most problems") + "</b>"]
    top = digest.top_problems
    if not top:
        lines.append(_("No problem answers this week."))
    for q in top:
        short = question(q.question).short
        lines.append(
            fill(
                "{number}. {title}: {share} (n={count})",
                number=q.question,
                title=short.get(locale, short["ru"]),
                share=percent(q.problem_share),
                count=q.answered,
            )
        )
    falling = digest.falling_advisors
    if falling:
        lines += ["", "<b>" + _("Advisors whose CSI fell") + "</b>"]
        for change in falling:
            lines.append(
                fill(
                    _("{advisor}: {csi} (n={count}), four weeks before {before}"),
                    advisor=change.advisor,
                    csi=decimal(change.csi, 1),
                    count=change.completed,
                    before=decimal(change.before, 1),
                )
            )
    lines += [
        "",
        "<b>" + _("Cases") + "</b>",
        fill(
            _("Opened this week {opened}, open now {open_now}, past their SLA {overdue}"),
            opened=week.escalations.opened,
            open_now=digest.open_cases,
            overdue=len(digest.overdue),
        ),
    ]
    for case in digest.overdue:
        owner = case.owner or _("nobody")
        late = _("not taken in time") if case.late == "take" else _("not resolved in time")
        lines.append(
            fill(
                "#{number} {customer} · {owner} · {late}",
                number=case.case_id,
                customer=case.customer,
                owner=owner,
                late=late,
            )
        )
    return "\n".join(lines)


def chart_caption() -> str:
    return _("CSI by week, the last eight weeks")


def file_caption(week: str) -> str:
    return quote(fill(_("The week {week} as an Excel file"), week=week))
