"""The sidebar's jest specs and type check, run with the Python suite so one command tests all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).parents[1] / "labextension"


def jlpm() -> str:
    found = shutil.which("jlpm", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if found is None:
        pytest.fail("jlpm is missing; install the test extra (pip install -e '.[test]'), which brings it.")
    if not (LABEXTENSION / "node_modules").is_dir():
        subprocess.run([found, "install"], cwd=LABEXTENSION, check=True, capture_output=True, timeout=600)
    return found


@pytest.mark.parametrize("script", ["test", "typecheck"])
def test_the_sidebar_specs_pass(script):
    result = subprocess.run([jlpm(), script], cwd=LABEXTENSION, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "CI": "true"})
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    if script == "test":
        assert "failed" not in result.stderr.split("Tests:")[-1].split("\n")[0]
        assert " passed" in result.stderr.split("Tests:")[-1].split("\n")[0]
