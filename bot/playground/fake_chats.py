"""The fake Bot API's chats: messages, topics and files, and the methods that change them.

`FakeTelegram` (fake_api.py) serves these over HTTP; they keep what a test or `try`
looks at: every chat's messages as Telegram would show them.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.playground import fake_html


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    at: float
    # How the parameters came: the request's content type, "" in a webhook reply.
    sent_as: str = ""


@dataclass
class Chat:
    id: int
    type: str = "private"
    title: str | None = None
    # A private chat's person, as Telegram describes the chat (learnt from their messages).
    first_name: str | None = None
    username: str | None = None
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
        if self.first_name:
            described["first_name"] = self.first_name
        if self.username:
            described["username"] = self.username
        if self.is_forum:
            described["is_forum"] = True
        return described


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class TelegramMethods:
    """The Bot API methods that act on chats (`_api_<method>`), mixed into FakeTelegram."""

    bot_id: int
    bot_username: str
    chats: dict[int, Chat]
    files: dict[str, bytes]
    listeners: list[Callable[[str, dict[str, Any]], None]]
    # setMyCommands by (scope type, chat id, language code): the command names.
    menus: dict[tuple[str, int | None, str | None], list[str]]
    menu_buttons: dict[int | None, dict[str, Any]]

    def chat(self, chat_id: int) -> Chat:
        if chat_id not in self.chats:
            self.chats[chat_id] = Chat(chat_id, type="private" if chat_id > 0 else "group")
        return self.chats[chat_id]

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
        if chat.type == "private" and not sender.get("is_bot"):
            chat.first_name, chat.username = sender.get("first_name"), sender.get("username")
        message: dict[str, Any] = {
            "message_id": next(chat.ids),
            "date": int(time.time()),
            "chat": chat.as_dict(),
            "from": sender,
            **{key: value for key, value in content.items() if value is not None},
        }
        if thread_id is not None:
            if chat.is_forum and thread_id not in chat.topics:
                raise ApiError(400, "Bad Request: message thread not found")
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to is not None:
            original = chat.messages.get(reply_to)
            if original is None:
                raise ApiError(400, "Bad Request: message to be replied not found")
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
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _notify(self, event: str, message: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(event, message)

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    @staticmethod
    def _formatted(params: dict[str, Any], key: str) -> tuple[str | None, list[Any] | None]:
        """The text (or caption) as Telegram keeps it: parsed when parse_mode is HTML."""
        raw = params.get(key)
        if raw is None or params.get("parse_mode") != "HTML":
            return raw, None
        try:
            text, entities = fake_html.parse(raw)
        except fake_html.ParseError as error:
            raise ApiError(400, f"Bad Request: can't parse entities: {error}") from error
        return text, entities or None

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = self._formatted(params, "text")
        if not text or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        inline = markup if markup and "inline_keyboard" in markup else None
        message = self._new_message(
            int(params["chat_id"]),
            self._bot_user(),
            text=text,
            entities=entities,
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
            raise ApiError(400, "Bad Request: message to copy not found")
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
            raise ApiError(400, "Bad Request: invalid file_id")
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
        caption, caption_entities = self._formatted(params, "caption")
        self.files[file_id] = document["content"]
        message = self._new_message(
            int(params["chat_id"]),
            self._bot_user(),
            caption=caption,
            caption_entities=caption_entities,
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
        if not 2 <= len(params["media"]) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media specified (2-10)")
        for item in params["media"]:
            content = params[item["media"].removeprefix("attach://")]["content"]
            file_id = f"photo-{len(self.files) + 1}"
            self.files[file_id] = content
            message = self._new_message(
                int(params["chat_id"]),
                self._bot_user(),
                media_group_id=group,
                caption=item.get("caption"),
                photo=[
                    {"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 600}
                ],
            )
            self._notify("sent", message)
            sent.append(message)
        return sent

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params["photo"]
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = params[photo.removeprefix("attach://")]
        file_id = f"photo-{len(self.files) + 1}"
        self.files[file_id] = photo["content"]
        caption, caption_entities = self._formatted(params, "caption")
        message = self._new_message(
            int(params["chat_id"]),
            self._bot_user(),
            caption=caption,
            caption_entities=caption_entities,
            photo=[{"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 600}],
        )
        self._notify("sent", message)
        return message

    def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
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
            raise ApiError(400, "Bad Request: the chat is not a forum")
        thread_id = next(chat.ids)  # in Telegram a topic's id is its first message's id
        chat.topics[thread_id] = params["name"]
        return {"message_thread_id": thread_id, "name": params["name"], "icon_color": 7322096}

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        markup = params.get("reply_markup")
        text, entities = self._formatted(params, "text")
        if not text or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if (
            message.get("text") == text
            and message.get("entities") == entities
            and message.get("reply_markup") == markup
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["text"] = text
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        self._set_markup(message, markup)
        self._notify("edited", message)
        return message

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        markup = params.get("reply_markup")
        if message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
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
        self.menus[self._menu_key(params)] = [c["command"] for c in params["commands"]]
        return True

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self.menus.pop(self._menu_key(params), None)
        return True

    @staticmethod
    def _menu_key(params: dict[str, Any]) -> tuple[str, int | None, str | None]:
        scope = params.get("scope") or {"type": "default"}
        chat_id = scope.get("chat_id")
        language = params.get("language_code") or None
        return scope["type"], int(chat_id) if chat_id is not None else None, language

    def menu_for(self, chat_id: int, language: str | None, *, private: bool = True) -> list[str]:
        """The commands Telegram would show in this chat to someone with this app
        language (its documented order: the chat's own, then all private chats, then
        the default; each with the language first, then without)."""
        scopes: list[tuple[str, int | None]] = [("chat", chat_id)]
        if private:
            scopes.append(("all_private_chats", None))
        scopes.append(("default", None))
        for kind, chat in scopes:
            for lang in (language, None):
                if (kind, chat, lang) in self.menus:
                    return self.menus[(kind, chat, lang)]
        return []

    def _api_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        url = str(button.get("web_app", {}).get("url", ""))
        if button.get("type") == "web_app" and not url.startswith("https://"):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        chat_id = params.get("chat_id")
        self.menu_buttons[int(chat_id) if chat_id is not None else None] = button
        return True

    def _api_getChatMenuButton(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        key = int(chat_id) if chat_id is not None else None
        return self.menu_buttons.get(key) or self.menu_buttons.get(None) or {"type": "commands"}

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        return True

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat = self.chat(int(params["chat_id"]))
        if chat.messages.pop(int(params["message_id"]), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True
