"""Composition root: settings, wiring, middlewares and entry points of the Follow-up bot."""

import handlers  # noqa: F401  (first: aiogram's types are built on demand, see handlers/types_on_demand.py)
