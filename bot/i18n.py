"""Bot texts from gettext catalogues in bot/locales, and choosing each person's language."""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy.exc import DBAPIError

from storage.uow import UnitOfWork
from survey.policy import LANGUAGES

LOCALES = Path(__file__).parent / "locales"
SUPPORTED = LANGUAGES


class CatalogI18n(I18n):
    """aiogram's I18n reading the .po sources directly.

    Compiling in memory at start keeps binary .mo files out of the repository and
    means an edited catalogue can never be shadowed by a stale compiled one.
    """

    @contextmanager
    def context(self) -> Generator[I18n, None, None]:
        # aiogram keeps one "current instance" variable per class, and gettext() looks up
        # I18n's: a subclass must set that one, not its own.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return {
            po_path.parent.parent.name: _compiled(po_path, po_path.stat().st_mtime_ns)
            for po_path in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po"))
        }


@functools.lru_cache(maxsize=16)
def _compiled(po_path: Path, _mtime_ns: int) -> gettext.GNUTranslations:
    """One catalogue compiled once per version of its file (a process that builds several
    dispatchers, like the tests, compiles each once)."""
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=po_path.parent.parent.name)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def create_i18n(default_locale: str = "ru") -> CatalogI18n:
    return CatalogI18n(path=LOCALES, default_locale=default_locale, domain="messages")


def language_from_telegram(language_code: str | None, default: str) -> str:
    if language_code:
        base = language_code.split("-")[0].lower()
        if base in SUPPORTED:
            return base
    return default


class LocaleMiddleware(I18nMiddleware):
    """The language a person chose with /language, else their Telegram app's language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return self.i18n.default_locale
        db: UnitOfWork | None = data.get("db")
        if db is not None:
            try:
                stored = await db.users.language(user.id)
            except (DBAPIError, OSError):
                stored = None  # the database is down: answer in the app's language anyway
            if stored:
                return stored
        return language_from_telegram(user.language_code, self.i18n.default_locale)
