"""The kernel side: the Python API, the magics, cell capture, the Dask scheduler and the views.

It reaches the pool only through :mod:`jupyter_fairshare.client` and imports nothing of
:mod:`jupyter_fairshare.pool`.
"""
