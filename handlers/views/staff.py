"""Words for staff roles (never the stored value "admin" / "manager" on a screen)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from survey.policy import ADMIN, MANAGER, OPERATOR


def role_name(role: str) -> str:
    return {
        ADMIN: _("head of client service"),
        MANAGER: _("client-service manager"),
        OPERATOR: _("call-centre operator"),
    }.get(role, role)
