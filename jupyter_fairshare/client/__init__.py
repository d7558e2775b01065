"""The one HTTP client of the pool's API, used by the kernel side, the server extension,
the command line, the demo and community nodes. It never pickles or unpickles anything.

    from jupyter_fairshare.client import Client, AsyncClient, Event, errors

``Client`` (blocking) and ``AsyncClient`` (for an event loop) share one base
(:mod:`.base`); requests travel through one :class:`~.transport.Transport` interface (httpx,
or :mod:`.loopback` for plain HTTP on this machine); :mod:`.sse` reads event streams.

The clients are imported on first use: the package root imports :mod:`.errors` for its
public error names, and the pool and the job processes on the workers import the package
root too, so they must not pay for httpx.
"""

from typing import TYPE_CHECKING

from . import errors

if TYPE_CHECKING:
    from .asynchronous import AsyncClient
    from .sse import Event
    from .sync import Client

__all__ = ["AsyncClient", "Client", "Event", "errors"]

_LAZY = {"AsyncClient": ".asynchronous", "Client": ".sync", "Event": ".sse"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'jupyter_fairshare.client' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
