"""The Jupyter server extension: ``/fairshare/api/...`` for JupyterLab's sidebar.

Importing this package imports jupyter_server; the notebook side never does.
"""

from .extension import FairShare

__all__ = ["FairShare"]
