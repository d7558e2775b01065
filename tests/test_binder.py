"""The Binder build, replayed without Docker: a fresh venv, the repository's binder/ scripts,
and every demo notebook run top to bottom against the demo pool that ``binder/start`` starts.

repo2docker does, in order: install ``binder/requirements.txt``, run ``binder/postBuild``
from the repository root, and at launch run ``binder/start`` with the notebook server's
command as its arguments. Here the command is the notebook runner, so a notebook that
fails on Binder fails here. pip may take wheels from its cache; nothing else is shared with
the development venv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _copy_repository(dest: Path) -> None:
    """Copy what a clone would hold: tracked files and new ones not ignored (no .venv, no node_modules)."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _run(command: list[str], cwd: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.timeout(1200)
def test_the_binder_build_runs_every_demo_notebook(tmp_path):
    repo = tmp_path / "repo"
    _copy_repository(repo)
    for script in ("postBuild", "start"):
        assert os.access(repo / "binder" / script, os.X_OK), f"binder/{script} must be executable"
    assert (repo / "binder" / "start").read_text().rstrip().endswith('exec "$@"')

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRSHARE_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               FAIRSHARE_DEMO_DIR=str(tmp_path / "demo"), FAIRSHARE_DATA_DIR=str(tmp_path / "data"),
               HOME=str(tmp_path / "home"), FAIRSHARE_DEMO_MINUTES="10")
    (tmp_path / "home").mkdir()
    # Keep pip's wheel cache: a fresh HOME would otherwise download everything again.
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")

    _run(["pip", "install", "-q", "-r", "binder/requirements.txt"], repo, env, 600)
    _run(["binder/postBuild"], repo, env, 900)
    python = str(venv / "bin" / "python")
    check = _run([python, "-c", "import jupyter_fairshare, sys; print(jupyter_fairshare.__file__)"], tmp_path, env, 60)
    assert str(venv) in check.stdout, "postBuild must install the package into the environment, not use the source tree"

    try:
        result = _run(["binder/start", python, "examples/run_all.py"], repo, env, 600)
    finally:
        subprocess.run([python, "-m", "jupyter_fairshare.demo", "stop"], cwd=tmp_path, env=env, timeout=120,
                       check=False)
    notebooks = sorted(p.name for p in (repo / "examples").glob("*.ipynb"))
    assert len(notebooks) >= 8
    for name in notebooks:
        assert f"{name}: ran in" in result.stdout
