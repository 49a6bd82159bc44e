"""aiogram routers: they turn updates into calls of the domain and replies.

Routers are built by factories, not kept at module level, because a router can belong
to one Dispatcher only and the tests build a fresh Dispatcher per bot "restart".
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    cases,
    errors,
    fallback,
    outreach_admin,
    preferences,
    privacy,
    relay,
    reports,
    start,
    survey,
)


def get_routers() -> list[Router]:
    # Order matters: specific handlers first, the catch-all fallback last.
    return [
        errors.create_router(),
        start.create_router(),
        survey.create_router(),
        privacy.create_router(),
        outreach_admin.create_router(),
        preferences.create_router(),
        cases.create_router(),
        reports.create_router(),
        relay.create_router(),
        fallback.create_router(),
    ]
