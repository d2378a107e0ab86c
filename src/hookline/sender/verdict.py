"""What an attempt makes of its delivery: succeeded, due again after the route's retry delay, or failed.

One rule for every way a delivery is attempted (the worker's HTTP and broker sends, a listener's forward).
"""

from __future__ import annotations

from dataclasses import replace

from hookline.core.models import DeliveryStatus, ErrorKind, Job, Outcome, Result
from hookline.core.retry import is_success, parse_retry_after


def decide(job: Job, outcome: Outcome, now: float, rand: float) -> Result:
    """``rand`` in [0, 1): the jitter of the retry delay."""
    # A 2xx whose body was cut short (error set) is not an acknowledgement: try again.
    if outcome.error is None and is_success(outcome.status):
        return Result(job, outcome, DeliveryStatus.SUCCESS, None, now)
    if outcome.error is ErrorKind.BLOCKED:
        # The guard refused the target's address: the operator's settings say no, and trying again in
        # a minute (60 times) cannot change that. Fail at once, saying so; a resend tries again.
        reason = f"configuration error, not retried: {outcome.error_detail}"
        return Result(job, replace(outcome, error_detail=reason), DeliveryStatus.FAILED, None, now)
    retry_after = parse_retry_after(outcome.response_headers.get("retry-after"))
    delay = job.retry.delay_after(job.budget_used + 1, rand, retry_after)
    if delay is None:
        return Result(job, outcome, DeliveryStatus.FAILED, None, now)
    return Result(job, outcome, DeliveryStatus.PENDING, now + delay, None)
