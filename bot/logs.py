"""Logging setup. Our own log lines carry ids only (no names, phones or comments); the
database driver's debug lines would print SQL parameters, so they are kept out."""

from __future__ import annotations

import logging

# Their DEBUG and INFO records include SQL parameters: customer names, phones, comment texts.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg")


def keep_personal_data_out() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    keep_personal_data_out()
