"""The house's rules, read from the source files' imports and calls (no code is run).

- survey/: the domain, pure: neither aiogram nor SQLAlchemy, nor any other room.
- storage/: persistence: no aiogram; it knows neither handlers/ nor bot/.
- handlers/: everything Telegram: no SQLAlchemy; it never imports bot/.
- bot/: runs the program; nothing imports it.
Also: only storage/ commits (its unit of work), routers build no keyboards (views do),
typed text is quoted only by handlers/views/text.py,
and no module is over 450 lines.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("survey", "storage", "handlers", "bot")
MAX_LINES = 450
# What each room may import of the third-party libraries the rules are about, and of
# the other rooms.
FORBIDDEN: dict[str, set[str]] = {
    "survey": {"aiogram", "sqlalchemy", "alembic", "storage", "handlers", "bot"},
    "storage": {"aiogram", "handlers", "bot"},
    "handlers": {"sqlalchemy", "alembic", "bot"},
    "bot": set(),
}
# Every typed value enters an HTML message through this module's fill()/quote().
QUOTING_HELPER = "handlers/views/text.py"
ROUTER_FOLDERS = ("handlers/customer", "handlers/staff", "handlers/admin")
KEYBOARD_BUILDERS = {
    "InlineKeyboardBuilder",
    "ReplyKeyboardBuilder",
    "InlineKeyboardMarkup",
    "ReplyKeyboardMarkup",
    "InlineKeyboardButton",
    "KeyboardButton",
}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}"


def sources(root: Path = ROOT) -> list[Path]:
    return sorted(
        path
        for room in ROOMS
        for path in (root / room).rglob("*.py")
        if "migrations/versions" not in path.as_posix()
    )


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(root: Path = ROOT) -> list[Finding]:
    findings: list[Finding] = []
    for path in sources(root):
        relative = path.relative_to(root).as_posix()
        room = relative.split("/", 1)[0]
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, relative)
        for line, module in imported_modules(tree):
            top = module.split(".", 1)[0]
            if top in FORBIDDEN[room]:
                findings.append(Finding(relative, line, f"{room}/ imports {module}"))
        if text.count("\n") > MAX_LINES:
            findings.append(Finding(relative, 1, f"{text.count(chr(10))} lines > {MAX_LINES}"))
        for node in ast.walk(tree):
            if (
                room != "storage"
                and isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
            ):
                findings.append(Finding(relative, node.lineno, "commits outside storage/"))
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "quote"
                and isinstance(node.value, ast.Name)
                and node.value.id == "html"
                and relative != QUOTING_HELPER
            ):
                findings.append(Finding(relative, node.lineno, "quotes outside the helper"))
            if (
                relative.startswith(ROUTER_FOLDERS)
                and isinstance(node, ast.Name)
                and node.id in KEYBOARD_BUILDERS
            ):
                findings.append(Finding(relative, node.lineno, f"router builds {node.id}"))
    return findings


def test_the_house_keeps_its_rules() -> None:
    found = violations()
    assert not found, "\n" + "\n".join(map(str, found))


@pytest.mark.parametrize(
    ("file", "code", "what"),
    [
        ("survey/bad.py", "from sqlalchemy import select\n", "survey/ imports sqlalchemy"),
        ("survey/bad.py", "import aiogram.types\n", "survey/ imports aiogram.types"),
        ("storage/bad.py", "from handlers.views import alerts\n", "storage/ imports handlers"),
        ("handlers/bad.py", "from bot.settings import Settings\n", "handlers/ imports bot"),
        ("handlers/bad.py", "async def f(db):\n    await db.commit()\n", "commits outside"),
        ("handlers/staff/bad.py", "InlineKeyboardBuilder()\n", "router builds"),
        ("bot/bad.py", "x = 1\n" * (MAX_LINES + 1), "lines >"),
        ("handlers/views/bad.py", "html.quote(name)\n", "quotes outside the helper"),
    ],
)
def test_a_violation_is_caught(tmp_path: Path, file: str, code: str, what: str) -> None:
    """The checker itself: each kind of violation planted in a copy of a room is reported."""
    for room in ROOMS:
        (tmp_path / room).mkdir()
    (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / file).write_text(code)
    assert any(what in str(finding) for finding in violations(tmp_path))
