"""The one HTTP client of the pool's API, used by the kernel side, the server extension,
the command line, the demo and community nodes. It never pickles or unpickles anything.

    from jupyter_fairshare.client import Client, AsyncClient, Event, errors
"""

from . import errors
from .asynchronous import AsyncClient
from .sse import Event
from .sync import Client

__all__ = ["AsyncClient", "Client", "Event", "errors"]
