"""Telegram's HTML parse mode, as strictly as Telegram reads it: the fake Bot API answers
400 "can't parse entities" where Telegram would, and keeps the plain text and entities
Telegram would keep. So a name with `<` that reaches a message unescaped fails in the
tests as it fails in production."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'))?)*)\s*>"
)
_ATTRIBUTE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class ParseError(ValueError):
    """What Telegram says after "Bad Request: can't parse entities: "."""


@dataclass
class _Open:
    tag: str
    offset: int
    attributes: dict[str, str]


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse(markup: str) -> tuple[str, list[dict[str, Any]]]:
    """HTML -> (plain text, entities with UTF-16 offsets), or ParseError."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    position = 0
    while position < len(markup):
        char = markup[position]
        if char == "<":
            match = _TAG.match(markup, position)
            if match is None:
                raise ParseError(f"Unsupported start tag at byte offset {position}")
            closing, name, raw_attributes = match.group(1), match.group(2).lower(), match.group(3)
            if name not in TAGS:
                raise ParseError(f'Unsupported start tag "{name}" at byte offset {position}')
            offset = _utf16("".join(out))
            if closing:
                if not stack or stack[-1].tag != name:
                    raise ParseError(f"Unexpected end tag at byte offset {position}")
                opened = stack.pop()
                if offset > opened.offset:
                    entity: dict[str, Any] = {
                        "type": TAGS[name],
                        "offset": opened.offset,
                        "length": offset - opened.offset,
                    }
                    if name == "a":
                        entity["url"] = opened.attributes.get("href", "")
                    entities.append(entity)
            else:
                attributes = {
                    m.group(1).lower(): (m.group(2) or m.group(3) or "")
                    for m in _ATTRIBUTE.finditer(raw_attributes)
                }
                stack.append(_Open(name, offset, attributes))
            position = match.end()
        elif char == ">":
            raise ParseError(f"Unexpected end of tag at byte offset {position}")
        elif char == "&":
            match = _ENTITY.match(markup, position)
            if match is None:
                raise ParseError(f"Character entity expected at byte offset {position}")
            code = match.group(1)
            if code in _NAMED:
                out.append(_NAMED[code])
            else:
                number = int(code[2:], 16) if code.startswith("#x") else int(code[1:])
                out.append(chr(number))
            position = match.end()
        else:
            out.append(char)
            position += 1
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def spans(message: dict[str, Any], kind: str) -> list[str]:
    """The pieces of a message's text that carry an entity of this kind ("bold", ...)."""
    encoded = message.get("text", "").encode("utf-16-le")
    return [
        encoded[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.get("entities", [])
        if e["type"] == kind
    ]
