"""Database faults and recoveries: every one counted, logged at most once a window, the present state last."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hookline.storage.availability import Availability
from hookline.storage.faults import Fault


class Counted:
    def __init__(self) -> None:
        self.faults: list[str] = []
        self.outages: list[float] = []

    def fault(self, kind: str) -> None:
        self.faults.append(kind)

    def recovered(self, outage_s: float) -> None:
        self.outages.append(outage_s)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hookline.storage.availability"]


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    counted, clock = Counted(), Clock()
    health = Availability(counted, clock=clock)
    health.ok()  # up already: nothing to say
    assert _lines(caplog) == []
    health.fault(Fault.REFUSED, "connection refused")
    clock.now += 0.5
    health.fault(Fault.REFUSED, "connection refused")  # within the window: counted, not logged yet
    clock.now += 2.5
    health.ok()  # a recovery after a logged fault: at once
    lines = _lines(caplog)
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unavailable (refused): connection refused")
    assert lines[1].startswith("database available again after 3.0 s (2 fault(s): refused 2)")
    assert "1 earlier report(s)" in lines[1]
    assert counted.faults == ["refused", "refused"]
    assert counted.outages == [3.0]
    assert health.up
    fields = caplog.records[-1].fields  # type: ignore[attr-defined]
    assert fields["event"] == "database_recovered"
    assert fields["faults"] == {"refused": 2}


async def test_a_storm_is_summed_up_once_a_window_and_ends_with_the_present_state(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    counted = Counted()
    health = Availability(counted, log_every_s=0.2)
    for _ in range(10):  # faults and recoveries in quick succession: a reset storm
        health.fault(Fault.LOST, "connection reset")
        health.ok()
    health.fault(Fault.LOST, "connection reset")
    assert len(_lines(caplog)) == 2  # the first fault and the first recovery; the rest waits for the window
    await asyncio.sleep(0.3)
    lines = _lines(caplog)
    assert len(lines) == 3, lines
    assert lines[-1].startswith("database unavailable (lost)")  # the present state
    assert "18 earlier report(s)" in lines[-1]  # 21 reports, 3 lines
    assert len(counted.faults) == 11 and len(counted.outages) == 10  # every one counted
    health.ok()
    assert _lines(caplog)[-1].startswith("database available again")  # at once: the log said "away"
