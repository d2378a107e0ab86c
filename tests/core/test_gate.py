"""Admission per target: start, wait in line, or hand back."""

from __future__ import annotations

from hookline.gate import DEFER_S, LINE_FACTOR, MAX_DEFER_S, Admission, Gate
from hookline.models import Job
from hookline.retry import RetryPolicy


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
    assert sorted(i for i, _ in released.back) == sorted(j.delivery_id for j in rest[3:])
    assert all(due == 31.0 for _, due in released.back)
    assert gate.admit(job(50), 5.0) == (Admission.BACK, 31.0)


def test_deliveries_that_waited_too_long_go_back() -> None:
    gate = Gate(ceiling=4, max_wait_s=10.0)
    running = [job(i) for i in range(4)]
    for j in running:
        gate.admit(j, 0.0)
    late = job(9)
    assert gate.admit(late, 0.0)[0] is Admission.WAIT
    released = gate.done(running[0], 200, 0.01, None, 11.0)
    assert released.start == [] and released.back == [("dlv_9", 11.0)]


def test_waiting_empties_the_lines() -> None:
    gate = Gate(ceiling=4)
    for i in range(6):
        gate.admit(job(i), 0.0)
    assert gate.waiting() == ["dlv_4", "dlv_5"]
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
