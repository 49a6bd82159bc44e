import handlers  # noqa: F401  (first, as the bot does: aiogram's types built on demand)
