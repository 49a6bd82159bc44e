"""The one way a value enters an HTML message: `fill` quotes every text value it puts into
a template, so whatever a customer, an import or staff typed is shown as typed.

Templates are the catalogue's own (trusted) text; values are data. Numbers go in as they
are, so format specs such as {rate:.1f} keep working, and a fraction is written the way
the reader's language writes it ("4,5" in Russian); `Html` marks a value that is markup
this program built itself (another filled template), which is not quoted again.
"""

from __future__ import annotations

import string
from typing import Any

from aiogram import html
from aiogram.utils.i18n import I18n, gettext

from survey.texts import Said

# Languages that write a decimal comma.
_COMMA = frozenset({"ru"})


def _decimal_comma() -> bool:
    i18n = I18n.get_current(no_error=True)
    return i18n is None or i18n.current_locale in _COMMA


def decimal(value: float, digits: int = 1) -> str:
    """A number with `digits` decimals in the reader's language: 86,6 in Russian."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if _decimal_comma() else text


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        text: str = super().format_field(value, format_spec)
        if isinstance(value, float) and _decimal_comma():
            return text.replace(".", ",")
        return text


_FORMATTER = _Formatter()


class Html(str):
    """Markup built by the views (from `fill` or fixed tags): trusted, not quoted again."""

    __slots__ = ()


def quote(value: object) -> str:
    """One typed value on its own, ready for an HTML message."""
    if isinstance(value, Html):
        return value
    return html.quote(str(value))


def fill(template: str, **values: object) -> Html:
    """`template.format(**values)` with every value that is not a number quoted."""
    return Html(
        _FORMATTER.format(
            template,
            **{
                name: value if isinstance(value, int | float) else quote(value)
                for name, value in values.items()
            },
        )
    )


def bold(text: str) -> Html:
    return Html(f"<b>{quote(text)}</b>")


def spoken(words: Said) -> str:
    """What the domain said (survey.texts), in the reader's language, as plain text."""
    return words.render(gettext)
