"""The program's entry points as a person starts them: the console script, `python -m bot`,
and `try` playing the survey in a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_console_script_and_module_entry_point_agree() -> None:
    script = str(Path(sys.executable).parent / "followup-bot")
    for command in ([sys.executable, "-m", "bot", "--help"], [script, "--help"]):
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=ROOT, timeout=300
        )
        assert result.returncode == 0, result.stderr
        for sub in ("run", "migrate", "import-visits", "invite-links", "try"):
            assert sub in result.stdout


def test_try_walks_the_questionnaire_in_a_terminal(tmp_path: Path) -> None:
    # 1 = "Начать опрос"; then the first button of every question; a comment; "Нет, спасибо".
    script = "1\n" + "1\n" * 12 + "Всё хорошо\n" + "2\n"
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "try"],
        input=script,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Вопрос 1 из 12" in out
    assert "Вопрос 12 из 12" in out
    assert "[1] Ответили быстро" in out
    assert "Спасибо за ваши ответы!" in out
    assert "Stored in the database:" in out
    assert out.count("  Q") == 12
    assert "comment: Всё хорошо" in out
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "try must not leave a database behind by default"
