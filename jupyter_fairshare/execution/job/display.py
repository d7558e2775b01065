"""Rich display inside a job process, in the form a notebook front end receives it.

Bundles are ``{"data": {mime: value}, "metadata": {...}}`` with binary values (PNG) as
base64 text, the form Jupyter's messaging uses, so the kernel side can publish them as is.
"""

from __future__ import annotations

import base64
import io
import sys
from typing import Any

__all__ = ["figure_bundles", "jsonable", "png_of_figure"]


def png_of_figure(fig: Any) -> bytes:
    """The PNG a notebook's inline backend shows for ``fig``."""
    out = io.BytesIO()
    fig.savefig(out, format="png", bbox_inches="tight")
    return out.getvalue()


def figure_bundles() -> list[dict[str, Any]]:
    """A PNG bundle per open matplotlib figure, which are then closed, as inline plots are
    at the end of a cell; nothing when the cell never imported pyplot."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    plt = sys.modules["matplotlib.pyplot"]
    bundles = []
    for number in plt.get_fignums():
        fig = plt.figure(number)
        png = base64.b64encode(png_of_figure(fig)).decode("ascii")
        bundles.append({"data": {"image/png": png, "text/plain": repr(fig)}, "metadata": {}})
    plt.close("all")
    return bundles


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with bytes values as base64 text, as Jupyter's messages carry them."""
    return {
        mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        for mime, value in data.items()
    }
