"""The bot's routers by audience, in the order the dispatcher tries them.

Each audience has one router whose filters are set once: customers (private chats),
admins (IsAdmin), callers (IsStaff: operators too), staff (IsCaseWorker). Routers are
built by factories, not kept at module level, because a router can belong to one
Dispatcher only and the tests build a fresh Dispatcher per bot "restart".
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Filter

from handlers import errors, fallback
from handlers.admin import outreach
from handlers.customer import attachments, feedback, preferences, privacy, relay, start, survey
from handlers.customer import cases as customer_cases
from handlers.filters import IsAdmin, IsCaseWorker, IsStaff
from handlers.staff import board, cases, phone, reports
from handlers.staff import relay as staff_relay


def _customers() -> Router:
    router = Router(name="customers")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    # The survey first, on this router itself: a button press, the most frequent update,
    # finds its handler in the first router it reaches (start's handlers take commands
    # only, which the survey's typed answers never are).
    survey.register(router)
    router.include_routers(
        start.create_router(),
        attachments.create_router(),
        privacy.create_router(),
        preferences.create_router(),
        customer_cases.create_router(),
    )
    return router


def _only(name: str, role: Filter, *routers: Router) -> Router:
    """Routers for one role: its filter set once on messages and button presses."""
    router = Router(name=name)
    router.message.filter(role)
    router.callback_query.filter(role)
    router.include_routers(*routers)
    return router


def get_routers() -> list[Router]:
    # Order matters: specific handlers first, the catch-all fallback last. The error
    # handlers (errors, handlers only for the "error" event, which aiogram propagates
    # through every router) go last, so no update passes through them on its way.
    return [
        _customers(),
        _only("admins", IsAdmin(), outreach.create_router()),
        # Anyone on the staff, operators included: the call list and phone surveys.
        _only("callers", IsStaff(), phone.create_router()),
        # Managers and admins: cases, reports, talking to customers.
        _only(
            "staff",
            IsCaseWorker(),
            cases.create_router(),
            board.create_router(),
            reports.create_router(),
            staff_relay.create_router(),
        ),
        relay.create_router(),
        feedback.create_router(),
        fallback.create_router(),
        errors.create_router(),
    ]
