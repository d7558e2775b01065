"""The kernel's matplotlib settings, carried with a cell that draws.

A figure drawn on the pool must look like one drawn here: a style set with
``plt.style.use`` or an ``rcParams`` change lives in the kernel's matplotlib only, so a cell
that draws takes the settings that differ from matplotlib's defaults along (a few hundred
bytes). A cell that does not draw takes nothing, and costs nothing.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from typing import Any

from .capture import CellNames

__all__ = ["draws", "kernel_rc"]

_DRAWING = ("matplotlib", "seaborn", "pandas.plotting")
# Where figures go is the job's business, not a look the kernel chose.
_NOT_CARRIED = frozenset({"backend", "backend_fallback", "interactive"})


def draws(names: CellNames, namespace: Mapping[str, object], source: str) -> bool:
    """Whether the cell may draw: it imports matplotlib (or seaborn), reads a name bound to
    one of them or to a figure or axes, or calls a pandas ``.plot``/``.hist``."""
    if any(m == d or m.startswith(d + ".") for m in names.modules for d in _DRAWING):
        return True
    for name in names.reads:
        value = namespace.get(name)
        module = getattr(value, "__name__", "") if type(value).__name__ == "module" else type(value).__module__
        if isinstance(module, str) and module.split(".")[0] in ("matplotlib", "seaborn"):
            return True
    return ".plot(" in source or ".plot." in source or ".hist(" in source


def kernel_rc() -> dict[str, Any] | None:
    """The kernel's matplotlib settings that differ from the defaults; None without matplotlib."""
    mpl = sys.modules.get("matplotlib")
    if mpl is None or not hasattr(mpl, "rcParamsDefault"):
        return None
    defaults = mpl.rcParamsDefault
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            key: value
            for key, value in dict.items(mpl.rcParams)
            if key not in _NOT_CARRIED and dict.get(defaults, key) != value
        }
