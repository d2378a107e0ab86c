"""The one exception tree of hookline. Each class's docstring is its default message.

HooklineError
├── Invalid          the input breaks a rule (field problems in ``fields``)
├── NotFound         no such object for this merchant (a foreign id is missing too)
├── Conflict         the object exists with other content (idempotency, uniqueness)
├── Unauthorized     no key, or an unknown key
├── Forbidden        a valid key that may not do this
├── Throttled        too many failed authentications from this client; retry after ``retry_after_s``
└── Unavailable      a dependency (the database) cannot be reached; retry later
    ├── NotMigrated  the database's schema is older than this hookline (run ``hookline migrate``)
    └── StorageFull  the database's disk is full; retry once space is freed

``api/problems.py`` is the only place that maps these to HTTP statuses.
"""

from __future__ import annotations


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


class Throttled(HooklineError):
    """Too many failed attempts from this address; try again later."""

    def __init__(self, detail: str | None = None, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Unavailable(HooklineError):
    """The service is temporarily unavailable; retry later."""


class NotMigrated(Unavailable):
    """The database schema is not up to date; run ``hookline migrate``."""


class StorageFull(Unavailable):
    """The database's disk is full; retry later."""
