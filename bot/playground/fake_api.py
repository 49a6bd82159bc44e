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
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Parameters the Bot API receives as JSON-serialised strings inside form data.
_JSON_FIELDS = {
    "reply_markup",
    "entities",
    "link_preview_options",
    "reply_parameters",
    "commands",
    "media",
    "allowed_updates",
}


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class Failure:
    """An error the fake answers instead of the real result, for a matching call."""

    method: str
    status: int
    description: str
    chat_id: int | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass
class Chat:
    id: int
    type: str = "private"
    title: str | None = None
    is_forum: bool = False
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    topics: dict[int, str] = field(default_factory=dict)
    # The reply keyboard the user sees under the input field (not part of any message).
    reply_keyboard: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        described: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            described["title"] = self.title
        if self.is_forum:
            described["is_forum"] = True
        return described


class FakeTelegram:
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
        self.failures: list[Failure] = []
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        # Like Telegram: more than `rate_limit` messages within a second get a 429.
        self.rate_limit = rate_limit
        self.recent_sends: collections.deque[float] = collections.deque()
        self.throttled = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        # Updates waiting for a polling bot (getUpdates), in Telegram's offset semantics.
        self.pending_updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        # hold(method, after=N): the (N+1)-th call of `method` never gets an answer and
        # changes nothing, like a request cut off before Telegram took it (bot killed).
        self._holds: dict[str, int] = {}
        self.holding = asyncio.Event()
        self._released = asyncio.Event()
        # Files users "uploaded": file_id -> bytes, served at /file/bot<token>/<path>.
        self.files: dict[str, bytes] = {}

    # --- running -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._serve)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._serve_file)
        app.router.add_route("GET", "/stats", self._serve_stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.base_url = f"http://{bound[0]}:{bound[1]}"
        return self.base_url

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what tests look at --------------------------------------------------------------

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def chat(self, chat_id: int) -> Chat:
        if chat_id not in self.chats:
            self.chats[chat_id] = Chat(chat_id, type="private" if chat_id > 0 else "group")
        return self.chats[chat_id]

    def add_group(
        self, chat_id: int, *, title: str = "Клиентская служба", forum: bool = False
    ) -> Chat:
        self.chats[chat_id] = Chat(chat_id, type="supergroup", title=title, is_forum=forum)
        return self.chats[chat_id]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.chat(chat_id).messages.values() if m["from"]["is_bot"]]

    def fail(self, failure: Failure) -> None:
        self.failures.append(failure)

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

    # --- the API -------------------------------------------------------------------------

    def hold(self, method: str, *, after: int) -> None:
        self._holds[method] = after

    async def _serve(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if method in self._holds:
            if self._holds[method] == 0:
                del self._holds[method]
                self.holding.set()
                await self._released.wait()  # until the server stops; nothing recorded
                return self._error(500, "Internal Server Error: cut off")
            else:
                self._holds[method] -= 1
        self.calls.append(ApiCall(method, params, time.monotonic()))
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
        failure = self._failure_for(method, params)
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        handler = getattr(self, "_api_" + method, None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        try:
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
        except _ApiError as error:
            return self._error(error.status, error.description)
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
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
        }

    async def _serve_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

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

    @staticmethod
    def _error(status: int, description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": status, "description": description}, status=status
        )

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Follow-up",
            "username": self.bot_username,
        }

    def _new_message(
        self,
        chat_id: int,
        sender: dict[str, Any],
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        chat = self.chat(chat_id)
        message: dict[str, Any] = {
            "message_id": next(chat.ids),
            "date": int(time.time()),
            "chat": chat.as_dict(),
            "from": sender,
            **{key: value for key, value in content.items() if value is not None},
        }
        if thread_id is not None:
            if chat.is_forum and thread_id not in chat.topics:
                raise _ApiError(400, "Bad Request: message thread not found")
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to is not None:
            original = chat.messages.get(reply_to)
            if original is None:
                raise _ApiError(400, "Bad Request: message to be replied not found")
            message["reply_to_message"] = {
                k: v for k, v in original.items() if k != "reply_to_message"
            }
        chat.messages[message["message_id"]] = message
        return message

    @staticmethod
    def _thread(params: dict[str, Any]) -> int | None:
        value = params.get("message_thread_id")
        return int(value) if value is not None else None

    @staticmethod
    def _reply_to(params: dict[str, Any]) -> int | None:
        if "reply_parameters" in params:
            return int(params["reply_parameters"]["message_id"])
        value = params.get("reply_to_message_id")
        return int(value) if value is not None else None

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(int(params["chat_id"]))
        message = chat.messages.get(int(params["message_id"]))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message

    def _notify(self, event: str, message: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(event, message)

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text", "")
        if not text:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        inline = markup if markup and "inline_keyboard" in markup else None
        message = self._new_message(
            int(params["chat_id"]),
            self._bot_user(),
            text=text,
            reply_markup=inline,
            thread_id=self._thread(params),
            reply_to=self._reply_to(params),
        )
        if markup and "keyboard" in markup:
            self.chat(int(params["chat_id"])).reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            self.chat(int(params["chat_id"])).reply_keyboard = None
        self._notify("sent", message)
        return message

    def _api_copyMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        source = self.chat(int(params["from_chat_id"])).messages.get(int(params["message_id"]))
        if source is None:
            raise _ApiError(400, "Bad Request: message to copy not found")
        content = {
            key: value
            for key, value in source.items()
            if key
            not in {
                "message_id",
                "date",
                "chat",
                "from",
                "reply_to_message",
                "message_thread_id",
                "is_topic_message",
                "entities",
            }
        }
        message = self._new_message(
            int(params["chat_id"]),
            self._bot_user(),
            thread_id=self._thread(params),
            reply_to=self._reply_to(params),
            **content,
        )
        self._notify("sent", message)
        return {"message_id": message["message_id"]}

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params["file_id"]
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params["document"]
        if isinstance(document, str) and document.startswith("attach://"):
            document = params[document.removeprefix("attach://")]  # aiogram's multipart upload
        file_id = f"sent-{len(self.files) + 1}"
        self.files[file_id] = document["content"]
        message = self._new_message(
            int(params["chat_id"]),
            self._bot_user(),
            caption=params.get("caption"),
            document={
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": document["filename"],
                "file_size": len(document["content"]),
            },
        )
        self._notify("sent", message)
        return message

    def _api_sendMediaGroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        sent = []
        group = f"group-{len(self.files)}"
        for item in params["media"]:
            content = params[item["media"].removeprefix("attach://")]["content"]
            file_id = f"photo-{len(self.files) + 1}"
            self.files[file_id] = content
            message = self._new_message(
                int(params["chat_id"]),
                self._bot_user(),
                media_group_id=group,
                photo=[
                    {"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 600}
                ],
            )
            self._notify("sent", message)
            sent.append(message)
        return sent

    def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        if chat_id not in self.chats:
            raise _ApiError(400, "Bad Request: chat not found")
        return {
            **self.chats[chat_id].as_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(int(params["chat_id"]))
        if not chat.is_forum:
            raise _ApiError(400, "Bad Request: the chat is not a forum")
        thread_id = next(chat.ids)  # in Telegram a topic's id is its first message's id
        chat.topics[thread_id] = params["name"]
        return {"message_thread_id": thread_id, "name": params["name"], "icon_color": 7322096}

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        markup = params.get("reply_markup")
        if message.get("text") == params["text"] and message.get("reply_markup") == markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["text"] = params["text"]
        self._set_markup(message, markup)
        self._notify("edited", message)
        return message

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise _ApiError(400, "Bad Request: message is not modified")
        self._set_markup(message, markup)
        self._notify("edited", message)
        return message

    @staticmethod
    def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise _ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        return True

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

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat = self.chat(int(params["chat_id"]))
        if chat.messages.pop(int(params["message_id"]), None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
