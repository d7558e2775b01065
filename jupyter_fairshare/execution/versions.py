"""Comparing the versions a payload was packed with against the ones that will unpack it.

A different Python minor version or cloudpickle major version can make unpickling fail or,
worse, misbehave, so the job is refused with a sentence that names both sides. A different
version of a module the payload uses usually works, so it is only a warning.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from jupyter_fairshare.wire import runtime_versions

_RUNTIME = ("python", "cloudpickle")


def runtime_mismatch(packed: Mapping[str, str]) -> str | None:
    """One sentence explaining why this payload cannot be unpacked here, or None if it can."""
    here = runtime_versions()
    py, cp = packed.get("python", here["python"]), packed.get("cloudpickle", here["cloudpickle"])
    if py == here["python"] and cp.split(".")[0] == here["cloudpickle"].split(".")[0]:
        return None
    return (
        f"This job was packed with Python {py} and cloudpickle {cp} but the worker runs "
        f"Python {here['python']} and cloudpickle {here['cloudpickle']}; run your kernel with "
        f"the worker's Python and cloudpickle versions (or choose a site that matches yours) and submit it again."
    )


def module_warnings(packed: Mapping[str, str]) -> list[str]:
    """Warning lines for modules whose version here differs from the packing side's."""
    lines = []
    for name, version in sorted(packed.items()):
        if name in _RUNTIME:
            continue
        try:
            here = getattr(importlib.import_module(name), "__version__", None)
        except ImportError:
            lines.append(
                f"fairshare warning: module {name} {version} is used by this job but is not "
                f"installed on the worker; install it there or expect an import error."
            )
            continue
        if isinstance(here, str) and here != version:
            lines.append(
                f"fairshare warning: module {name} is {version} in your kernel but {here} on "
                f"the worker; results may differ, align the versions if they do."
            )
    return lines
