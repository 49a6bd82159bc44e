"""The fake Bot API: the methods our bot calls, with the chat history kept for assertions."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiohttp import web

from bot.playground.fake_chats import ApiCall, ApiError, Chat, TelegramMethods

# Parameters the Bot API receives as JSON-serialised strings inside form data.
_JSON_FIELDS = {
    "reply_markup",
    "scope",
    "entities",
    "link_preview_options",
    "reply_parameters",
    "commands",
    "media",
    "allowed_updates",
    "menu_button",
}


def _as_form_value(key: str, value: Any) -> Any:
    if key in _JSON_FIELDS:
        return json.loads(value) if isinstance(value, str) else value
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class FakeTelegram(TelegramMethods):
    def __init__(
        self,
        *,
        bot_id: int = 4242,
        bot_username: str = "followup_test_bot",
        rate_limit: int | None = None,
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.calls: list[ApiCall] = []
        self.chats: dict[int, Chat] = {}
        self.menus: dict[tuple[str, int | None, str | None], list[str]] = {}
        # The menu button per private chat (None: every chat's default), as Telegram keeps it.
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        # Like Telegram: more than `rate_limit` messages within a second get a 429.
        self.rate_limit = rate_limit
        self.recent_sends: collections.deque[float] = collections.deque()
        self.throttled = 0
        # When the first and the latest message within the rate limit were accepted.
        self.sends_between: tuple[float, float] | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        # Updates waiting for a polling bot (getUpdates), in Telegram's offset semantics.
        self.pending_updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        # Files users "uploaded": file_id -> bytes, served at /file/bot<token>/<path>.
        self.files: dict[str, bytes] = {}

    # --- running -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._serve)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._serve_file)
        app.router.add_route("GET", "/stats", self._serve_stats)
        # The user's side over HTTP, for a client in another process (bench.dialogue).
        app.router.add_route("POST", "/chat/{chat_id}/from_user", self._serve_user_message)
        app.router.add_route("GET", "/chat/{chat_id}/from_bot", self._serve_bot_messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.base_url = f"http://{bound[0]}:{bound[1]}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what tests look at --------------------------------------------------------------

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def add_group(
        self, chat_id: int, *, title: str = "Клиентская служба", forum: bool = False
    ) -> Chat:
        self.chats[chat_id] = Chat(chat_id, type="supergroup", title=title, is_forum=forum)
        return self.chats[chat_id]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.chat(chat_id).messages.values() if m["from"]["is_bot"]]

    # --- what the user side does -----------------------------------------------------------

    def queue_update(self, body: dict[str, Any], update_id: int | None = None) -> int:
        """An update for a bot that polls: `body` is e.g. {"message": {...}}.

        Passing an earlier update_id re-delivers that update, as Telegram sometimes does.
        """
        update_id = update_id if update_id is not None else next(self._update_ids)
        self.pending_updates.append({"update_id": update_id, **body})
        self._new_update.set()
        return update_id

    def user_message(
        self,
        chat_id: int,
        user: dict[str, Any],
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        message = self._new_message(
            chat_id, sender=user, text=text, thread_id=thread_id, reply_to=reply_to
        )
        self._notify("user", message)
        return message

    def upload(
        self, content: bytes, file_name: str, mime_type: str = "text/csv"
    ) -> dict[str, Any]:
        """A document as a user sends it: the `document` field of their message."""
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }

    async def _serve_file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    async def webhook_reply(self, bot: Bot, method: TelegramMethod[Any]) -> None:
        """A method the bot returned in its reply to a webhook request (a callback's
        answer): Telegram runs it as if it had been called, with the same parameters aiogram
        puts in that reply, and tells the bot nothing, not even an error."""
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = bot.session.prepare_value(value, bot=bot, files={})
            if prepared:  # aiogram leaves empty values out of the reply
                params[key] = json.loads(prepared) if key in _JSON_FIELDS else prepared
        name = method.__api_method__
        self.calls.append(ApiCall(name, params, time.monotonic()))
        if self._answer_instead(name, params) is not None:
            return
        handler = getattr(self, "_api_" + name, None)
        if handler is None:
            return
        with contextlib.suppress(ApiError):
            result = handler(params)
            if inspect.isawaitable(result):
                await result

    # --- the API -------------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        cut_off = await self._before_call(method)
        if cut_off is not None:
            return cut_off
        self.calls.append(ApiCall(method, params, time.monotonic(), request.content_type))
        if method == "sendMessage" and self._over_rate_limit():
            self.throttled += 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                },
                status=429,
            )
        instead = self._answer_instead(method, params)
        if instead is not None:
            return instead
        handler = getattr(self, "_api_" + method, None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        try:
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return self._error(error.status, error.description)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            # As the Bot API reads a JSON body: an object where the form has a JSON
            # string, and every other value as the form would have written it.
            return {
                key: _as_form_value(key, value) for key, value in (await request.json()).items()
            }
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str) and key in _JSON_FIELDS:
                params[key] = json.loads(value)
            elif isinstance(value, str):
                params[key] = value
            elif isinstance(value, web.FileField):
                params[key] = {"filename": value.filename, "content": value.file.read()}
        return params

    def _over_rate_limit(self) -> bool:
        if self.rate_limit is None:
            return False
        now = time.monotonic()
        while self.recent_sends and now - self.recent_sends[0] >= 1.0:
            self.recent_sends.popleft()
        if len(self.recent_sends) >= self.rate_limit:
            return True
        self.recent_sends.append(now)
        first = self.sends_between[0] if self.sends_between else now
        self.sends_between = (first, now)
        return False

    def stats(self) -> dict[str, Any]:
        """Figures for benchmarks: messages accepted, 429s given, repeats per chat."""
        per_chat = collections.Counter(
            int(call.params["chat_id"]) for call in self.calls_of("sendMessage")
        )
        accepted = sum(len(self.bot_messages(chat)) for chat in per_chat)
        return {
            "accepted": accepted,
            "throttled": self.throttled,
            "chats": len(per_chat),
            "chats_with_repeats": sum(1 for chat in per_chat if len(self.bot_messages(chat)) > 1),
            "seconds_first_to_last": (
                self.sends_between[1] - self.sends_between[0] if self.sends_between else 0.0
            ),
        }

    async def _serve_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _serve_user_message(self, request: web.Request) -> web.Response:
        """A user writes: `{"user": {...}, "text": "..."}`; the message as Telegram made it."""
        body = await request.json()
        chat_id = int(request.match_info["chat_id"])
        return web.json_response(self.user_message(chat_id, body["user"], body["text"]))

    async def _serve_bot_messages(self, request: web.Request) -> web.Response:
        return web.json_response(self.bot_messages(int(request.match_info["chat_id"])))

    # --- hooks for a test double that injects faults (tests/fakes.py) ---------------------

    async def _before_call(self, method: str) -> web.Response | None:
        """An answer given before the call is recorded (a request cut off); None: go on."""
        return None

    def _answer_instead(self, method: str, params: dict[str, Any]) -> web.Response | None:
        """An answer given instead of the real result (an error); None: the real result."""
        return None

    @staticmethod
    def _error(status: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": status, "description": description}, status=status
        )

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[Any]:
        offset = int(params.get("offset", 0))
        # Confirmed updates (below the offset) are gone for good, as in Telegram.
        self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        if not self.pending_updates:
            self._new_update.clear()
            timeout = min(float(params.get("timeout", 0)), 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        return list(self.pending_updates)
