"""Rich display capture inside a job process, as a notebook front end would receive it.

Bundles are ``{"data": {mime: value}, "metadata": {...}}`` with binary values (PNG) as
base64 text, the form Jupyter's messaging uses, so the kernel side can publish them as is.
"""

from __future__ import annotations

import base64
import functools
import io
import sys
from typing import Any

from IPython.core.formatters import DisplayFormatter


def _png_of_figure(fig: Any) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()


@functools.cache
def formatter() -> DisplayFormatter:
    """IPython's formatter, built once per process: building it costs about a millisecond of
    traitlets machinery, so the zygote builds it and every job process inherits it."""
    made = DisplayFormatter()
    # Without an inline backend IPython has no PNG formatter for figures; give it one
    # so that display(fig) shows the picture, not its repr.
    made.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", _png_of_figure)
    return made


class DisplayCapture:
    """Collects display bundles: ``display()`` calls, a cell's value, matplotlib figures."""

    def __init__(self) -> None:
        self.bundles: list[dict] = []

    def bundle(self, obj: Any) -> dict:
        """The MIME bundle IPython would show for ``obj``."""
        data, metadata = formatter().format(obj)
        return {"data": _jsonable(data), "metadata": metadata}

    def display(self, *objs: Any, raw: bool = False, metadata: dict | None = None, **_: Any) -> None:
        """Stands in for ``IPython.display.display`` in the job process."""
        for obj in objs:
            if raw:
                self.bundles.append({"data": _jsonable(dict(obj)), "metadata": metadata or {}})
            else:
                self.bundles.append(self.bundle(obj))

    def install(self) -> None:
        """Route every way a cell can reach ``display`` to this capture."""
        import IPython.core.display_functions as functions
        import IPython.display

        functions.display = self.display
        IPython.display.display = self.display

    def capture_figures(self) -> None:
        """Add a PNG bundle per open matplotlib figure, then close them (as inline plots do)."""
        if "matplotlib.pyplot" not in sys.modules:
            return
        plt = sys.modules["matplotlib.pyplot"]
        for number in plt.get_fignums():
            fig = plt.figure(number)
            png = _png_of_figure(fig)
            self.bundles.append(
                {
                    "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": repr(fig)},
                    "metadata": {},
                }
            )
        plt.close("all")


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {
        mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        for mime, value in data.items()
    }
