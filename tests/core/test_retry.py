"""The retry policy: Ordergroove's current schedule (the README's "Delivery" section) with jitter."""

from __future__ import annotations

import math

import pytest

from hookline.core import retry
from hookline.core.retry import RetryPolicy

DEFAULT = RetryPolicy()


def delay(policy: RetryPolicy, attempts: int, rand: float, retry_after_s: float | None = None) -> float:
    value = policy.delay_after(attempts, rand, retry_after_s)
    assert value is not None
    return value


class TestSchedule:
    def test_defaults_are_ordergrooves(self) -> None:
        assert DEFAULT.initial_interval_s == 60.0
        assert DEFAULT.max_interval_s == 600.0
        assert DEFAULT.max_attempts == 60
        assert DEFAULT.jitter == 0.2

    @pytest.mark.parametrize(
        ("attempts", "base"),
        [(1, 60.0), (2, 120.0), (3, 240.0), (4, 480.0), (5, 600.0), (6, 600.0), (30, 600.0), (59, 600.0)],
    )
    def test_half_rand_gives_the_exact_base(self, attempts: int, base: float) -> None:
        assert delay(DEFAULT, attempts, 0.5) == pytest.approx(base, abs=1e-9)

    @pytest.mark.parametrize(
        ("attempts", "base"), [(1, 60.0), (2, 120.0), (3, 240.0), (4, 480.0), (5, 600.0), (59, 600.0)]
    )
    @pytest.mark.parametrize("rand", [0.0, 0.001, 0.25, 0.5, 0.75, 0.999999])
    def test_jitter_within_ten_percent(self, attempts: int, base: float, rand: float) -> None:
        assert 0.9 * base - 1e-9 <= delay(DEFAULT, attempts, rand) < 1.1 * base

    def test_jitter_bounds_are_reached(self) -> None:
        assert delay(DEFAULT, 1, 0.0) == pytest.approx(54.0)
        assert delay(DEFAULT, 1, 1.0 - 1e-12) == pytest.approx(66.0)
        assert delay(DEFAULT, 10, 0.0) == pytest.approx(540.0)
        assert delay(DEFAULT, 10, 1.0 - 1e-12) == pytest.approx(660.0)

    def test_jitter_is_monotonic_in_rand(self) -> None:
        values = [delay(DEFAULT, 3, r / 100) for r in range(100)]
        assert values == sorted(values)
        assert len(set(values)) == 100

    def test_no_jitter(self) -> None:
        policy = RetryPolicy(jitter=0.0)
        assert [delay(policy, n, 0.0) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
        assert delay(policy, 3, 0.99) == 240

    def test_non_decreasing_with_half_rand(self) -> None:
        values = [delay(DEFAULT, n, 0.5) for n in range(1, 60)]
        assert values == sorted(values)

    @pytest.mark.parametrize("attempts", [60, 61, 100, 10_000])
    def test_none_when_the_budget_is_spent(self, attempts: int) -> None:
        assert DEFAULT.delay_after(attempts, 0.5) is None
        assert DEFAULT.delay_after(attempts, 0.5, retry_after_s=10.0) is None

    def test_last_retry_is_after_attempt_59(self) -> None:
        assert DEFAULT.delay_after(59, 0.5) is not None
        assert DEFAULT.delay_after(60, 0.5) is None

    def test_total_schedule_is_nine_to_ten_hours(self) -> None:
        total = sum(delay(DEFAULT, n, 0.5) for n in range(1, 60))
        assert total == pytest.approx(60 + 120 + 240 + 480 + 55 * 600)
        assert 9 * 3600 <= total <= 10 * 3600

    def test_total_schedule_with_jitter_extremes_stays_close(self) -> None:
        low = sum(delay(DEFAULT, n, 0.0) for n in range(1, 60))
        high = sum(delay(DEFAULT, n, 0.999999) for n in range(1, 60))
        assert low == pytest.approx(0.9 * 33900)
        assert high == pytest.approx(1.1 * 33900, rel=1e-5)

    def test_custom_policy(self) -> None:
        policy = RetryPolicy(initial_interval_s=10, max_interval_s=35, max_attempts=4, jitter=0.0)
        assert [policy.delay_after(n, 0.3) for n in range(1, 6)] == [10, 20, 35, None, None]

    def test_single_attempt_policy_never_retries(self) -> None:
        assert RetryPolicy(max_attempts=1).delay_after(1, 0.5) is None

    @pytest.mark.parametrize("attempts", [1024, 1025, 1100, 5000, 99_999])
    def test_huge_attempt_counts_stay_capped(self, attempts: int) -> None:
        # A generous per-route budget must not overflow the float exponent.
        policy = RetryPolicy(max_attempts=100_000)
        assert delay(policy, attempts, 0.5) == pytest.approx(600.0)
        assert math.isfinite(delay(policy, attempts, 0.999))

    def test_policy_is_immutable_and_hashable(self) -> None:
        with pytest.raises(AttributeError):
            DEFAULT.max_attempts = 3  # type: ignore[misc]
        assert hash(RetryPolicy()) == hash(DEFAULT)
        assert RetryPolicy() == DEFAULT


class TestRetryAfter:
    @pytest.mark.parametrize("seconds", [1.0, 5.0, 30.0, 90.5, 3599.0, 3600.0])
    def test_honoured_within_bounds(self, seconds: float) -> None:
        assert delay(DEFAULT, 1, 0.5, seconds) == seconds
        assert delay(DEFAULT, 20, 0.0, seconds) == seconds

    def test_not_jittered(self) -> None:
        assert {delay(DEFAULT, 3, r, 42.0) for r in (0.0, 0.5, 0.99)} == {42.0}

    @pytest.mark.parametrize("seconds", [0.0, 0.2, 0.999])
    def test_clamped_up_to_one_second(self, seconds: float) -> None:
        assert delay(DEFAULT, 1, 0.5, seconds) == retry.RETRY_AFTER_MIN_S == 1.0

    @pytest.mark.parametrize("seconds", [3600.001, 7200.0, 86400.0 * 30, math.inf])
    def test_clamped_down_to_an_hour(self, seconds: float) -> None:
        assert delay(DEFAULT, 1, 0.5, seconds) == retry.RETRY_AFTER_MAX_S == 3600.0

    def test_may_exceed_the_policy_cap(self) -> None:
        # A receiver asking for 20 minutes gets 20 minutes, beyond the 10-minute backoff cap.
        assert delay(DEFAULT, 10, 0.5, 1200.0) == 1200.0

    def test_parsed_header_end_to_end(self) -> None:
        assert delay(DEFAULT, 1, 0.5, retry.parse_retry_after(" 120 ")) == 120.0
        assert delay(DEFAULT, 1, 0.5, retry.parse_retry_after("999999")) == 3600.0
        assert delay(DEFAULT, 1, 0.5, retry.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")) == 60.0


class TestParseRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("0", 0.0),
            ("1", 1.0),
            ("120", 120.0),
            ("3600", 3600.0),
            ("86400", 86400.0),
            ("1.5", 1.5),
            ("0.25", 0.25),
            (" 30", 30.0),
            ("30 ", 30.0),
            ("\t 45\r\n", 45.0),
        ],
    )
    def test_seconds(self, value: str, expected: float) -> None:
        assert retry.parse_retry_after(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "   ",
            "-1",
            "-0.5",
            "-3600",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 1999 23:59:59 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "soon",
            "10s",
            "1,5",
            "nan",
        ],
    )
    def test_none(self, value: str | None) -> None:
        assert retry.parse_retry_after(value) is None


class TestIsSuccess:
    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (None, False),
            (0, False),
            (100, False),
            (199, False),
            (200, True),
            (201, True),
            (202, True),
            (204, True),
            (299, True),
            (300, False),
            (301, False),
            (304, False),
            (400, False),
            (429, False),
            (500, False),
            (503, False),
        ],
    )
    def test_any_2xx(self, status: int | None, expected: bool) -> None:
        assert retry.is_success(status) is expected
