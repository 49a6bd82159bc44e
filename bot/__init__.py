"""Composition root: settings, wiring, middlewares and entry points of the Follow-up bot."""
