"""jupyter-fairshare: compute as a public utility, one notebook cell away."""

from ._version import __version__

__all__ = ["__version__"]
