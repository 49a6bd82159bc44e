"""The case board: a Telegram Mini App at /app/ on the bot's web server.

The page (static files shipped in this package, nothing from a CDN) sends Telegram's
initData with every request as `Authorization: tma <initData>`; it is checked with the
bot's token (aiogram's safe_parse_webapp_init_data), must be no older than a day, and its
user must be a manager or an admin. Take and close go through the same use cases as the
chat's buttons, then the outbox redraws every copy of the case (alerts, cards, lists).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.utils.web_app import WebAppUser, safe_parse_webapp_init_data
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.services import Services
from handlers.staff.cases import refusal
from handlers.telegram import in_locale
from handlers.views import board as views
from handlers.views.alerts import fixed_question
from storage.database import DATABASE_UNAVAILABLE
from storage.models import Case
from storage.workflows import cases as use_cases
from storage.workflows.report import build_report
from storage.workflows.staff import role_of
from survey import cases
from survey.periods import PeriodError, parse_period
from survey.policy import ADMIN, MANAGER

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
# Telegram signs initData when the Mini App opens; a day later it is refused.
MAX_AGE = timedelta(days=1)
BOARD_LIMIT = 500
REDRAW_WAIT = 5.0  # seconds
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Only our own files; Telegram Web shows Mini Apps in a frame of its own.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'self' https://web.telegram.org"
    ),
}


@dataclass(frozen=True)
class Viewer:
    """A staff member looking at the board."""

    user_id: int
    name: str
    role: str
    language: str


@dataclass(frozen=True)
class Board:
    services: Services
    bot: Bot
    # Redraws still going after the page got its answer (Telegram slow): kept until done.
    redrawing: set[asyncio.Task[int]] = field(default_factory=set)

    @contextmanager
    def speaking(self, viewer: Viewer) -> Iterator[None]:
        with in_locale(self.services.i18n, viewer.language):
            yield

    async def redraw(self, case_id: int) -> None:
        """Every copy of the case in the chats; the page waits for it at most REDRAW_WAIT
        (a slow or unreachable Telegram must not hang the button), the rest goes on."""
        task = asyncio.create_task(self.services.outbox.deliver(self.bot, case_id))
        self.redrawing.add(task)
        task.add_done_callback(self.redrawing.discard)
        await asyncio.wait({task}, timeout=REDRAW_WAIT)

    async def finish(self, _app: web.Application) -> None:
        """On shutdown: the redraws in flight finish (the outbox retries what does not)."""
        if self.redrawing:
            await asyncio.wait(set(self.redrawing), timeout=REDRAW_WAIT)


BOARD = web.AppKey("board", Board)
VIEWER = web.RequestKey("viewer", Viewer)


def _name(user: WebAppUser) -> str:
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return name + (f" (@{user.username})" if user.username else "")


def _refused(status: int, problem: str) -> web.Response:
    return web.json_response({"error": problem}, status=status, headers=HEADERS)


async def viewer_of(board: Board, header: str) -> Viewer | web.Response:
    """Who sent this initData, if Telegram signed it for our bot lately and they are staff."""
    services = board.services
    raw = header.removeprefix("tma ").strip() if header.startswith("tma ") else ""
    try:
        data = safe_parse_webapp_init_data(board.bot.token, raw)
    except ValueError:
        return _refused(401, "initData is missing or not signed for this bot")
    now = services.clock()
    if data.user is None or not now - MAX_AGE <= data.auth_date <= now + timedelta(minutes=5):
        return _refused(401, "initData is too old: open the board again from Telegram")
    async with services.database.unit() as db:
        role = await role_of(db, services.policies.staffing, data.user.id)
        user = await db.users.get(data.user.id)
    if role not in (MANAGER, ADMIN):
        return _refused(401 if role is None else 403, "the board is for the client service")
    language = (user.language if user else None) or services.policies.dealer.language
    return Viewer(data.user.id, _name(data.user), role, language)


@web.middleware
async def staff_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path != "/app" and not path.startswith("/app/"):
        return await handler(request)  # the webhook's and the visits API's own
    if not path.startswith("/app/api/"):
        response = await handler(request)
        response.headers.update(HEADERS)
        return response
    try:
        viewer = await viewer_of(request.app[BOARD], request.headers.get("Authorization", ""))
        if isinstance(viewer, web.Response):
            return viewer
        request[VIEWER] = viewer
        return await handler(request)
    except DATABASE_UNAVAILABLE as error:
        # One line in the log, a clear answer on the page; no traceback anywhere.
        log.warning("the board could not reach the database: %s", type(error).__name__)
        return _refused(503, "the database is temporarily unavailable; try again shortly")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=HEADERS)


def _case_id(request: web.Request) -> int:
    try:
        return int(request.match_info["case_id"])
    except ValueError:
        raise web.HTTPNotFound from None


# --- the page ----------------------------------------------------------------------------


async def page(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def to_page(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/app/")


async def me(request: web.Request) -> web.Response:
    board, viewer = request.app[BOARD], request[VIEWER]
    with board.speaking(viewer):
        return _json(
            {
                "user_id": viewer.user_id,
                "name": viewer.name,
                "role": viewer.role,
                "language": viewer.language,
                "words": views.page_words(),
                "causes": views.causes(),
            }
        )


async def open_cases(request: web.Request) -> web.Response:
    board, viewer = request.app[BOARD], request[VIEWER]
    services = board.services
    now = services.clock()
    async with services.database.unit() as db:
        found = sorted(await db.cases.active(limit=BOARD_LIMIT), key=views.sort_key)
        with board.speaking(viewer):
            rows = [views.case_row(case, services.policies.dealer.zone, now) for case in found]
    return _json({"now": now.isoformat(), "cases": rows})


def _card(board: Board, viewer: Viewer, case: Case) -> dict[str, Any]:
    services = board.services
    with board.speaking(viewer):
        return views.case_card(
            case,
            services.policies.dealer.zone,
            services.clock(),
            viewer.language,
            services.policies.staffing.managers_chat_id,
        )


async def one_case(request: web.Request) -> web.Response:
    board, viewer = request.app[BOARD], request[VIEWER]
    async with board.services.database.unit() as db:
        case = await db.cases.get(_case_id(request))
        if case is None:
            return _refused(404, "no such case")
        return _json(_card(board, viewer, case))


async def take(request: web.Request) -> web.Response:
    board, viewer = request.app[BOARD], request[VIEWER]
    services = board.services
    case_id = _case_id(request)
    try:
        async with services.database.unit() as db:
            await use_cases.take(
                db, case_id, viewer.user_id, viewer.name, services.clock(), services.policies
            )
    except cases.CaseRefused as error:
        with board.speaking(viewer):
            return _refused(409, refusal(error, services.policies))
    return await _after_change(board, viewer, case_id)


async def close(request: web.Request) -> web.Response:
    board, viewer = request.app[BOARD], request[VIEWER]
    services = board.services
    case_id = _case_id(request)
    try:
        body = await request.json()
    except ValueError:
        body = None
    cause = body.get("cause") if isinstance(body, dict) else None
    note = body.get("note") if isinstance(body, dict) else None
    problem = views.closing_problem(cause, note)
    if problem is not None:
        with board.speaking(viewer):
            return _refused(422, problem())
    assert isinstance(cause, str)
    assert isinstance(note, str)

    def ask_customer(case: Case, language: str | None) -> use_cases.Notice:
        with in_locale(services.i18n, language or services.policies.dealer.language):
            return fixed_question(case)

    try:
        async with services.database.unit() as db:
            await use_cases.resolve(
                db,
                case_id,
                viewer.user_id,
                viewer.name,
                cause,
                note.strip(),
                services.clock(),
                ask_customer,
            )
    except cases.CaseRefused as error:
        with board.speaking(viewer):
            return _refused(409, refusal(error, services.policies))
    return await _after_change(board, viewer, case_id)


async def _after_change(board: Board, viewer: Viewer, case_id: int) -> web.Response:
    """Committed: every copy of the case in the chats is redrawn, then the page's card."""
    await board.redraw(case_id)
    async with board.services.database.unit() as db:
        case = await use_cases.load(db, case_id)
        return _json(_card(board, viewer, case))


async def _report(request: web.Request) -> tuple[Any, str] | web.Response:
    board, viewer = request.app[BOARD], request[VIEWER]
    services = board.services
    today = services.clock().astimezone(services.policies.dealer.zone).date()
    try:
        period = parse_period(request.query.get("period") or None, today)
    except PeriodError:
        return _refused(400, "period: 7d, 30d, 2026-10, all")
    async with services.database.unit() as db:
        report = await build_report(db.reports, period, services.policies.dealer.zone)
    return report, viewer.language


async def figures(request: web.Request) -> web.Response:
    found = await _report(request)
    if isinstance(found, web.Response):
        return found
    report, language = found
    with request.app[BOARD].speaking(request[VIEWER]):
        return _json(views.figures(report, language))


async def charts(request: web.Request) -> web.Response:
    found = await _report(request)
    if isinstance(found, web.Response):
        return found
    report, language = found
    # matplotlib is imported on first use, and drawing is kept off the event loop.
    from handlers.views import charts as drawing

    board = request.app[BOARD]

    def draw() -> list[Any]:
        with board.speaking(request[VIEWER]):
            return drawing.all_charts(report, language)

    drawn = await asyncio.to_thread(draw)
    return _json(
        {
            "charts": [
                {"caption": chart.caption, "png": base64.b64encode(chart.png).decode()}
                for chart in drawn
            ]
        }
    )


def add_board(app: web.Application, services: Services, bot: Bot) -> None:
    """The board's page and its JSON on a web application (the webhook's, or API_LISTEN's)."""
    app[BOARD] = board = Board(services, bot)
    app.on_cleanup.append(board.finish)
    app.middlewares.append(staff_only)
    app.router.add_get("/app", to_page)
    app.router.add_get("/app/", page)
    app.router.add_static("/app/static/", STATIC)
    app.router.add_get("/app/api/me", me)
    app.router.add_get("/app/api/cases", open_cases)
    app.router.add_get("/app/api/cases/{case_id}", one_case)
    app.router.add_post("/app/api/cases/{case_id}/take", take)
    app.router.add_post("/app/api/cases/{case_id}/close", close)
    app.router.add_get("/app/api/figures", figures)
    app.router.add_get("/app/api/charts", charts)
