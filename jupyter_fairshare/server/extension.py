"""The Jupyter server extension: configuration, start-up and shut-down.

``FairShare`` is the traitlets class users configure (``c.FairShare.pool_url`` and
``c.FairShare.token`` in ``jupyter_server_config.py``); it owns one
:class:`~jupyter_fairshare.server.manager.FairShareManager` and registers the handlers.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Integer, Unicode

from .handlers import default_handlers
from .manager import FairShareManager

__all__ = ["FairShare"]


class FairShare(ExtensionApp):
    """Serves the pool to JupyterLab's sidebar; starts the embedded pool where none is configured."""

    name = "jupyter_fairshare"
    description = __doc__
    load_other_extensions = True

    pool_url = Unicode(
        "",
        config=True,
        help="URL of the fair-share pool; empty means FAIRSHARE_URL, the fairshare config file, "
        "or the embedded pool.",
    )
    token = Unicode(
        "",
        config=True,
        help="Token of the pool account this server acts for; empty means FAIRSHARE_TOKEN. "
        "It is never sent to the browser.",
    )
    embedded = Bool(
        True,
        config=True,
        help="Where no pool is configured, start (or reuse) an embedded pool on localhost in the "
        "background, so a fresh install works without configuration.",
    )
    embedded_workers = Integer(
        None,
        allow_none=True,
        config=True,
        help="Local Dask workers of the embedded pool; None lets the pool choose.",
    )

    manager: FairShareManager | None = None

    def initialize_settings(self) -> None:
        """Create the manager and pick the pool; the embedded pool starts without blocking."""
        self.manager = FairShareManager(
            self.pool_url,
            self.token,
            embedded=self.embedded,
            embedded_workers=self.embedded_workers,
            data_dir=Path(self.data_dir) / "fairshare",
            log=self.log,
        )
        self.manager.start()
        self.settings["fairshare_manager"] = self.manager

    def initialize_handlers(self) -> None:
        """Register the ``/fairshare/api/...`` handlers (base_url is prefixed by ExtensionApp)."""
        self.handlers.extend(default_handlers)

    async def stop_extension(self) -> None:
        """Stop the embedded pool if this server started it, and restore the environment."""
        if self.manager is not None:
            await self.manager.stop()
