"""Everything Telegram: routers by audience, their views, and the outbound side.

Routers are built by factories, not kept at module level, because a router can belong
to one Dispatcher only and the tests build a fresh Dispatcher per bot "restart".
"""

from __future__ import annotations

from aiogram import Router

from handlers import errors, fallback
from handlers.admin import outreach
from handlers.customer import preferences, privacy, start, survey
from handlers.staff import cases, relay, reports


def get_routers() -> list[Router]:
    # Order matters: specific handlers first, the catch-all fallback last.
    return [
        errors.create_router(),
        start.create_router(),
        survey.create_router(),
        privacy.create_router(),
        outreach.create_router(),
        preferences.create_router(),
        cases.create_router(),
        reports.create_router(),
        relay.create_router(),
        fallback.create_router(),
    ]
