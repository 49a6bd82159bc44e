"""Charts as PNG bytes, drawn without a display (matplotlib's Agg backend).

matplotlib ships DejaVu Sans, which has Cyrillic, so Russian labels render as text.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on a server

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from survey.questionnaire import question
from survey.report import Report

MAX_ADVISORS = 15


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def problem_shares(report: Report, locale: str = "ru") -> bytes:
    figure, axes = plt.subplots(figsize=(8, 5.5))
    labels = [f"Q{q.question} {question(q.question).short[locale]}" for q in report.questions]
    values = [(q.problem_share or 0) * 100 for q in report.questions]
    bars = axes.barh(labels[::-1], values[::-1], color="#d9534f")
    for bar, q in zip(bars, report.questions[::-1], strict=True):
        axes.text(
            bar.get_width() + 0.5,
            bar.get_y() + bar.get_height() / 2,
            f"{bar.get_width():.0f}% (n={q.answered})",
            va="center",
            fontsize=8,
        )
    axes.set_xlabel("% проблемных ответов" if locale == "ru" else "% problem answers")
    axes.set_xlim(0, max([*values, 10]) * 1.25)
    axes.set_title(
        _title(report, "Проблемы по вопросам" if locale == "ru" else "Problems by question")
    )
    return _png(figure)


def csi_trend(report: Report, locale: str = "ru") -> bytes:
    figure, axes = plt.subplots(figsize=(8, 4))
    weeks = [(start, count, score) for start, count, score in report.weeks if score is not None]
    if weeks:
        # Weeks as labels: "2026-10-05" is the week starting that Monday.
        labels = [w[0].isoformat() for w in weeks]
        axes.plot(labels, [w[2] * 100 for w in weeks], marker="o", color="#337ab7")
        for start, count, score in weeks:
            axes.annotate(
                f"n={count}",
                (start.isoformat(), score * 100),
                fontsize=7,
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
            )
    axes.set_ylim(0, 105)
    axes.set_ylabel("CSI")
    axes.set_title(_title(report, "CSI по неделям" if locale == "ru" else "CSI by week"))
    figure.autofmt_xdate()
    return _png(figure)


def advisors(report: Report, locale: str = "ru") -> bytes:
    rows = [row for row in report.advisors if row.csi_mean_score is not None][:MAX_ADVISORS]
    figure, axes = plt.subplots(figsize=(8, 0.4 * max(len(rows), 4) + 1.5))
    names = [f"{row.advisor} (n={row.completed})" for row in rows][::-1]
    values = [(row.csi_mean_score or 0) * 100 for row in rows][::-1]
    axes.barh(names, values, color="#5cb85c")
    axes.set_xlim(0, 105)
    axes.set_xlabel("CSI")
    axes.set_title(
        _title(report, "Мастера-консультанты" if locale == "ru" else "Service advisors")
    )
    return _png(figure)


def _title(report: Report, text: str) -> str:
    return f"{text}, {report.period.label()}"
