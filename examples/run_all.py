"""Run every demo notebook top to bottom and fail on the first error.

    python examples/run_all.py [NOTEBOOK ...] [--out DIR]

Cells tagged ``raises-exception`` are expected to fail (they show an error on purpose);
any other error stops the run with the notebook, the cell and the error. Needs a pool in
``FAIRSHARE_URL``/``FAIRSHARE_TOKEN``: start the demo one with
``eval "$(python -m jupyter_fairshare.demo)"``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def run(path: Path, out: Path | None = None, timeout: float = 120.0) -> float:
    """Execute one notebook in its own directory; returns the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    started = time.monotonic()
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, out / path.name)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook beside this script")
    parser.add_argument("--out", type=Path, default=None, help="write the executed notebooks here")
    args = parser.parse_args(argv)
    for path in args.notebooks or sorted(HERE.glob("*.ipynb")):
        try:
            seconds = run(path, args.out)
        except CellExecutionError as exc:
            print(f"{path.name} failed:\n{exc}", file=sys.stderr)
            return 1
        print(f"{path.name}: ran in {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
