"""A small stand-in for the Telegram Bot API on 127.0.0.1, and a chat driver for it.

The tests and `followup-bot try` point the real bot at it through TELEGRAM_API_URL, so
the bot's own HTTP session, serialisation and error handling run exactly as in production.
"""

from bot.playground.chat import CONTENT_ANSWERS, CONTENT_WALK, ChatClient
from bot.playground.fake_api import FakeTelegram

__all__ = ["CONTENT_ANSWERS", "CONTENT_WALK", "ChatClient", "FakeTelegram"]
