"""Whether this process reaches its database, as its transactions find out: faults and recoveries, counted
and logged.

Every transaction that fails for want of the database (no answer in time, a connection lost or refused, a
full disk) is a fault; the first transaction that succeeds after faults is a recovery. Each one is counted
exactly (``Observer``: the Prometheus metrics), but logged at most once every ``LOG_EVERY_S``: a reset storm
makes dozens of faults a second, and an operator needs to know that the database is away, since when, why,
and when it came back, not each failed statement. A report held back is written at the end of its window,
so the last line always tells the present state; and a recovery after a logged fault is written at once,
so the log never says the database is away for longer than it was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from hookline.storage.faults import Fault

logger = logging.getLogger(__name__)

LOG_EVERY_S = 5.0


class Observer(Protocol):
    """Where faults and recoveries are counted (``telemetry.DatabaseMetrics``)."""

    def fault(self, kind: str) -> None: ...

    def recovered(self, outage_s: float) -> None: ...


class Availability:
    """The database as this process sees it: up, or down since the first fault of an outage."""

    def __init__(
        self,
        observer: Observer | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        log_every_s: float = LOG_EVERY_S,
    ) -> None:
        self.up = True
        self._observer = observer
        self._clock = clock
        self._every = log_every_s
        self._down_since = 0.0
        self._faults: Counter[str] = Counter()  # by kind, in the current (or last) outage
        self._logged_at = -log_every_s
        self._logged_down = False  # the last line logged says the database is away
        self._held: tuple[int, str, dict[str, Any]] | None = None  # the latest report not yet logged
        self._held_count = 0
        self._flush: asyncio.TimerHandle | None = None

    def fault(self, kind: Fault, detail: str) -> None:
        """A transaction failed for want of the database."""
        if self._observer is not None:
            self._observer.fault(kind.value)
        now = self._clock()
        if self.up:
            self.up = False
            self._down_since = now
            self._faults.clear()
        self._faults[kind.value] += 1
        outage = now - self._down_since
        self._report(
            logging.WARNING,
            f"database unavailable ({kind.value}): {detail}; down for {outage:.1f} s, "
            f"{self._faults.total()} fault(s) so far",
            {"event": "database_fault", "kind": kind.value, "outage_s": round(outage, 3)},
        )

    def ok(self) -> None:
        """A transaction succeeded: the end of an outage, if there was one. Cheap when there was none."""
        if self.up:
            return
        self.up = True
        outage = self._clock() - self._down_since
        if self._observer is not None:
            self._observer.recovered(outage)
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self._faults.items()))
        self._report(
            logging.WARNING,
            f"database available again after {outage:.1f} s ({self._faults.total()} fault(s): {kinds})",
            {"event": "database_recovered", "outage_s": round(outage, 3), "faults": dict(self._faults)},
        )

    def _report(self, level: int, message: str, fields: dict[str, Any]) -> None:
        now = self._clock()
        if now - self._logged_at >= self._every or (self.up and self._logged_down):
            self._log(level, message, fields, unlogged=self._held_count)
            return
        # Too soon after the last line: keep the latest report for the end of the window.
        self._held = (level, message, fields)
        self._held_count += 1
        if self._flush is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): the next report writes it
                return
            self._flush = loop.call_later(self._logged_at + self._every - now, self._write_held)

    def _write_held(self) -> None:
        self._flush = None
        if self._held is not None:
            level, message, fields = self._held
            self._log(level, message, fields, unlogged=self._held_count - 1)

    def _log(self, level: int, message: str, fields: dict[str, Any], unlogged: int) -> None:
        if unlogged:
            message += f" ({unlogged} earlier report(s) of the last {self._every:g} s not logged)"
            fields = {**fields, "unlogged": unlogged}
        self._logged_at = self._clock()
        self._logged_down = not self.up
        self._held, self._held_count = None, 0
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        logger.log(level, message, extra={"fields": fields})
