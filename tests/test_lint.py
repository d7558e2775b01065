"""The package and its tests pass the linter's rule set (``[tool.ruff]`` in ``pyproject.toml``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
LINTED = ["jupyter_fairshare", "tests"]


def test_the_package_and_the_tests_pass_the_linter():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-fix", "--output-format", "concise", *LINTED],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    hint = "ruff found problems; run `ruff check jupyter_fairshare tests` (or add --fix for the fixable ones):\n"
    assert result.returncode == 0, hint + result.stdout + result.stderr
