"""Logging setup. Our own log lines carry ids only (no names, phones or comments); the
database driver's debug lines would print SQL parameters, so they are kept out.

An operator's log at INFO: one line when the bot starts (bot/commands/run.py), what
happens to updates and sends, warnings and errors. Periodic jobs log at DEBUG, and the
libraries below only when something is wrong (APScheduler would say two lines every
3 s, Alembic seven at each start, matplotlib nine per chart, aiogram two at start).
"""

from __future__ import annotations

import logging

# Their DEBUG and INFO records include SQL parameters: customer names, phones, comment texts.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg")


# Chatty at INFO about their routine work: heard only from WARNING up.
ROUTINE_LOGGERS = (
    "apscheduler",
    "alembic",
    "matplotlib",
    "PIL",
    "aiogram.dispatcher",
    "aiogram.event",
    "aiohttp.access",
)


def keep_personal_data_out() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def quiet_routine(quiet: bool = True) -> None:
    for name in ROUTINE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if quiet else logging.NOTSET)


def configure(level: int) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    keep_personal_data_out()
    # LOG_LEVEL=DEBUG shows everything but the SQL parameters.
    quiet_routine(level > logging.DEBUG)
