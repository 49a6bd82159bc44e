"""The visits API for the dealer system: valid, invalid, duplicate and oversized batches
against the database and the invitations; surveys pulled back; tokens and rate limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.webhook import create_web_app
from storage.models import Send, Visit
from tests.conftest import App

TOKEN = "dms-secret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def visit(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "order_no": f"API-{n}",
        "visit_date": "2026-10-19",
        "customer_name": f"Клиент {n}",
        "phone": f"8 (912) 000-00-{n:02d}",
        "car": "Kia Rio",
        "advisor": "Смирнов",
        **changes,
    }


@pytest.fixture
async def api(app: App) -> AsyncIterator[tuple[App, TestClient[Any, Any]]]:
    served = app.restarted(api_token=SecretStr(TOKEN), api_rate=600)
    client = TestClient(TestServer(create_web_app(served.services, served.bot)))
    await client.start_server()
    yield served, client
    await client.close()
    await served.bot.session.close()


async def counts(app: App) -> tuple[int, int]:
    async with app.sessions() as session:
        visits = await session.scalar(select(func.count()).select_from(Visit))
        sends = await session.scalar(select(func.count()).select_from(Send))
    return int(visits or 0), int(sends or 0)


async def test_batches_are_stored_once_with_their_invitations(
    api: tuple[App, TestClient[Any, Any]],
) -> None:
    app, client = api
    reply = await client.post("/api/v1/visits", json=[visit(1), visit(2)], headers=AUTH)
    assert reply.status == 200
    assert await reply.json() == {"created": 2, "updated": 0}
    assert await counts(app) == (2, 2)  # each visit has its invitation scheduled

    # A retry of the same batch (and one object on its own) updates, never duplicates.
    reply = await client.post(
        "/api/v1/visits", json=[visit(1, car="Kia Ceed"), visit(2)], headers=AUTH
    )
    assert await reply.json() == {"created": 0, "updated": 2}
    reply = await client.post("/api/v1/visits", json=visit(3), headers=AUTH)
    assert await reply.json() == {"created": 1, "updated": 0}
    assert await counts(app) == (3, 3)
    async with app.sessions() as session:
        car = await session.scalar(select(Visit.car).where(Visit.order_no == "API-1"))
    assert car == "Kia Ceed"


async def test_invalid_batches_store_nothing_and_say_why(
    api: tuple[App, TestClient[Any, Any]],
) -> None:
    app, client = api
    batch = [visit(1), visit(2, visit_date="31.02.2026"), visit(3, phone="555", order_no="")]
    reply = await client.post("/api/v1/visits", json=batch, headers=AUTH)
    assert reply.status == 422
    body = await reply.json()
    assert [(e["index"], e["field"], e["problem"]) for e in body["errors"]] == [
        (1, "visit_date", "bad_date"),
        (2, "order_no", "missing"),
        (2, "phone", "bad_phone"),
    ]
    assert "31.02.2026" in body["errors"][0]["message"]
    duplicate = [visit(1), visit(1)]
    reply = await client.post("/api/v1/visits", json=duplicate, headers=AUTH)
    assert (await reply.json())["errors"][0]["problem"] == "duplicate"
    for wrong in (b"{not json", json.dumps([1, 2]).encode(), b"[]"):
        reply = await client.post("/api/v1/visits", data=wrong, headers=AUTH)
        assert reply.status == 400
    too_many = [visit(n % 100, order_no=f"X-{n}") for n in range(1001)]
    reply = await client.post("/api/v1/visits", json=too_many, headers=AUTH)
    assert reply.status == 413
    oversized = json.dumps([visit(1, car="x" * (1024 * 1024))]).encode()
    reply = await client.post("/api/v1/visits", data=oversized, headers=AUTH)
    assert reply.status == 413
    assert await counts(app) == (0, 0)


async def test_tokens_rate_limits_and_the_description(app: App) -> None:
    limited = app.restarted(api_token=SecretStr(TOKEN), api_rate=5)
    client = TestClient(TestServer(create_web_app(limited.services, limited.bot)))
    await client.start_server()
    try:
        await _tokens_rate_limits_and_the_description(client)
    finally:
        await client.close()
        await limited.bot.session.close()


async def _tokens_rate_limits_and_the_description(client: TestClient[Any, Any]) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        reply = await client.post("/api/v1/visits", json=visit(1), headers=headers)
        assert reply.status == 401
    description = await (await client.get("/api/v1/openapi.json")).json()
    # An empty API_TOKEN is no API at all, and a short one is refused at start.
    from bot.settings import Settings

    assert Settings(_env_file=None, api_token="  ").api_token is None  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="at least 16"):
        Settings(_env_file=None, api_token="short")  # type: ignore[call-arg]
    assert set(description["paths"]) == {"/api/v1/visits", "/api/v1/surveys"}
    statuses = [(await client.get("/api/v1/surveys", headers=AUTH)).status for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]  # API_RATE=5 a minute


async def test_completed_surveys_are_pulled_back(api: tuple[App, TestClient[Any, Any]]) -> None:
    app, client = api
    survey = await app.add_visit()
    customer = app.customer()
    await customer.send(f"/start {survey.token}")
    await customer.click("Начать опрос")
    for number in range(1, 13):
        await customer.click("Да, повторный ремонт" if number == 7 else customer.buttons()[0])
    await customer.click("Без комментария")
    await customer.click("Нет, спасибо")
    reply = await client.get(
        "/api/v1/surveys", params={"since": "2026-10-01T00:00:00+03:00"}, headers=AUTH
    )
    [pulled] = (await reply.json())["surveys"]
    assert pulled["order_no"] == "ZN-0001"
    assert pulled["channel"] == "telegram"
    assert pulled["answers"]["7"] == "yes"
    assert pulled["case"]["status"] == "open"
    assert pulled["csi"] is not None
    later = await client.get("/api/v1/surveys", params={"since": "2030-01-01"}, headers=AUTH)
    assert (await later.json())["surveys"] == []
    wrong = await client.get("/api/v1/surveys", params={"since": "yesterday"}, headers=AUTH)
    assert wrong.status == 400
