"""Per-target AIMD flow control decisions."""

from __future__ import annotations

from hookline.core.concurrency_limit import Flow


def test_starts_modestly_and_grows_while_fast() -> None:
    flow = Flow(ceiling=16)
    assert flow.limit == 4
    now = 0.0
    for _ in range(200):
        now += 0.01
        flow.answered(200, 0.05, now, None)
    assert flow.limit == 16  # capped at the ceiling
    assert flow.allows(15, now) and not flow.allows(16, now)


def test_slow_start_doubles_per_round_until_the_first_sign_of_overload() -> None:
    flow = Flow(ceiling=100)
    for _ in range(4):  # one round of 4 requests at limit 4
        flow.answered(200, 0.01, 1.0, None)
    assert flow.limit == 8


def test_after_a_cut_growth_is_about_one_slot_per_round() -> None:
    flow = Flow(ceiling=100, limit=16)
    flow.answered(503, 0.01, 1.0, None)
    assert flow.limit == 8
    for _ in range(8):  # one round at limit 8
        flow.answered(200, 0.01, 2.0, None)
    assert 8.9 < flow.limit < 9.1


def test_slow_success_does_not_grow() -> None:
    flow = Flow(ceiling=16, slow_s=1.0)
    flow.answered(200, 2.5, 1.0, None)
    assert flow.limit == 4


def test_overload_halves_once_per_cool_down() -> None:
    flow = Flow(ceiling=64, limit=32)
    flow.answered(503, 0.1, 10.0, None)
    assert flow.limit == 16
    flow.answered(503, 0.1, 10.5, None)  # same burst: no second cut
    assert flow.limit == 16
    flow.answered(None, 5.0, 11.6, None)  # a timeout after the cool-down
    assert flow.limit == 8


def test_never_below_the_floor() -> None:
    flow = Flow(ceiling=8, floor=1, limit=1)
    flow.answered(429, 0.1, 5.0, None)
    assert flow.limit == 1
    assert flow.allows(0, 5.0)


def test_retry_after_pauses_the_target() -> None:
    flow = Flow(ceiling=8)
    flow.answered(429, 0.1, 100.0, 30.0)
    assert not flow.allows(0, 129.9)
    assert flow.allows(0, 130.0)


def test_retry_after_is_capped() -> None:
    flow = Flow(ceiling=8)
    flow.answered(503, 0.1, 0.0, 86_400.0)
    assert flow.allows(0, 300.0)


def test_client_errors_say_nothing_about_load() -> None:
    flow = Flow(ceiling=8, limit=6)
    flow.answered(404, 0.1, 1.0, None)
    flow.answered(400, 0.1, 2.0, None)
    assert flow.limit == 6
