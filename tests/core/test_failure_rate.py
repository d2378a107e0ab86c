"""Failure rates over a sliding window: the threshold, the minimum count, and forgetting old attempts."""

from __future__ import annotations

from hookline.core.failure_rate import Rate, Threshold, Windows


def _windows() -> Windows:
    return Windows(Threshold(rate=0.5, min_attempts=4, window_s=60.0))


def test_a_route_crosses_at_the_rate_with_enough_attempts() -> None:
    windows = _windows()
    for i, failed in enumerate([True, False, True]):
        windows.add("r1", failed, 1000.0 + i)
    assert windows.crossed(1003.0) == []  # 3 attempts: too few
    windows.add("r1", False, 1004.0)
    assert windows.crossed(1005.0) == [Rate("r1", 2, 4)]  # 2 of 4: exactly half


def test_below_the_rate_is_not_failing_and_routes_are_apart() -> None:
    windows = _windows()
    for i in range(10):
        windows.add("good", i == 0, 1000.0 + i)
        windows.add("bad", True, 1000.0 + i)
    assert windows.crossed(1010.0) == [Rate("bad", 10, 10)]


def test_only_routes_with_new_attempts_are_reported_again() -> None:
    windows = _windows()
    for i in range(4):
        windows.add("r1", True, 1000.0 + i)
    assert windows.crossed(1004.0) == [Rate("r1", 4, 4)]
    assert windows.crossed(1005.0) == []
    windows.add("r1", True, 1006.0)
    assert windows.crossed(1007.0) == [Rate("r1", 5, 5)]


def test_attempts_older_than_the_window_are_forgotten() -> None:
    windows = _windows()
    for i in range(4):
        windows.add("r1", True, 1000.0 + i)
    windows.add("r1", False, 1100.0)
    assert windows.crossed(1100.0) == []  # the failures left the window; one success is left
    assert windows.crossed(1300.0) == []
    assert windows._buckets == {}  # nothing kept for a quiet route
