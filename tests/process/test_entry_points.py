"""The program's entry points as a person starts them: the console script, `python -m bot`,
and `try` playing the survey in a terminal."""

from __future__ import annotations

import os
import re
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
    # a = "Начать опрос"; the first (good) button of Q1-Q10; "2" typed on Q11 is the rating
    # 2 (a problem: the manager's alert appears); "e" = 5 on Q12; a comment with markup;
    # an empty line (not the end); "a" = call me; "a" = today. It ends by itself.
    script = "a\n" + "a\n" * 10 + "2\ne\n<b>Всё</b> хорошо & ладно\n\na\na\n"
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
    assert "[a] Ответили быстро" in out
    assert "Вопрос 12 из 12" in out
    assert "Дружелюбие мастера-консультанта: 2 из 5" in out  # the typed digit was a rating
    assert "что получает менеджер клиентской службы:" in out
    assert "Когда вам удобно" in out  # the call-time step after the last answer
    assert "Сохранено в базе:" in out
    assert len(re.findall(r"^ +\d+\. ", out, flags=re.MULTILINE)) == 12
    assert "Комментарий: <b>Всё</b> хорошо & ладно" in out  # as typed, never escaped
    assert "&lt;" not in out
    assert "&amp;" not in out
    assert "Можно позвонить: да" in out
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "try must not leave a database behind by default"
