"""Auto-halt's decisions: the streak a batch makes, when a route halts, and the words for why."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.core.autohalt_policy import Policy, Streak, crossed, describe, reason, streaks
from hookline.core.models import DeliveryStatus, ErrorKind, Job, Outcome, Result, RouteState
from hookline.core.retry import RetryPolicy

T0 = 1_700_000_000.0
DEFAULTS = Policy()


def result(route_id: str, started: float, *, ok: bool, error: ErrorKind | None = None) -> Result:
    job = Job("dlv", "evt", route_id, "tgt", "http://x", b"{}", 0, 0, (b"k",), 5.0, (), RetryPolicy())
    if error is not None:
        outcome = Outcome(started, 100.0, {}, error=error, error_detail="it broke")
    else:
        outcome = Outcome(
            started, 100.0, {}, status=200 if ok else 502, error=None if ok else ErrorKind.STATUS
        )
    status = DeliveryStatus.SUCCESS if ok else DeliveryStatus.PENDING
    return Result(job, outcome, status, None if ok else started + 1, started if ok else None)


def failing(failures: int = 1, last_at: float = T0 + 3600) -> Streak:
    return Streak("rte_a", False, failures, T0, last_at, "HTTP 502")


def halts(streak: Streak, policy: Policy = DEFAULTS, **route: Any) -> bool:
    standing: dict[str, Any] = {
        "state": RouteState.ACTIVE,
        "deleted": False,
        "failure_streak": 20,
        "failing_since": T0,
        **route,
    }
    return crossed(streak, policy, **standing)


class TestStreaks:
    def test_a_proxy_failure_neither_counts_nor_resets(self) -> None:
        (streak,) = streaks(
            [
                result("rte_a", 10.0, ok=False),
                result("rte_a", 20.0, ok=False, error=ErrorKind.PROXY),
                result("rte_a", 30.0, ok=False),
            ]
        )
        assert (streak.reset, streak.failures, streak.first_at, streak.last_at) == (False, 2, 10.0, 30.1)

    def test_routes_come_in_lock_order(self) -> None:
        found = streaks([result("rte_b", 1.0, ok=True), result("rte_a", 1.0, ok=True)])
        assert [s.route_id for s in found] == ["rte_a", "rte_b"]


class TestCrossed:
    def test_enough_failures_over_the_window_halt(self) -> None:
        assert halts(failing())

    def test_too_few_failures_do_not(self) -> None:
        assert not halts(failing(), failure_streak=19)

    def test_a_span_shorter_than_the_window_does_not(self) -> None:
        assert not halts(failing(last_at=T0 + 3599))

    def test_a_batch_without_failures_never_halts(self) -> None:
        assert not halts(Streak("rte_a", True, 0, None, None, None))

    @pytest.mark.parametrize("state", [RouteState.HALTED, RouteState.DISABLED])
    def test_only_an_active_route_halts(self, state: RouteState) -> None:
        assert not halts(failing(), state=state)

    def test_a_deleted_route_does_not_halt(self) -> None:
        assert not halts(failing(), deleted=True)

    def test_zero_failures_in_the_policy_never_halts(self) -> None:
        assert not halts(failing(), Policy(failures=0), failure_streak=10_000)

    def test_a_route_s_own_settings_win_over_the_operator_s(self) -> None:
        policy = Policy(failures=20, window_s=3600).of_route(3, 60.0)
        assert policy == Policy(3, 60.0)
        assert halts(failing(last_at=T0 + 60), policy, failure_streak=3)
        assert Policy(5, 10.0).of_route(None, None) == Policy(5, 10.0)


class TestWords:
    def test_a_status_is_named_by_its_code(self) -> None:
        assert describe(Outcome(T0, 1.0, {}, status=503)) == "HTTP 503"

    def test_no_answer_is_named_by_the_sender_s_reason(self) -> None:
        assert (
            describe(Outcome(T0, 1.0, {}, error=ErrorKind.TIMEOUT, error_detail="timed out")) == "timed out"
        )
        assert describe(Outcome(T0, 1.0, {}, error=ErrorKind.TIMEOUT)) == ErrorKind.TIMEOUT.value

    def test_the_reason_gives_the_count_the_start_and_the_last_error(self) -> None:
        assert reason(20, 0.0, "HTTP 502") == (
            "20 consecutive failed attempts since 1970-01-01T00:00:00Z; last error: HTTP 502"
        )
