"""A demo pool for a newcomer's first hour: two sites, a few busy neighbours, and you.

``python -m jupyter_fairshare.demo`` (or :func:`ensure_demo`) starts a real pool with two
sites that differ in price and carbon intensity (``demo.toml``), creates a ``newcomer``
account for the person trying it and a few simulated research groups whose short jobs keep
the pool busy (:mod:`.load`), so queue positions, the newcomer reserve and the fair-share
order can be seen at once. The Binder ``start`` script and the demo notebooks use it.
"""

from __future__ import annotations

from .launch import (
    SIMULATED,
    USER,
    DemoAccount,
    demo_dir,
    ensure_demo,
    export_lines,
    running,
    stop_demo,
)

__all__ = ["SIMULATED", "USER", "DemoAccount", "demo_dir", "ensure_demo", "export_lines", "running", "stop_demo"]
