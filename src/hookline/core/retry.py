"""When to try a delivery again.

Ordergroove's current policy is the default: first retry after about a minute, doubling, at most ten minutes
between attempts, at most 60 attempts (about 9.5 hours). Jitter spreads the retries of a burst that failed
together, so a recovering receiver is not hit by all of them in the same second. A receiver's
``Retry-After`` is honoured but clamped, so a hostile or buggy value can neither hammer it nor park a
delivery for days.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRY_AFTER_MIN_S = 1.0
RETRY_AFTER_MAX_S = 3600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_interval_s: float = 60.0
    max_interval_s: float = 600.0
    max_attempts: int = 60
    jitter: float = 0.2  # the delay is scaled by a factor in [1 - jitter/2, 1 + jitter/2]

    def delay_after(self, attempts: int, rand: float, retry_after_s: float | None = None) -> float | None:
        """Seconds to wait after attempt number ``attempts`` failed, or None when the budget is spent.

        Args:
            attempts: attempts made so far, counting the one that just failed (1 for the first).
            rand: a number in [0, 1), the caller's randomness (the core has none of its own).
            retry_after_s: the receiver's ``Retry-After``, if it sent one.
        """
        if attempts >= self.max_attempts:
            return None
        if retry_after_s is not None:
            return min(max(retry_after_s, RETRY_AFTER_MIN_S), RETRY_AFTER_MAX_S)
        # The exponent is bounded: 2.0 ** 1024 overflows, and 2 ** 64 is beyond any cap already.
        base = min(self.initial_interval_s * 2.0 ** min(attempts - 1, 64), self.max_interval_s)
        return base * (1.0 - self.jitter / 2 + self.jitter * rand)


def is_success(status: int | None) -> bool:
    """Any 2xx acknowledges the delivery; everything else (and no answer) is a failed attempt."""
    return status is not None and 200 <= status < 300


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; HTTP dates and junk are ignored."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
