"""The delivery loop: claim due deliveries → sign → POST → record, in batches, concurrently.

Bounded concurrency overall, and per target a limit learned from the target's answers (``admission`` and
``concurrency_limit``: it grows while the target answers fast and halves on 429, 503, timeouts and refused
connections), keep one slow or dead target from holding up the others; claims leave out the targets that
would take nothing more, and one of them with room again rings for the next claim. Results are recorded
by one writer task that takes everything finished since its last write, so a busy worker writes in large
batches and an idle one writes at once.

An outcome is kept until it is recorded. While the database is away the writer retries (backing off to
``RECORD_RETRY_MAX_S``, so that it records within a moment of the database's return), adds what finishes
meanwhile to the batch, and extends the leases of the deliveries it holds outcomes for: a delivery whose 2xx
this worker knows is not claimed and sent again by another worker because the record came late. Only a
worker that is going away gives them up (``_finish_recording``); their leases then bring them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from hookline import telemetry
from hookline.core import autohalt_policy, signing
from hookline.core.admission import DEFER_S, Admission, Gate
from hookline.core.errors import Unavailable
from hookline.core.models import ErrorKind, Job, Outcome, Result
from hookline.core.retry import parse_retry_after
from hookline.sender import listener, verdict, vocabulary
from hookline.sender.destinations.port import Publishing
from hookline.sender.endpoint_auth import Authenticator
from hookline.sender.port import Port
from hookline.storage import autohalt, listeners, queue
from hookline.storage.database import Database
from hookline.storage.wakeup import Wakeup

logger = logging.getLogger(__name__)

# Failures that say the target is overloaded or unreachable (they shrink its limit); the others (a refused
# address, a TLS or DNS error, a malformed answer, a failure of the egress proxy) say nothing about load.
_OVERLOAD_ERRORS = frozenset({ErrorKind.TIMEOUT, ErrorKind.CONNECT, ErrorKind.RESET})
CLAIM_RETRY_S = 0.5  # after a claim the database could not serve
RECORD_RETRY_S = 0.05  # after a record the database could not serve, doubling ...
RECORD_RETRY_MAX_S = 0.5  # ... up to this
HOLDING_LOG_EVERY_S = 5.0
LISTENED_REFRESH_S = 1.0  # how old the claims' list of routes with a listener connected may get


def flow_answer(outcome: Outcome) -> int | None:
    """What an attempt tells its target's flow control (``Flow.answered``): None for a sign of overload
    without an answer, else the status (0: no answer, and no sign of load, e.g. the egress proxy failed)."""
    return None if outcome.error in _OVERLOAD_ERRORS else (outcome.status or 0)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    concurrency: int = 256
    per_target: int = 64  # the ceiling of a target's learned concurrency
    claim_batch: int = 200
    poll_interval_s: float = 1.0
    lease_s: float = 60.0
    shutdown_grace_s: float = 10.0
    auto_halt: autohalt_policy.Policy = field(default_factory=autohalt_policy.Policy)


class Worker:
    """Delivers due deliveries until ``stop`` is called."""

    def __init__(
        self,
        db: Database,
        sender: Port,
        wakeup: Wakeup,
        settings: WorkerSettings,
        *,
        publisher: Publishing | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        on_recorded: Callable[[list[Result], int], None] | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._db = db
        # Adds each target's endpoint credentials to its attempts (None: this worker has no secret key).
        self._auth = authenticator or Authenticator(None)
        # Told of every recorded batch and how many routes it halted (the notifier counts failure rates).
        self._on_recorded = on_recorded
        self._sender = sender
        self._publisher = publisher  # broker targets (``sender.destinations``); None: none here
        self._wakeup = wakeup
        self._settings = settings
        self._clock = clock
        self._rand = rand
        self._inflight: dict[str, Job] = {}
        self._reserved = 0  # room promised to ingestion in this process (``reserve``), not yet settled
        self._skipped: set[str] = set()  # targets the last claim left out (``Gate.saturated``)
        self._gate = Gate(settings.per_target)
        self._slot_freed = asyncio.Event()
        self._results: asyncio.Queue[Result | None] = asyncio.Queue()  # None: the last one, stop
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._holding_logged_at = -HOLDING_LOG_EVERY_S
        self._holding_told = False  # a "holding" line was logged that no "recorded" line has answered yet
        # Routes a listener is connected to (``storage.listeners``): their API process sends them.
        self._listened: list[str] = []
        self._listened_at = -LISTENED_REFRESH_S

    @property
    def lease_s(self) -> float:
        return self._settings.lease_s

    def reserve(self, wanted: int) -> int:
        """Room for up to ``wanted`` deliveries handed over by ingestion (``models.Dispatch``)."""
        if self._stopping.is_set():
            return 0
        granted = max(0, min(wanted, self._free()))
        self._reserved += granted
        return granted

    def settle(self, reserved: int, jobs: list[Job]) -> None:
        """Release a reservation and start the jobs ingestion stored leased to this worker."""
        self._reserved -= reserved
        if reserved:
            # Room the reservation held may be free again (a failed transaction, events already stored, jobs
            # that go back to the queue): a claim round waiting for room looks again, as no delivery ending
            # might tell it.
            self._slot_freed.set()
        if self._stopping.is_set():
            # Too late to start: give them back to the queue now rather than when their lease ends.
            self._spawn(self._hand_back([(job, self._clock()) for job in jobs]))
            return
        deferred = [back for job in jobs if (back := self._start(job)) is not None]
        if deferred:
            self._spawn(self._hand_back(deferred))

    def _free(self) -> int:
        return self._settings.concurrency - len(self._inflight) - self._reserved

    def stop(self) -> None:
        """Stop claiming; ``run`` returns once in-flight deliveries finish or are handed back."""
        self._stopping.set()
        self._wakeup.ring()
        self._slot_freed.set()

    async def run(self) -> None:
        """Claim and deliver until stopped."""
        recorder = asyncio.create_task(self._record_forever())
        try:
            while not self._stopping.is_set():
                try:
                    await self._claim_round()
                except Exception:
                    logger.exception("claim round failed; retrying")
                    await asyncio.sleep(1.0)
        finally:
            await self._drain()
            await self._finish_recording(recorder)

    async def _claim_round(self) -> None:
        free = self._free()
        if free <= 0:
            self._slot_freed.clear()
            await self._slot_freed.wait()
            return
        try:
            now = self._clock()
            self._skipped = set(self._gate.saturated(now))
            jobs = await queue.claim(
                self._db,
                now,
                min(free, self._settings.claim_batch),
                self._settings.lease_s,
                skip_targets=sorted(self._skipped),
                skip_routes=await self._listened_routes(now),
            )
        except Unavailable:
            # Logged where it happened (``storage.availability``), at most every few seconds.
            await asyncio.sleep(CLAIM_RETRY_S)
            return
        if not jobs:
            await self._wakeup.wait(self._settings.poll_interval_s)
            return
        deferred = [back for job in jobs if (back := self._start(job)) is not None]
        if deferred:
            await self._hand_back(deferred)
            if len(deferred) == len(jobs):
                # Only busy targets' work is due: wait for a request to end instead of claiming it again.
                self._slot_freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), DEFER_S)
            return
        if len(jobs) < min(free, self._settings.claim_batch):
            # The queue is drained for now: sleep until rung (or the next poll) rather than spin.
            await self._wakeup.wait(self._settings.poll_interval_s)

    def _start(self, job: Job) -> tuple[Job, float] | None:
        """Start, queue behind its target, or return (job, due) to hand back."""
        admission, due = self._gate.admit(job, self._clock())
        if admission is Admission.START:
            self._launch(job)
        elif admission is Admission.BACK:
            return job, due
        return None

    def _launch(self, job: Job) -> None:
        self._inflight[job.delivery_id] = job
        self._spawn(self._deliver(job))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` as a task that ``_drain`` waits for."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hand_back(self, items: list[tuple[Job, float]]) -> None:
        with contextlib.suppress(Unavailable):
            await queue.release(self._db, items)

    async def _listened_routes(self, now: float) -> list[str]:
        """The routes with a listener connected, read again once ``LISTENED_REFRESH_S`` has passed."""
        if time.monotonic() - self._listened_at >= LISTENED_REFRESH_S:
            self._listened = sorted(await listeners.live_routes(self._db, now))
            self._listened_at = time.monotonic()
        return self._listened

    async def _listened_now(self, job: Job) -> bool:
        """Whether a listener of a listener target's route is connected now (then its API process sends the
        delivery; the worker hands it back). Read afresh: a listener that just connected gets it at once."""
        if not listener.is_listener(job.url):
            return False
        try:
            return job.route_id in await listeners.live_routes(self._db, self._clock())
        except Unavailable:
            return True  # not known: back to the queue, rather than an attempt that says "not connected"

    async def _deliver(self, job: Job) -> None:
        outcome: Outcome | None = None
        try:
            if await self._listened_now(job):
                self._listened_at = -LISTENED_REFRESH_S  # the next claim reads the list again, leaving it out
                await self._hand_back([(job, self._clock())])
                return
            outcome = await self._attempt(job)
            await self._results.put(self._decide(job, outcome))
        finally:
            self._inflight.pop(job.delivery_id, None)
            self._slot_freed.set()
            self._release(job, outcome)

    def _release(self, job: Job, outcome: Outcome | None) -> None:
        """Tell the gate how the target answered; start what it lets start, hand back what waited too long."""
        now = self._clock()
        status: int | None
        if outcome is None:  # cancelled while stopping
            status, duration, retry_after = 0, 0.0, None
        else:
            status = flow_answer(outcome)
            duration = outcome.duration_ms / 1000
            retry_after = parse_retry_after(outcome.response_headers.get("retry-after"))
        released = self._gate.done(job, status, duration, retry_after, now)
        if self._stopping.is_set():
            return
        if job.target_id in self._skipped and self._gate.has_room(job.target_id, now):
            # The last claim left this target's deliveries in the queue; it can take some again.
            self._skipped.discard(job.target_id)
            self._wakeup.ring()
        for waiting in released.start:
            self._launch(waiting)
        if released.back:
            self._spawn(self._hand_back(released.back))

    async def _attempt(self, job: Job) -> Outcome:
        ts = int(self._clock())
        headers = signing.attempt_headers(job, ts)
        if listener.is_listener(job.url):
            return listener.not_connected(time.time(), vocabulary.request_headers(headers))
        if job.destination:
            if self._publisher is None:
                return Outcome(ts, 0.0, headers, error=ErrorKind.PROTOCOL, error_detail="no broker publisher")
            return await self._publisher.publish(
                job.url, dict(job.destination), job.payload, headers, job.timeout_s
            )
        return await self._auth.send(self._sender, job.auth, job.url, job.payload, headers, job.timeout_s)

    def _decide(self, job: Job, outcome: Outcome) -> Result:
        return verdict.decide(job, outcome, self._clock(), self._rand())

    async def _record_forever(self) -> None:
        """Record results as they finish, in batches; hold them while the database cannot take them."""
        held: list[Result] = []
        failing_since: float | None = None  # when the held results first failed to be recorded
        stopping = False
        pause = RECORD_RETRY_S
        while True:
            if not held:
                if stopping:
                    return
                first = await self._results.get()
                if first is None:
                    return
                held.append(first)
            while not self._results.empty():  # everything finished meanwhile goes in the same write
                result = self._results.get_nowait()
                if result is None:
                    stopping = True
                else:
                    held.append(result)
            left = await self._write(held, again=failing_since is not None)
            if not left:
                if failing_since is not None and self._holding_told:
                    took = time.monotonic() - failing_since
                    logger.warning("recorded %d held results after %.1f s", len(held), took)
                    self._holding_told = False
                held, failing_since, pause = [], None, RECORD_RETRY_S
                continue
            now = time.monotonic()
            if failing_since is None:
                failing_since = now
            self._log_holding(len(left), now - failing_since)
            held = await self._keep_leases(left)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECORD_RETRY_MAX_S)

    async def _write(self, batch: list[Result], *, again: bool) -> list[Result]:
        """Record ``batch``; the results still to record (all of them while the database is away).

        ``again``: an earlier write of some of them failed, maybe after its commit (``queue.record``).
        """
        try:
            halted = await queue.record(
                self._db, batch, policy=self._settings.auto_halt, now=self._clock(), again=again
            )
        except Unavailable:
            return batch
        except Exception as exc:
            said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            logger.warning("cannot record %d results as they are (%s); one by one now", len(batch), said)
            return await self._write_apart(batch, again=again)
        self._recorded(batch, halted)
        return []

    async def _write_apart(self, batch: list[Result], *, again: bool) -> list[Result]:
        """One result at a time, its text made storable (a target's NUL bytes, say); one that still cannot
        be stored is given up: its lease ends and it is attempted again. The first failure is logged with
        its traceback, the others counted in one line (a bug would otherwise log the whole batch)."""
        given_up: list[str] = []
        for i, result in enumerate(batch):
            try:
                halted = await queue.record(
                    self._db,
                    [result],
                    policy=self._settings.auto_halt,
                    now=self._clock(),
                    again=again,
                    clean=True,
                )
            except Unavailable:
                return batch[i:]
            except Exception:
                if not given_up:
                    logger.exception("cannot record the attempt of delivery %s", result.job.delivery_id)
                given_up.append(result.job.delivery_id)
                continue
            self._recorded([result], halted)
        if given_up:
            logger.error(
                "%d results not recorded (%s…): their deliveries will be attempted again after their leases",
                len(given_up),
                ", ".join(given_up[:5]),
            )
        return []

    def _recorded(self, batch: list[Result], halted: list[autohalt.Halted]) -> None:
        self._announce(halted)
        telemetry.observe(batch)
        if self._on_recorded is not None:
            self._on_recorded(batch, len(halted))
        if queue.releases(batch):
            self._wakeup.ring()  # the next delivery of a key is due now

    def _log_holding(self, count: int, held_s: float) -> None:
        """At most every ``HOLDING_LOG_EVERY_S``; the recovery is logged after a line logged here."""
        now = time.monotonic()
        if now - self._holding_logged_at >= HOLDING_LOG_EVERY_S:
            self._holding_logged_at, self._holding_told = now, True
            logger.warning(
                "holding %d results for %.1f s: the database cannot record them; retrying, leases extended",
                count,
                held_s,
            )

    async def _keep_leases(self, held: list[Result]) -> list[Result]:
        """Extend the leases that would end within half a lease; ``held`` with the leases it now has."""
        now = self._clock()
        ending = [r.job for r in held if r.job.leased_until - now < self._settings.lease_s / 2]
        if not ending:
            return held
        try:
            extended = await queue.extend(self._db, ending, now + self._settings.lease_s)
        except Unavailable:
            return held
        return [
            dataclasses.replace(r, job=dataclasses.replace(r.job, leased_until=until))
            if (until := extended.get(r.job.delivery_id)) is not None
            else r
            for r in held
        ]

    def _announce(self, halted: list[autohalt.Halted]) -> None:
        """Log auto-halts; their notices are new deliveries, due now."""
        for h in halted:
            logger.warning(
                "route %s of merchant %s halted automatically: %s (notice %s to %d route(s))",
                h.route_id,
                h.merchant_id,
                h.reason,
                h.notice.event_id,
                len(h.notice.delivery_ids),
            )
        if any(h.notice.delivery_ids for h in halted):
            self._wakeup.ring()

    async def _finish_recording(self, recorder: asyncio.Task[None]) -> None:
        """Let the recorder write every result it holds or has queued, then stop it.

        Not cancelled mid-write: a result taken from the queue and lost with a cancelled transaction would
        be sent again when its lease ends. Bounded, as the database may be gone; then the leases bring those
        deliveries back (at least once).
        """
        self._results.put_nowait(None)
        try:
            await asyncio.wait_for(recorder, self._settings.shutdown_grace_s)
        except TimeoutError:
            logger.warning("stopping with results not recorded; their deliveries are retried after the lease")

    async def _drain(self) -> None:
        """Hand back what waits in lines at once (another worker may send it now), wait for in-flight
        deliveries up to the grace period, and hand back whatever is still running."""
        now = self._clock()
        await self._hand_back([(job, now) for job in self._gate.waiting()])
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._settings.shutdown_grace_s)
        unfinished = list(self._inflight.values())
        for task in list(self._tasks):
            task.cancel()
        now = self._clock()
        await self._hand_back([(job, now) for job in unfinished])
