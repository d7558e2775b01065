"""A job's result blob turned back into its value here: unpacked, its warnings issued again,
its exception raised as the remote code raised it.

Kept apart from :mod:`.job`, which follows a job, because this is what a kernel does with a
result whichever way it arrived (fetched, inline with an answer, or with the final event).
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from typing import Any

from .. import wire
from ..client import errors

__all__ = ["load_outcome", "reissue", "remote_exception", "unwrap", "version_here"]


def load_outcome(job_id: str, blob: bytearray) -> wire.Outcome:
    """Unpickle over mutable memory, so returned arrays are writable views into ``blob``, not copies."""
    try:
        outcome = wire.loads(memoryview(blob))
    except Exception as exc:  # unpickling raises anything the result's classes raise
        raise errors.VersionMismatch(_unpack_failure(job_id, blob, exc), job_id) from exc
    if not isinstance(outcome, wire.Outcome):
        raise errors.PoolError(f"Job {job_id} returned a {type(outcome).__name__}, not a result; update the worker.")
    if not outcome.ok and outcome.error_type == "VersionMismatch":
        raise errors.VersionMismatch(outcome.error_message, job_id)
    return outcome


def _unpack_failure(job_id: str, blob: bytearray, exc: Exception) -> str:
    """Why a result does not unpack here, naming the worker's and this kernel's version of
    each package the result's header names with another version than here."""
    try:
        theirs: dict[str, str] = wire.header(memoryview(blob)).get("versions", {})
    except ValueError:
        theirs = {}
    ours = wire.runtime_versions()
    differ = []
    for name, version in sorted(theirs.items()):
        here = ours.get(name) or version_here(name)
        if here != version:
            differ.append(f"{name} {version} on the worker but {here or 'not installed'} in this kernel")
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        if top not in theirs:
            differ.append(f"{top} {version_here(top) or 'not installed'} in this kernel, another on the worker")
    versions = "; ".join(differ) if differ else "the worker's packages differ from this kernel's"
    return (f"The result of job {job_id} cannot be unpacked in this kernel ({type(exc).__name__}: {exc}): "
            f"{versions}; install the worker's versions here, or this kernel's on the pool, and run it again.")


def version_here(name: str) -> str | None:
    """This kernel's version of package ``name``: its ``__version__`` if loaded, else its installed one."""
    module = sys.modules.get(name)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None


def remote_exception(outcome: wire.Outcome, job_id: str) -> BaseException:
    """The exception to raise locally for a failed outcome, carrying the remote traceback."""
    text = "\n".join(outcome.traceback)
    exc = outcome.exception
    if exc is None:
        return errors.RemoteError(outcome.error_type, outcome.error_message, outcome.traceback)
    exc.__cause__ = errors.RemoteTraceback(f"\nRemote traceback (job {job_id}):\n{text}")
    return exc


def reissue(outcome: wire.Outcome) -> None:
    """Issue the job's warnings here, as the remote code issued them, so the caller's filters,
    ``pytest.warns`` and ``warnings.catch_warnings`` see them as from a local run."""
    for caught in getattr(outcome, "warnings", None) or ():  # an older worker's outcome has none
        category = caught.get("category")
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = UserWarning
        warnings.warn_explicit(str(caught.get("message", "")), category,
                               str(caught.get("filename", "<remote>")), int(caught.get("lineno") or 0))


def unwrap(outcome: wire.Outcome, job_id: str) -> Any:
    """The outcome's value, or its exception raised."""
    if outcome.ok:
        return outcome.value
    raise remote_exception(outcome, job_id)
