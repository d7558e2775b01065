"""The typed parts pass mypy in strict mode, and the package tells its users it is typed.

The files mypy checks are listed once, in ``[tool.mypy] files`` of ``pyproject.toml``, so
``python -m mypy`` run by hand from the repository root checks exactly what this test does.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_package_ships_a_py_typed_marker():
    assert (ROOT / "jupyter_fairshare" / "py.typed").is_file()
    # The wheel ships the package directory whole, marker included.
    assert CONFIG["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["jupyter_fairshare"]


def test_strict_typing_covers_the_pool_the_client_and_the_protocol():
    mypy = CONFIG["tool"]["mypy"]
    assert mypy["strict"] is True
    for path in ("jupyter_fairshare/pool", "jupyter_fairshare/client", "jupyter_fairshare/protocol.py"):
        assert path in mypy["files"], f"{path} is missing from [tool.mypy] files in pyproject.toml"
    for path in mypy["files"]:
        assert (ROOT / path).exists(), f"[tool.mypy] files lists {path}, which does not exist"


def test_the_typed_parts_pass_mypy_in_strict_mode():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    hint = "mypy found type errors; run `python -m mypy` from the repository root to see them:\n"
    assert result.returncode == 0, hint + result.stdout + result.stderr
