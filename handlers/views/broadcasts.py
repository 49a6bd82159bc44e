"""The broadcast's progress message: text and its Cancel button."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.views.callbacks import BroadcastCallback
from handlers.views.text import fill
from storage.models import Broadcast
from survey.outreach import Progress


def progress_text(broadcast: Broadcast, progress: Progress, now: datetime) -> str:
    elapsed = max((now - broadcast.created_at).total_seconds(), 1.0)
    rate = progress.sent / elapsed
    lines = [
        "<b>" + fill(_("Broadcast #{number}"), number=broadcast.id) + "</b>",
        fill(
            _("Sent: {sent} · failed: {failed} · blocked: {blocked} · skipped: {skipped}"),
            sent=progress.sent,
            failed=progress.failed,
            blocked=progress.blocked,
            skipped=progress.skipped,
        ),
    ]
    if progress.uncertain:
        lines.append(
            fill(
                _("Uncertain (the bot stopped while sending; not sent again): {count}"),
                count=progress.uncertain,
            )
        )
    if broadcast.status == "running":
        lines.append(fill(_("Remaining: {remaining}"), remaining=progress.remaining))
        if rate > 0 and progress.remaining:
            lines.append(
                fill(
                    _("Rate: {rate:.1f}/s · about {eta} s left"),
                    rate=rate,
                    eta=int(progress.remaining / rate),
                )
            )
    elif broadcast.status == "cancelled":
        lines.append(fill(_("Cancelled: {count} not sent."), count=progress.cancelled))
    else:
        lines.append(_("Finished."))
    return "\n".join(lines)


def progress_keyboard(broadcast: Broadcast) -> InlineKeyboardMarkup | None:
    if broadcast.status != "running":
        return None
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("Cancel"),
        callback_data=BroadcastCallback(broadcast_id=broadcast.id, action="cancel"),
    )
    return builder.as_markup()


def describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in params.items())
