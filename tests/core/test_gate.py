"""Admission per target: start, wait in line, or hand back."""

from __future__ import annotations

from dataclasses import replace

from hookline.core.admission import DEFER_S, LINE_FACTOR, MAX_DEFER_S, Admission, Gate
from hookline.core.models import Job
from hookline.core.retry import RetryPolicy


def job(n: int, target: str = "tgt_a") -> Job:
    return Job(
        delivery_id=f"dlv_{n}",
        event_id=f"evt_{n}",
        route_id="rte",
        target_id=target,
        url="http://x",
        payload=b"{}",
        attempts=0,
        budget_used=0,
        keys=(b"k",),
        timeout_s=5.0,
        headers=(),
        retry=RetryPolicy(),
    )


def test_starts_up_to_the_learned_limit_then_lines_up_then_hands_back() -> None:
    gate = Gate(ceiling=64)
    answers = [gate.admit(job(i), 0.0) for i in range(4 + 4 * LINE_FACTOR + 1)]
    decisions = [decision for decision, _ in answers]
    assert decisions[:4] == [Admission.START] * 4  # a new target starts at 4
    assert decisions[4:-1] == [Admission.WAIT] * (4 * LINE_FACTOR)
    assert answers[-1] == (Admission.BACK, DEFER_S)


def test_targets_are_independent() -> None:
    gate = Gate(ceiling=64)
    for i in range(4):
        gate.admit(job(i, "slow"), 0.0)
    assert gate.admit(job(10, "fast"), 0.0)[0] is Admission.START


def test_a_finished_request_starts_the_next_in_line() -> None:
    gate = Gate(ceiling=64)
    jobs = [job(i) for i in range(6)]
    for j in jobs:
        gate.admit(j, 0.0)
    released = gate.done(jobs[0], 200, 0.01, None, 0.1)
    # Slow start: the fast answer grew the limit to 5, so two waiting deliveries start.
    assert [j.delivery_id for j in released.start] == ["dlv_4", "dlv_5"]


def test_a_fast_target_grows_and_an_overloaded_one_shrinks() -> None:
    gate = Gate(ceiling=64)
    now = 0.0
    for i in range(500):
        now += 0.001
        j = job(i)
        assert gate.admit(j, now)[0] is Admission.START
        gate.done(j, 200, 0.005, None, now)
    assert gate.limit("tgt_a") > 20
    before = gate.limit("tgt_a")
    j = job(1000)
    gate.admit(j, now)
    gate.done(j, 503, 0.005, None, now + 2)
    assert gate.limit("tgt_a") == before / 2


def test_retry_after_pauses_and_hands_back_the_line() -> None:
    gate = Gate(ceiling=64)
    first, *rest = [job(i) for i in range(8)]
    gate.admit(first, 0.0)
    for j in rest[:3]:
        gate.admit(j, 0.0)
    for j in rest[3:]:
        assert gate.admit(j, 0.0)[0] is Admission.WAIT
    for j in rest[:3]:
        gate.done(j, 429, 0.01, 30.0, 1.0)
    released = gate.done(first, 429, 0.01, 30.0, 1.0)
    assert released.start == []
    assert sorted(j.delivery_id for j, _ in released.back) == sorted(j.delivery_id for j in rest[3:])
    assert all(due == 31.0 for _, due in released.back)
    assert gate.admit(job(50), 5.0) == (Admission.BACK, 31.0)


def test_a_waiting_delivery_whose_lease_would_run_out_mid_attempt_goes_back() -> None:
    gate = Gate(ceiling=4)
    running = [job(i) for i in range(4)]
    for j in running:
        gate.admit(j, 0.0)
    late = replace(job(9), leased_until=20.0)  # timeout 5 s: it may start until 15.0
    on_time = replace(job(10), leased_until=60.0)
    assert gate.admit(late, 0.0)[0] is Admission.WAIT
    assert gate.admit(on_time, 0.0)[0] is Admission.WAIT
    released = gate.done(running[0], 200, 0.01, None, 16.0)
    assert released.start == [on_time] and released.back == [(late, 16.0)]


def test_waiting_empties_the_lines() -> None:
    gate = Gate(ceiling=4)
    for i in range(6):
        gate.admit(job(i), 0.0)
    assert [j.delivery_id for j in gate.waiting()] == ["dlv_4", "dlv_5"]
    assert gate.waiting() == []


def test_a_target_that_stays_busy_is_handed_back_for_longer_each_time() -> None:
    gate = Gate(ceiling=4)
    for i in range(4 + 4 * LINE_FACTOR):
        gate.admit(job(i), 0.0)
    assert [gate.admit(job(100 + i), 0.0)[1] for i in range(3)] == [DEFER_S] * 3  # one period per batch
    now, waits = DEFER_S, []
    for i in range(6):  # each later claim round, when the last period ended, waits twice as long
        due = gate.admit(job(200 + i), now)[1]
        waits.append(due - now)
        now = due
    assert waits == [0.5, 1.0, 2.0, 4.0, MAX_DEFER_S, MAX_DEFER_S]
    gate.done(job(0), 200, 0.01, None, 19.0)  # a good answer: back to the short deferral
    answers = [gate.admit(job(300 + i), 20.0) for i in range(30)]
    first_back = next(a for a in answers if a[0] is Admission.BACK)
    assert first_back == (Admission.BACK, 20.0 + DEFER_S)


def test_saturated_names_targets_that_would_take_nothing_more() -> None:
    gate = Gate(ceiling=64)
    assert gate.saturated(0.0) == []
    for i in range(4 + 4 * LINE_FACTOR):  # at its limit (4) with a full line
        gate.admit(job(i, "stuck"), 0.0)
    gate.admit(job(100, "busy"), 0.0)  # in flight, room left
    assert gate.saturated(0.0) == ["stuck"]
    paused = job(200, "paused")
    gate.admit(paused, 0.0)
    gate.done(paused, 429, 0.01, 30.0, 1.0)  # Retry-After: 30 s
    assert sorted(gate.saturated(1.0)) == ["paused", "stuck"]
    assert sorted(gate.saturated(31.0)) == ["stuck"]
    first = job(0, "stuck")
    gate.done(first, 200, 0.01, None, 31.0)  # one ends, one of its line starts: the line has room again
    assert gate.saturated(31.0) == []


def test_a_saturated_target_has_room_again_once_its_line_is_half_empty() -> None:
    gate = Gate(ceiling=4)  # limit 4, line of 16
    running = [job(i) for i in range(4)]
    for j in running + [job(10 + i) for i in range(4 * LINE_FACTOR)]:
        gate.admit(j, 0.0)
    assert not gate.has_room("tgt_a", 0.0)
    for n, j in enumerate(running, start=1):
        released = gate.done(j, 200, 0.01, None, 0.1)
        running.extend(released.start)  # each end starts one from the line
        assert gate.has_room("tgt_a", 0.1) == (n >= 2 * LINE_FACTOR)
    assert gate.has_room("never-seen", 0.0)
