"""Auto-halt's decisions: when a route whose target keeps failing is halted, and what the merchant is told.

A route is halted after N consecutive failed attempts (no 2xx in between) that span at least T seconds.
Both conditions matter: N alone halts a busy route on a one-minute blip, T alone halts a quiet route on
its second failure. A failure of the egress proxy says nothing about the target: it neither counts nor
breaks a streak. Pure: ``storage.autohalt`` keeps the streaks in the route rows, in the transaction that
records the attempts, and halts the routes these functions pick.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hookline.core.models import DeliveryStatus, Outcome, Result, RouteState


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's defaults, for routes whose own settings are null. ``failures=0`` never halts."""

    failures: int = 20
    window_s: float = 3600.0

    def of_route(self, failures: int | None, window_s: float | None) -> Policy:
        """The policy of a route: its own settings where it has them, the operator's elsewhere."""
        return Policy(
            self.failures if failures is None else failures, self.window_s if window_s is None else window_s
        )


@dataclass(frozen=True, slots=True)
class Streak:
    """What one batch of results did to one route's run of failures, in the order the attempts ended.

    ``reset``: a success came in the batch, so the streak restarts from the failures after the last one.
    """

    route_id: str
    reset: bool
    failures: int
    first_at: float | None  # when the first of those failures started
    last_at: float | None  # when the last one ended
    last_error: str | None


def streaks(results: Sequence[Result]) -> list[Streak]:
    """Per route (sorted by id: the lock order), the effect of the batch on its failure streak."""
    by_route: defaultdict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_route[result.job.route_id].append(result)
    found = []
    for route_id in sorted(by_route):
        tail: list[Result] = []
        reset = False
        for result in sorted(by_route[route_id], key=_ended):
            if not result.outcome.about_target:
                continue  # the egress proxy failed, not the target: neither a failure nor a success of it
            if result.status == DeliveryStatus.SUCCESS:
                reset, tail = True, []
            else:
                tail.append(result)
        found.append(
            Streak(
                route_id,
                reset,
                len(tail),
                tail[0].outcome.started if tail else None,
                _ended(tail[-1]) if tail else None,
                describe(tail[-1].outcome) if tail else None,
            )
        )
    return found


def _ended(result: Result) -> float:
    return result.outcome.started + result.outcome.duration_ms / 1000


def describe(outcome: Outcome) -> str:
    """A failed attempt in a few words: ``HTTP 503``, or the sender's reason for no answer."""
    if outcome.status is not None and outcome.error_detail is None:
        return f"HTTP {outcome.status}"
    return outcome.error_detail or (outcome.error.value if outcome.error else "no 2xx answer")


def crossed(
    streak: Streak,
    policy: Policy,
    *,
    state: str,
    deleted: bool,
    failure_streak: int,
    failing_since: float | None,
) -> bool:
    """Whether the route halts now: this batch failed it, it is active and not deleted, and its streak
    (``failure_streak`` failures since ``failing_since``, this batch's counted) crossed its ``policy``."""
    if streak.failures == 0 or state != RouteState.ACTIVE or deleted:
        return False
    if policy.failures <= 0 or failure_streak < policy.failures:
        return False
    if failing_since is None or streak.last_at is None:
        return False
    return streak.last_at - failing_since >= policy.window_s


def reason(failure_streak: int, failing_since: float, last_error: str | None) -> str:
    """Why the route was halted, as its ``halted_reason`` and the notices say it."""
    return (
        f"{failure_streak} consecutive failed attempts since {_iso(failing_since)}; last error: {last_error}"
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
