"""What the pool refuses, as one tree; ``http/app.py`` maps it to HTTP in one place.

::

    Refused                   the pool will not do what was asked (the message says what to do)
    ├── Unauthorized          no token, or one this pool does not know        401 unauthorized
    ├── Forbidden             a valid token without the role it needs          403 forbidden
    ├── NotFound              no such job or account for this caller           404 not_found
    ├── Conflict              the request clashes with what exists             409 conflict
    │   └── NoResult          the job has no result (yet, or ever)             409 no_result
    ├── Invalid               malformed metadata or parameters                 422 invalid
    │   └── NoSiteFits        no worker can hold the resources asked for       422 no_site_fits
    ├── CreditsTooLow         the max cost is above the balance                402 credits_too_low
    └── PayloadTooLarge       the payload is above the pool's limit            413 payload_too_large

The managers raise these without knowing about HTTP, so a test or the command line gets
the same errors as a request. ``WorkerError`` and ``WorkerLost`` are not refusals but the
dispatcher's (``pool/dispatcher.py``): the pool's own worker-side code failed on a job, or
the worker went away.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A request the pool refuses; ``code`` is machine-readable, the message says what to do."""

    code = "refused"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class Unauthorized(Refused):
    code = "unauthorized"


class Forbidden(Refused):
    code = "forbidden"


class NotFound(Refused):
    code = "not_found"


class Conflict(Refused):
    code = "conflict"


class NoResult(Conflict):
    code = "no_result"


class Invalid(Refused):
    code = "invalid"


class NoSiteFits(Invalid):
    code = "no_site_fits"


class CreditsTooLow(Refused):
    code = "credits_too_low"


class PayloadTooLarge(Refused):
    code = "payload_too_large"
