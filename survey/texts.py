"""Sentences the domain says to people, kept translatable: the domain never picks a
language, it names the English message (the catalogue's key) and its values, and the
Telegram side or the command line says it in the reader's language.

`N_` only marks a string for the catalogue (the gettext "noop" idiom); tests/domain/
test_catalogues.py checks that every marked string has its Russian translation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class Said:
    """A message and its values; a value may itself be a Said (a translated name)."""

    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.render(lambda message: message)

    def render(self, translate: Callable[[str], str]) -> str:
        values = {
            name: value.render(translate) if isinstance(value, Said) else value
            for name, value in self.values.items()
        }
        return translate(self.message).format(**values)


def said(message: str, **values: Any) -> Said:
    return Said(message, values)
