"""The visits API on the bot's web server, for the dealer's DMS.

POST /api/v1/visits takes a visit object or a list of up to 1,000 (the import's fields),
checks them exactly like an uploaded file, and stores them by order_no (a retry updates,
never duplicates), scheduling invitations like an import. GET /api/v1/surveys?since=…
gives completed surveys back. GET /api/v1/openapi.json describes both. Authenticated by
`Authorization: Bearer <API_TOKEN>` (constant-time compare), API_RATE requests a minute
per token, bodies over 1 MB refused.
"""

from __future__ import annotations

import hmac
import json
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.services import Services
from storage.workflows.imports import import_visits
from survey.questionnaire import decode_answers
from survey.visit_import import validate_objects

MAX_BODY = 1024 * 1024
MAX_VISITS = 1000
MAX_SURVEYS = 1000
SERVICES = web.AppKey("services", Services)


class RateLimit:
    """At most `per_minute` requests in any 60 s for one token (a sliding window)."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, token: str, now: float) -> float:
        """0 when the request may go ahead (and is counted), else seconds to wait."""
        seen = self._seen.setdefault(token, deque())
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self._per_minute:
            return 60 - (now - seen[0])
        seen.append(now)
        return 0.0


LIMITS = web.AppKey("limits", RateLimit)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


@web.middleware
async def authenticated(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/v1/") or request.path == "/api/v1/openapi.json":
        return await handler(request)
    services = request.app[SERVICES]
    expected = services.settings.api_token
    given = request.headers.get("Authorization", "")
    token = given.removeprefix("Bearer ").strip() if given.startswith("Bearer ") else ""
    if (
        not token
        or expected is None
        or not hmac.compare_digest(token.encode(), expected.get_secret_value().encode())
    ):
        return _error(401, "a valid Authorization: Bearer <API_TOKEN> header is required")
    wait = request.app[LIMITS].retry_after(token, time.monotonic())
    if wait:
        response = _error(429, "too many requests")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    return await handler(request)


async def post_visits(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _error(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        raw = await request.read()  # refused past the app's client_max_size (1 MB)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return _error(400, "the body is not JSON")
    items = body if isinstance(body, list) else [body]
    if not items or not all(isinstance(item, dict) for item in items):
        return _error(400, "send a visit object or a list of visit objects")
    if len(items) > MAX_VISITS:
        return _error(413, f"at most {MAX_VISITS} visits in one request")
    now = services.clock()
    policies = services.policies
    parsed = validate_objects(items, now.astimezone(policies.dealer.zone).date())
    if parsed.errors:
        errors = [
            {
                "index": error.line - 2,
                "field": error.column,
                "problem": error.problem.value,
                "message": str(error.reason),
            }
            for error in parsed.errors
        ]
        return _error(422, "nothing was stored: some visits are not valid", errors=errors)
    async with services.database.unit() as db:
        counts = await import_visits(db, parsed, policies, now)
    return web.json_response({"created": counts.created, "updated": counts.updated})


async def get_surveys(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        since = datetime.fromisoformat(request.query.get("since", "1970-01-01T00:00:00+00:00"))
    except ValueError:
        return _error(400, "since must be an ISO 8601 date-time, e.g. 2026-11-01T00:00:00+03:00")
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    async with services.database.unit() as db:
        rows = await db.reports.completed_since(since, MAX_SURVEYS)
    surveys = [
        {
            "order_no": row.order_no,
            "visit_date": row.visit_date.isoformat(),
            "completed_at": row.completed_at.isoformat(),
            "channel": row.channel,
            "csi": None if row.score is None else round(row.score * 100, 1),
            "answers": {str(n): value for n, value in decode_answers(row.answer_codes).items()},
            "comment": row.comment,
            "wants_contact": row.wants_contact,
            "case": None
            if row.case_id is None
            else {"id": row.case_id, "status": row.case_status, "severity": row.case_severity},
        }
        for row in rows
    ]
    following = surveys[-1]["completed_at"] if len(surveys) == MAX_SURVEYS else None
    return web.json_response({"surveys": surveys, "next_since": following})


async def openapi(_request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


def add_api(app: web.Application, services: Services) -> None:
    """The API's routes on a web application (the webhook's, or one of its own)."""
    app[SERVICES] = services
    app[LIMITS] = RateLimit(services.settings.api_rate)
    app.middlewares.append(authenticated)
    app.router.add_post("/api/v1/visits", post_visits)
    app.router.add_get("/api/v1/surveys", get_surveys)
    app.router.add_get("/api/v1/openapi.json", openapi)


_VISIT = {
    "type": "object",
    "required": ["order_no", "visit_date", "customer_name", "phone", "car", "advisor"],
    "properties": {
        "order_no": {"type": "string", "maxLength": 64},
        "visit_date": {"type": "string", "description": "2026-10-31 or 31.10.2026"},
        "customer_name": {"type": "string", "maxLength": 200},
        "phone": {"type": "string", "description": "a Russian number in any format"},
        "car": {"type": "string", "maxLength": 200},
        "advisor": {"type": "string", "maxLength": 200},
        "telegram_user_id": {"type": "integer"},
    },
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Follow-up visits API", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Visit": _VISIT},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/visits": {
            "post": {
                "summary": "Store visits (by order_no: a retry updates) and schedule invitations",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"$ref": "#/components/schemas/Visit"},
                                    {
                                        "type": "array",
                                        "maxItems": MAX_VISITS,
                                        "items": {"$ref": "#/components/schemas/Visit"},
                                    },
                                ]
                            }
                        }
                    }
                },
                "responses": {
                    "200": {"description": "{created, updated}"},
                    "400": {"description": "not JSON, or not visit objects"},
                    "401": {"description": "no or a wrong bearer token"},
                    "413": {"description": "over 1 MB or over 1,000 visits"},
                    "422": {
                        "description": "nothing stored; errors: [{index, field, problem, message}]"
                    },
                    "429": {"description": "over API_RATE requests a minute; see Retry-After"},
                },
            }
        },
        "/api/v1/surveys": {
            "get": {
                "summary": "Completed surveys since a moment (answers, CSI, the case's state)",
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "schema": {"type": "string", "format": "date-time"},
                    }
                ],
                "responses": {"200": {"description": "{surveys: [...], next_since}"}},
            }
        },
    },
}
