"""Run a notebook locally and with ``%%fairshare`` on every cell, and compare them cell by cell.

The promise of ``%%fairshare`` is that it changes where a cell runs and nothing else, so the
instrument compares what a user sees and has: each code cell's stdout, stderr, the text/plain of
every result and display, the mime types of its rich output, its exception (name and value),
and a fingerprint of every user variable after it. Both runs go through nbclient in real
kernels. ``docs/notebook-fidelity.md`` describes the rules; ``tests/notebook/test_differential.py``
runs two short notebooks and ``benchmarks/bench_notebooks.py`` the whole corpus.

What differs between any two runs (unseeded randomness, timings, memory addresses) is excluded
by one rule, not by cell: the notebook is run locally at least twice, and a part of a cell (a
stream, a result, a variable) on which the local runs disagree is not compared. On top of that a
normaliser replaces memory addresses, so a repr that only differs by one still compares.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

CORPUS = Path(__file__).resolve().parent.parent / "data" / "notebooks"
MARK = "__fairshare_fingerprint__"
# Widget views are not compared: the job's progress panel is one, shown only while a job runs
# long, and a widget's state lives in the kernel, not in its output.
WIDGET = "application/vnd.jupyter.widget-view+json"

# Defines the fingerprint function in the kernel and notes the names present before the
# notebook's first cell; runs as a plain cell in both runs, never through %%fairshare.
SETUP = r'''
def __fairshare_fingerprint(ns=None, _skip=None):
    import hashlib, json, pickle, re, sys, types
    ns = get_ipython().user_ns
    skip = ns.setdefault("__fairshare_skip", set(ns))
    def digest(data):
        return hashlib.sha1(data).hexdigest()[:16]
    def fp(value):
        np = sys.modules.get("numpy")
        pd = sys.modules.get("pandas")
        if isinstance(value, types.ModuleType):
            return "module " + value.__name__
        if np is not None and isinstance(value, np.ndarray):
            flags = "writeable" if value.flags.writeable else "read-only"
            try:
                body = digest(pickle.dumps(value, protocol=4))
            except Exception:
                body = digest(repr(value).encode())
            return f"ndarray {value.dtype} {value.shape} {flags} {body}"
        if pd is not None and isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
            # pandas pickles carry caches that differ between equal objects; the full repr
            # with every row and column, and the dtypes, say what a user can see of it
            with pd.option_context("display.max_rows", None, "display.max_columns", None,
                                   "display.width", 10**6, "display.precision", 17):
                text = repr(value) + repr(getattr(value, "dtypes", getattr(value, "dtype", None)))
            return type(value).__name__ + " " + digest(text.encode())
        if isinstance(value, (types.FunctionType, type)):
            return type(value).__name__ + " " + getattr(value, "__qualname__", "?")
        try:
            text = repr(value)
        except Exception as exc:
            text = f"<repr failed: {type(exc).__name__}>"
        text = re.sub(r"0x[0-9a-fA-F]{6,}", "0x?", text)
        return type(value).__name__ + " " + digest(text.encode())
    out = {}
    for name, value in list(ns.items()):
        if name.startswith("_") or name in skip:
            continue
        out[name] = fp(value)
    print("MARK" + json.dumps(out, sort_keys=True))
__fairshare_fingerprint()
'''.replace("MARK", MARK)
FINGERPRINT = "__fairshare_fingerprint()"

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def normalise(text: str) -> str:
    """The one normaliser both runs go through: memory addresses and terminal colours."""
    return _ADDRESS.sub("0x?", _ANSI.sub("", text))


def is_magic_only(source: str) -> bool:
    """Whether a cell holds nothing but line magics, shell escapes, comments and blank lines.

    Such a cell configures the kernel itself (``%matplotlib inline``, ``%load``, ``!ls``) and
    is run as it is in both runs: sending it to a pool would change nothing in the kernel.
    """
    lines = [ln.strip() for ln in source.splitlines()]
    return all(not ln or ln[0] in "%!#" and not ln.startswith("%%") for ln in lines)


def remote_source(source: str, line: str) -> str | None:
    """The cell as the remote run sends it, or None when it runs as it is (empty, magics only).

    A cell that starts with another cell magic (``%%timeit``, ``%%capture``) is sent too: the
    body of ``%%fairshare`` is run in the job as IPython runs a cell, cell magics included.
    """
    if not source.strip() or is_magic_only(source):
        return None
    return f"%%fairshare {line}".rstrip() + "\n" + source


@dataclass
class CellResult:
    """What a user sees and has after one code cell, as comparable parts."""

    index: int
    source: str
    parts: dict[str, Any] = field(default_factory=dict)


def _parts(cell: Any, fingerprint: dict[str, str]) -> dict[str, Any]:
    parts: dict[str, Any] = {"stdout": "", "stderr": "", "texts": [], "kinds": [], "error": None}
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            parts[out["name"]] += normalise(out["text"])
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            if WIDGET in data:
                continue
            parts["texts"].append(normalise(data.get("text/plain", "")))
            parts["kinds"].append(sorted(data))
        elif kind == "error":
            parts["error"] = f"{out['ename']}: {normalise(out['evalue'])}"
    for name, value in fingerprint.items():
        parts[f"var {name}"] = value
    return parts


def run_notebook(path: Path, remote_line: str | None, env: dict[str, str], timeout: int = 300) -> list[CellResult]:
    """Run ``path``'s code cells in a fresh kernel, each followed by a hidden fingerprint cell.

    ``remote_line`` None runs it locally; otherwise ``%load_ext jupyter_fairshare`` goes in the
    setup cell and each cell is sent with ``%%fairshare <remote_line>`` (see ``remote_source``).
    The kernel's working directory is a fresh copy of the corpus directory, so files one run
    writes never reach another run.
    """
    source_nb = nbformat.read(path, as_version=4)
    cells = [c for c in source_nb.cells if c.cell_type == "code"]
    setup = ("%load_ext jupyter_fairshare\n" if remote_line is not None else "") + SETUP
    built = [nbformat.v4.new_code_cell(setup)]
    for cell in cells:
        text = cell.source
        if remote_line is not None:
            text = remote_source(cell.source, remote_line) or cell.source
        built += [nbformat.v4.new_code_cell(text), nbformat.v4.new_code_cell(FINGERPRINT)]
    notebook = nbformat.v4.new_notebook(cells=built, metadata=source_nb.metadata)
    with tempfile.TemporaryDirectory(prefix="fs-diff-") as tmp:
        work = Path(tmp) / "nb"
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("*.ipynb", "MANIFEST.json", "*.md"))
        saved = dict(os.environ)
        os.environ.update(env)  # the kernel inherits this process's environment
        try:
            NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(work)}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    results = []
    for i, cell in enumerate(cells):
        ran, after = notebook.cells[1 + 2 * i], notebook.cells[2 + 2 * i]
        fingerprint: dict[str, str] = {}
        for out in after.get("outputs", []):
            if out["output_type"] == "stream" and MARK in out["text"]:
                fingerprint = json.loads(out["text"].split(MARK, 1)[1].splitlines()[0])
        results.append(CellResult(i, cell.source, _parts(ran, fingerprint)))
    return results


@dataclass
class Comparison:
    """One notebook's cells compared: how many are identical, and what differs in the others."""

    notebook: str
    cells: int
    identical: int
    masked_parts: int
    differences: list[dict[str, Any]]
    seconds: dict[str, float]

    @property
    def share(self) -> float:
        return self.identical / self.cells if self.cells else 1.0


def compare(name: str, locals_: list[list[CellResult]], remote: list[CellResult],
            seconds: dict[str, float]) -> Comparison:
    """Cell by cell: a part counts only where the local runs all agree on it, and a variable
    counts in the cell that changed it (in either run), so one difference is counted once."""
    identical = masked = 0
    differences = []
    empty = CellResult(-1, "")
    first = locals_[0]
    for i, r in enumerate(remote):
        a = first[i]
        before_a, before_r = (first[i - 1], remote[i - 1]) if i else (empty, empty)
        keys = {key for key in set(a.parts) | set(r.parts) if not key.startswith("var ")
                or a.parts.get(key) != before_a.parts.get(key) or r.parts.get(key) != before_r.parts.get(key)}
        differ = {}
        for key in sorted(keys):
            if any(a.parts.get(key) != other[i].parts.get(key) for other in locals_[1:]):
                masked += 1
                continue
            if a.parts.get(key) != r.parts.get(key):
                differ[key] = {"local": a.parts.get(key), "remote": r.parts.get(key)}
        if differ:
            differences.append({"cell": a.index, "source": a.source[:200], "parts": differ})
        else:
            identical += 1
    return Comparison(name, len(first), identical, masked, differences, seconds)


def compare_notebook(path: Path, remote_line: str, env: dict[str, str], local_runs: int = 2) -> Comparison:
    """Run ``path`` ``local_runs`` times locally and once remotely (``env`` names the pool), and
    compare; more local runs catch more of what no run reproduces (``np.empty``'s contents)."""
    seconds = {"local": 0.0}
    runs = []
    for _ in range(local_runs):
        begun = time.perf_counter()
        runs.append(run_notebook(path, None, env))
        seconds["local"] += (time.perf_counter() - begun) / local_runs
    begun = time.perf_counter()
    remote = run_notebook(path, remote_line, env)
    seconds["fairshare"] = time.perf_counter() - begun
    return compare(path.name, runs, remote, seconds)


def kernel_env(url: str, token: str) -> dict[str, str]:
    """The environment both kernels get: the pool's address (unused locally), inline figures,
    and this checkout first on the path so the kernel loads the code under test."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {"FAIRSHARE_URL": url, "FAIRSHARE_TOKEN": token, "PYTHONPATH": path,
            "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONHASHSEED": "0"}


def summary(comparisons: list[Comparison]) -> str:
    """One line per notebook and a total, for a test's message or the benchmark's note."""
    lines = [f"{c.notebook}: {c.identical}/{c.cells} identical ({c.share:.1%}), {c.masked_parts} parts "
             f"excluded as differing between local runs" for c in comparisons]
    cells = sum(c.cells for c in comparisons)
    same = sum(c.identical for c in comparisons)
    lines.append(f"total: {same}/{cells} cells identical ({same / cells if cells else 1:.1%})")
    return "\n".join(lines)
