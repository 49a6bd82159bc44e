"""Test-only controls of the fake Bot API: injected errors and requests cut off.

The fake itself (bot/playground/fake_api.py) is part of the product: `followup-bot try`
and the benchmarks run against it. What makes it misbehave on purpose lives here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.playground.fake_api import FakeTelegram


@dataclass
class Failure:
    """An error the fake answers instead of the real result, for a matching call."""

    method: str
    status: int
    description: str
    chat_id: int | None = None
    retry_after: int | None = None
    times: int = 1


class FaultyTelegram(FakeTelegram):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures: list[Failure] = []
        # hold(method, after=N): the (N+1)-th call of `method` never gets an answer and
        # changes nothing, like a request cut off before Telegram took it (bot killed).
        self._holds: dict[str, int] = {}
        self.holding = asyncio.Event()
        self._released = asyncio.Event()

    def fail(self, failure: Failure) -> None:
        self.failures.append(failure)

    def hold(self, method: str, *, after: int) -> None:
        self._holds[method] = after

    def release(self) -> None:
        """The held call ends now (with a 500, changing nothing), as a cut-off request."""
        self._released.set()

    async def stop(self) -> None:
        self._released.set()
        await super().stop()

    async def _before_call(self, method: str) -> web.Response | None:
        if method not in self._holds:
            return None
        if self._holds[method] > 0:
            self._holds[method] -= 1
            return None
        del self._holds[method]
        self.holding.set()
        await self._released.wait()  # until the server stops; nothing recorded
        return self._error(500, "Internal Server Error: cut off")

    def _answer_instead(self, method: str, params: dict[str, Any]) -> web.Response | None:
        failure = self._failure_for(method, params)
        if failure is None:
            return None
        body: dict[str, Any] = {
            "ok": False,
            "error_code": failure.status,
            "description": failure.description,
        }
        if failure.retry_after is not None:
            body["parameters"] = {"retry_after": failure.retry_after}
        return web.json_response(body, status=failure.status)

    def _failure_for(self, method: str, params: dict[str, Any]) -> Failure | None:
        for failure in self.failures:
            if failure.method != method:
                continue
            if failure.chat_id is not None and str(failure.chat_id) != str(params.get("chat_id")):
                continue
            failure.times -= 1
            if failure.times <= 0:
                self.failures.remove(failure)
            return failure
        return None
