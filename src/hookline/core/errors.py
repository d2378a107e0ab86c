"""The one exception tree of hookline. Each class's docstring is its default message.

HooklineError
├── Invalid          the input breaks a rule (field problems in ``fields``)
├── NotFound         no such object for this merchant (a foreign id is missing too)
├── Conflict         the object exists with other content (idempotency, uniqueness)
├── Unauthorized     no key, or an unknown key
├── Forbidden        a valid key that may not do this
├── TooLarge         the request asks for more work than one request may take
├── TooManyRequests  the caller has used its share for now, or failed to authenticate too often;
│                    retry after ``retry_after`` seconds
└── Unavailable      a dependency (the database) cannot be reached; retry later
    ├── NotMigrated  the database's schema is older than this hookline (run ``hookline migrate``)
    └── StorageFull  the database's disk is full; retry once space is freed

``api/problems.py`` is the only place that maps these to HTTP statuses.
"""

from __future__ import annotations

import math


class HooklineError(Exception):
    """Something went wrong."""

    def __init__(self, detail: str | None = None, *, fields: dict[str, str] | None = None) -> None:
        self.detail = detail or (type(self).__doc__ or "").strip()
        self.fields = fields or {}
        super().__init__(self.detail)


class Invalid(HooklineError):
    """The request is not valid."""


class NotFound(HooklineError):
    """Not found."""


class Conflict(HooklineError):
    """The request conflicts with the current state."""


class Unauthorized(HooklineError):
    """A valid API key is required."""


class Forbidden(HooklineError):
    """This key may not do that."""


class TooLarge(HooklineError):
    """The request asks for more work than one request may take."""


class TooManyRequests(HooklineError):
    """Too much at once; retry later."""

    def __init__(
        self, detail: str | None = None, *, retry_after: float, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, fields=fields)
        self.retry_after = retry_after

    @property
    def retry_after_s(self) -> int:
        """Whole seconds to wait, as a ``Retry-After`` header says them (never 0: that would mean now)."""
        return max(1, math.ceil(self.retry_after))


class Unavailable(HooklineError):
    """The service is temporarily unavailable; retry later."""


class NotMigrated(Unavailable):
    """The database schema is not up to date; run ``hookline migrate``."""


class StorageFull(Unavailable):
    """The database's disk is full; retry later."""
