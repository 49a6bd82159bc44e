"""The one way a value enters an HTML message: `fill` quotes every text value it puts into
a template, so whatever a customer, an import or staff typed is shown as typed.

Templates are the catalogue's own (trusted) text; values are data. Numbers go in as they
are, so format specs such as {rate:.1f} keep working; `Html` marks a value that is markup
this program built itself (another filled template), which is not quoted again.
"""

from __future__ import annotations

from aiogram import html


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
        template.format(
            **{
                name: value if isinstance(value, int | float) else quote(value)
                for name, value in values.items()
            }
        )
    )


def bold(text: str) -> Html:
    return Html(f"<b>{quote(text)}</b>")
