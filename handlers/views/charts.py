"""Charts as PNG bytes, drawn without a display (matplotlib's Agg backend), each with the
caption it is sent with. Texts come from the catalogues like every other view.

matplotlib ships DejaVu Sans, which has Cyrillic, so Russian labels render as text.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on a server

import matplotlib.pyplot as plt
from aiogram.utils.i18n import gettext as _
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from handlers.views.dates import day_month, period_title
from handlers.views.text import decimal
from survey.questionnaire import question
from survey.report import Report

# matplotlib announces every font it considers at INFO/DEBUG: not news for a bot's log.
logging.getLogger("matplotlib").setLevel(logging.WARNING)

MAX_ADVISORS = 15


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    caption: str


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _percent_axis(axes: object) -> FuncFormatter:
    return FuncFormatter(lambda value, _position: f"{value:.0f}%")


def problem_shares(report: Report, locale: str = "ru") -> Chart:
    rows = [q for q in report.questions if q.answered]
    figure, axes = plt.subplots(figsize=(8, 0.42 * max(len(rows), 4) + 1.6))
    labels = [f"{q.question}. {question(q.question).short[locale]}" for q in rows][::-1]
    values = [(q.problem_share or 0) * 100 for q in rows][::-1]
    bars = axes.barh(labels, values, color="#d9534f")
    for bar, q in zip(bars, rows[::-1], strict=True):
        axes.text(
            bar.get_width() + 0.5,
            bar.get_y() + bar.get_height() / 2,
            f"{bar.get_width():.0f}% (n={q.answered})",
            va="center",
            fontsize=8,
        )
    axes.set_xlabel(_("% of problem answers"))
    axes.xaxis.set_major_formatter(_percent_axis(axes))
    axes.set_xlim(0, max([*values, 10]) * 1.3)
    title = _("Problems by question")
    axes.set_title(f"{title}, {period_title(report.period)}")
    return Chart(_png(figure), title)


def csi_trend(report: Report, locale: str = "ru") -> Chart:
    figure, axes = plt.subplots(figsize=(8, 4))
    weeks = [(start, count, score) for start, count, score in report.weeks if score is not None]
    # Each point is a week, labelled by its Monday.
    labels = [day_month(start) for start, _count, _score in weeks]
    values = [score * 100 for _start, _count, score in weeks]
    axes.plot(labels, values, marker="o", color="#337ab7")
    for label, value, (_start, count, _score) in zip(labels, values, weeks, strict=True):
        axes.annotate(
            f"{decimal(value, 0)} (n={count})",
            (label, value),
            fontsize=7,
            xytext=(0, 7),
            textcoords="offset points",
            ha="center",
        )
    axes.set_ylim(0, 105)
    axes.set_ylabel("CSI")
    axes.set_xlabel(_("week starting"))
    title = _("CSI by week")
    axes.set_title(f"{title}, {period_title(report.period)}")
    figure.autofmt_xdate()
    return Chart(_png(figure), title)


def advisors(report: Report, locale: str = "ru") -> Chart:
    """Best first, from the top; the value on each bar."""
    rows = [row for row in report.advisors if row.csi_mean_score is not None]
    rows = sorted(rows, key=lambda row: (-(row.csi_mean_score or 0), row.advisor))[:MAX_ADVISORS]
    figure, axes = plt.subplots(figsize=(8, 0.42 * max(len(rows), 4) + 1.6))
    names = [f"{row.advisor} (n={row.completed})" for row in rows][::-1]
    values = [(row.csi_mean_score or 0) * 100 for row in rows][::-1]
    bars = axes.barh(names, values, color="#5cb85c")
    for bar, value in zip(bars, values, strict=True):
        axes.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            decimal(value, 0),
            va="center",
            fontsize=8,
        )
    axes.set_xlim(0, 112)
    axes.set_xlabel("CSI")
    title = _("Service advisors by CSI")
    axes.set_title(f"{title}, {period_title(report.period)}")
    return Chart(_png(figure), title)


def managers(report: Report, locale: str = "ru") -> Chart:
    """Each manager's share of cases taken and resolved within the SLA, side by side."""
    rows = report.managers[:MAX_ADVISORS]
    figure, axes = plt.subplots(figsize=(8, 0.6 * max(len(rows), 3) + 1.6))
    positions = list(range(len(rows)))[::-1]
    take = [(row.take_sla_share or 0) * 100 for row in rows]
    resolve = [(row.resolve_sla_share or 0) * 100 for row in rows]
    height = 0.38
    bars_take = axes.barh(
        [p + height / 2 for p in positions],
        take,
        height,
        color="#337ab7",
        label=_("taken in time"),
    )
    bars_resolve = axes.barh(
        [p - height / 2 for p in positions],
        resolve,
        height,
        color="#5cb85c",
        label=_("resolved in time"),
    )
    for bars in (bars_take, bars_resolve):
        for bar in bars:
            axes.text(
                bar.get_width() + 1,
                bar.get_y() + bar.get_height() / 2,
                f"{bar.get_width():.0f}%",
                va="center",
                fontsize=8,
            )
    axes.set_yticks(positions, [f"{row.manager} (n={row.taken})" for row in rows])
    axes.set_xlim(0, 115)
    axes.xaxis.set_major_formatter(_percent_axis(axes))
    axes.legend(loc="lower right", fontsize=8)
    title = _("Managers: cases within the SLA")
    axes.set_title(f"{title}, {period_title(report.period)}")
    return Chart(_png(figure), title)


def all_charts(report: Report, locale: str) -> list[Chart]:
    """The charts there is something to draw for (no empty axes)."""
    charts = [problem_shares(report, locale)] if any(q.answered for q in report.questions) else []
    if any(score is not None for _start, _count, score in report.weeks):
        charts.append(csi_trend(report, locale))
    if any(row.csi_mean_score is not None for row in report.advisors):
        charts.append(advisors(report, locale))
    return charts
