"""What can go wrong on the notebook side, as one hierarchy.

Every message is one sentence that says what happened and what to do; where the pool
answered, it is the pool's own ``detail`` sentence, so the kernel never paraphrases it
into something less exact.

    FairshareError
    ├── PoolUnreachable          no pool answers at the URL
    ├── BadToken                 the pool refused the token (401/403)
    ├── JobNotFound              no such job for this account (404)
    ├── BadRequest               the pool refused the request (400, 409, 422: e.g. no site fits, no result)
    ├── CreditsTooLow            not enough credits for the job's estimate (402)
    ├── PayloadTooLarge          the payload is over the pool's limit (413)
    ├── NotSerializable          a variable the cell reads cannot be pickled
    ├── PoolError                the pool failed (5xx) or answered something unexpected
    ├── JobFailed                the job ended without a result
    │   ├── MaxCostReached       stopped at its max cost, billed up to the cap
    │   ├── JobCancelled         cancelled, by the user or by an interrupt
    │   └── VersionMismatch      kernel and worker disagree on a package version
    ├── RemoteError              the remote code raised an exception that did not pickle
    └── WorkerLost               (a warning) a worker left; the job is re-queued and goes on

An error made from the pool's answer carries the pool's machine-readable ``code``
(``"no_site_fits"``, ``"no_result"``, ...) as ``code``, for callers that must tell apart
refusals that share a status.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "BadToken",
    "CreditsTooLow",
    "FairshareError",
    "JobCancelled",
    "JobFailed",
    "JobNotFound",
    "MaxCostReached",
    "NotSerializable",
    "PayloadTooLarge",
    "PoolError",
    "PoolUnreachable",
    "RemoteError",
    "RemoteTraceback",
    "VersionMismatch",
    "WorkerLost",
]


class FairshareError(Exception):
    """Base of every error the fairshare client raises.

    ``code`` is the pool's machine-readable reason (``"credits_too_low"``, ...) when the
    error comes from the pool's answer, else None.
    """

    code: str | None = None

    def _render_traceback_(self) -> list[str]:
        """IPython shows this error as ``Name: sentence`` on one line, with no traceback.

        These errors are the user's to act on (a pool to start, a token to fix), and their
        sentence says how; the frames of the magic, the client and httpx around it would
        only bury that sentence. ``traceback.print_exc()`` still shows them, for a bug report.
        """
        sentence = " ".join(line.strip() for line in str(self).splitlines() if line.strip())
        return [f"{type(self).__name__}: {sentence}"]


class PoolUnreachable(FairshareError):
    """No pool answered at ``url``; the message says how to start one."""

    def __init__(self, url: str, reason: str = "") -> None:
        self.url = url
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"No fairshare pool answers at {url}{why}; start one with `fairshare pool serve` "
            "or point FAIRSHARE_URL at a running pool."
        )


class BadToken(FairshareError):
    """The pool did not accept the token, or the token may not do this."""


class JobNotFound(FairshareError):
    """The job does not exist, or belongs to another account (the pool says 404 for both)."""


class BadRequest(FairshareError):
    """The pool refused the request's content, e.g. resources no site can offer."""


class CreditsTooLow(FairshareError):
    """The account's balance does not cover the job's estimated cost."""

    def __init__(self, message: str, estimate: float | None = None, balance: float | None = None) -> None:
        self.estimate = estimate
        self.balance = balance
        super().__init__(message)


class PayloadTooLarge(FairshareError):
    """The serialised cell or call is larger than the pool accepts."""

    def __init__(self, message: str, limit: int | None = None, size: int | None = None) -> None:
        self.limit = limit
        self.size = size
        super().__init__(message)


class NotSerializable(FairshareError):
    """A variable the cell reads cannot be pickled, so nothing was sent."""

    def __init__(self, name: str, type_name: str, reason: str = "") -> None:
        self.name = name
        self.type = type_name
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"Variable {name!r} of type {type_name} cannot be serialised{why}; recompute it "
            f"inside the cell or leave it out with --in."
        )


class PoolError(FairshareError):
    """The pool failed or answered in a way this client does not understand."""


class JobFailed(FairshareError):
    """The job ended without a result; ``job_id`` names it and the message says why."""

    def __init__(self, message: str, job_id: str = "") -> None:
        self.job_id = job_id
        super().__init__(message)


class MaxCostReached(JobFailed):
    """The job hit its max cost and was stopped; it is billed up to the cap."""


class JobCancelled(JobFailed):
    """The job was cancelled before it finished."""


class VersionMismatch(JobFailed):
    """A package the job needs has another version on the worker than in the kernel."""


class RemoteTraceback(Exception):
    """Carries the remote traceback text as the ``__cause__`` of a re-raised exception."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(text)

    def __str__(self) -> str:
        return self.text


class RemoteError(FairshareError):
    """The remote code raised an exception that could not come back as itself."""

    def __init__(self, error_type: str, error_message: str, traceback: list[str] | None = None) -> None:
        self.error_type = error_type
        self.error_message = error_message
        self.traceback = list(traceback or [])
        super().__init__(f"{error_type}: {error_message}")

    def _render_traceback_(self) -> list[str]:
        """IPython shows the remote traceback in place of this local one."""
        return _lines(self.traceback) or [str(self)]


class WorkerLost(FairshareError, UserWarning):
    """Issued as a warning: a worker left mid-run; the job is re-queued and not billed twice."""


def _lines(traceback: list[str]) -> list[str]:
    return [line.rstrip("\n") for chunk in traceback for line in chunk.splitlines()]
