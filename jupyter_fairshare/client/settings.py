"""Where the pool is and which token to use, so a fresh install needs no configuration.

Each of the URL and the token is taken from the first place that has it: the arguments,
then ``FAIRSHARE_URL`` / ``FAIRSHARE_TOKEN``, then ``config.json`` in the user's
fairshare config directory (``{"url": ..., "token": ...}``). With no URL anywhere, the
embedded pool on localhost is started (or found running) and its URL and token are used.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_dir

from .errors import FairshareError

__all__ = ["Settings", "config_path", "read_config", "resolve"]

URL_ENV = "FAIRSHARE_URL"
TOKEN_ENV = "FAIRSHARE_TOKEN"


@dataclass(frozen=True)
class Settings:
    """A resolved pool address, its token and where the URL came from (for messages)."""

    url: str
    token: str | None
    source: str


def config_path() -> Path:
    """The user's config file; it may not exist."""
    return Path(user_config_dir("fairshare")) / "config.json"


def read_config(path: Path) -> dict[str, str]:
    """The string fields of the config file at ``path``; ``{}`` if there is none."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FairshareError(
            f"The fairshare config file {path} cannot be read ({exc}); fix it or remove it."
        ) from exc
    if not isinstance(data, dict):
        raise FairshareError(
            f"The fairshare config file {path} must hold a JSON object with 'url' and 'token'; fix it or remove it."
        )
    return {k: v for k, v in data.items() if isinstance(v, str)}


def resolve(url: str | None = None, token: str | None = None, *, start: bool = True) -> Settings:
    """Resolve the pool URL and token in the documented order; start the embedded pool last.

    With ``start=False`` (the command line's look at a pool) a running embedded pool is
    used but none is started: a shell command that only reads should not leave a pool behind.
    """
    config = read_config(config_path())
    sources = [
        ("argument", url, token),
        ("environment", os.environ.get(URL_ENV), os.environ.get(TOKEN_ENV)),
        (str(config_path()), config.get("url"), config.get("token")),
    ]
    found_url = next(((src, u) for src, u, _ in sources if u), None)
    found_token = next((t for _, _, t in sources if t), None)
    if found_url is not None:
        source, chosen = found_url
        return Settings(url=chosen.rstrip("/"), token=found_token, source=source)
    from ..embedded import ensure_running, running

    if not start:
        found = running()
        if found is None:
            raise FairshareError(
                "No pool is configured and no embedded pool runs on this machine; pass --url and --token, "
                f"set {URL_ENV} and {TOKEN_ENV}, or start one with `fairshare pool serve`."
            )
        return Settings(url=found[0].rstrip("/"), token=token or found[1], source="embedded")
    started = None
    if running() is None:  # the first use on this machine: say why the cell waits
        started = time.monotonic()
        print("fairshare: starting the embedded pool on this machine (first use; it keeps running "
              "for your other kernels)...", file=sys.stderr, flush=True)
    embedded_url, embedded_token = ensure_running()
    if started is not None:
        print(f"fairshare: embedded pool ready at {embedded_url} after {time.monotonic() - started:.1f} s.",
              file=sys.stderr, flush=True)
    # The embedded pool issues its own token; only an explicit argument overrides it.
    return Settings(url=embedded_url.rstrip("/"), token=token or embedded_token, source="embedded")
