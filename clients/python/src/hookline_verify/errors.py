"""What a failed verification raises."""

from __future__ import annotations


class VerificationError(Exception):
    """The webhook is not proven authentic: answer it with a 4xx and do not act on it.

    Hookline retries a delivery that got no 2xx, so a genuine webhook refused by mistake (a wrong key
    configured, a clock far off) arrives again once that is fixed.
    """


class KeyFetchError(VerificationError):
    """The JWKS document could not be fetched and no keys were cached: nothing to verify with.

    A subclass, so that a receiver may answer 503 instead of 4xx; either way hookline retries.
    """
