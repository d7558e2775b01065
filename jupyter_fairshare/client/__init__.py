"""The one HTTP client of the pool's API, used by the kernel side, the server extension,
the command line, the demo and community nodes. It never pickles or unpickles anything."""

from .client import Client, Event, parse_events, raise_for_response

__all__ = ["Client", "Event", "parse_events", "raise_for_response"]
