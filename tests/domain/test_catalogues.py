"""Every text the bot can show exists in Russian; the English catalogue is well-formed."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, create_i18n

ROOT = Path(__file__).resolve().parents[2]


def source_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "storage", "survey"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords={"_": None, "N_": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_has_a_russian_translation() -> None:
    with (LOCALES / "ru/LC_MESSAGES/messages.po").open("rb") as source:
        catalog = read_po(source)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = source_messages() - translated
    assert not missing, f"add to ru/messages.po: {sorted(missing)}"
    assert len(source_messages()) > 40


def test_placeholders_survive_translation() -> None:
    with (LOCALES / "ru/LC_MESSAGES/messages.po").open("rb") as source:
        catalog = read_po(source)
    import re

    for message in catalog:
        if message.id and message.string:
            names = set(re.findall(r"\{(\w+)\}", str(message.id)))
            assert names == set(re.findall(r"\{(\w+)\}", str(message.string))), message.id


def test_catalogues_load_without_compiled_files() -> None:
    i18n = create_i18n()
    assert set(i18n.available_locales) == {"ru", "en"}
    assert i18n.gettext("Start the survey", locale="ru") == "Начать опрос"
    assert i18n.gettext("Start the survey", locale="en") == "Start the survey"
