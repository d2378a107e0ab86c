"""The notifier: sends the outbox's notices by e-mail and to Slack, and spots routes that are failing.

It runs beside the worker, in its own task: a slow SMTP server or Slack URL delays notices, never a
delivery. Each notice is claimed with a lease, tried, and recorded: sent, due again after a back-off
(``RETRY_S``), or given up after ``MAX_ATTEMPTS`` with its last error kept.

Failure rates are counted from the attempts this process's worker records (``failure_rate``); a route that
crosses the threshold gets a ``route.failing`` notice, at most one per route per ``every_s``
(docs/notifications.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson

from hookline.core import notices
from hookline.core.errors import Unavailable
from hookline.core.failure_rate import Threshold, Windows
from hookline.core.models import DeliveryStatus, ErrorKind, Result
from hookline.sender.mail import Mailer, MailError
from hookline.sender.port import Port
from hookline.storage import notifications as store
from hookline.storage.database import Database

logger = logging.getLogger(__name__)

RETRY_S = (10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
MAX_ATTEMPTS = 12  # about 7 hours of trying
SLACK_TIMEOUT_S = 10.0
NO_SMTP = "no SMTP server is configured (HOOKLINE_SMTP_URL)"


class Refused(Exception):
    """The SSRF guard refused the Slack URL's address (as a delivery's, this is not retried)."""


@dataclass(frozen=True, slots=True)
class NotifierSettings:
    poll_interval_s: float = 1.0
    lease_s: float = 60.0
    batch: int = 20
    failing: Threshold = field(default_factory=Threshold)
    #: at most one ``route.failing`` notice per route this often
    failing_every_s: float = 3600.0
    #: finished notices are deleted this long after they were sent or given up (0: kept)
    keep_s: float = 30 * 86400.0
    purge_every_s: float = 3600.0


class Notifier:
    def __init__(
        self,
        db: Database,
        sender: Port,
        mailer: Mailer | None,
        settings: NotifierSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._sender = sender
        self._mailer = mailer
        self._settings = settings
        self._clock = clock
        self._windows = Windows(settings.failing)
        self._told: dict[str, float] = {}  # route id → when this process last wrote a failing notice
        self._stopping = asyncio.Event()
        self._bell = asyncio.Event()
        self._purge_at = clock() + 60.0  # not at once: a restart loop must not become a purge loop

    def recorded(self, batch: Sequence[Result], halted: int) -> None:
        """The worker recorded these attempts (and halted ``halted`` routes with them): count them."""
        for result in batch:
            if not result.outcome.about_target:
                continue  # the egress proxy failed: the route is not failing for it
            failed = result.status != DeliveryStatus.SUCCESS
            self._windows.add(result.job.route_id, failed, result.outcome.started)
        if halted:
            self._bell.set()

    def stop(self) -> None:
        self._stopping.set()
        self._bell.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._failing()
                while await self.send_due():
                    pass
                await self._purge()
            except Unavailable as exc:
                logger.warning("notifications wait for the database: %s", exc)
            except Exception:
                logger.exception("notifier round failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bell.wait(), self._settings.poll_interval_s)
            self._bell.clear()

    async def _failing(self) -> None:
        now = self._clock()
        every = self._settings.failing_every_s
        for route_id in [r for r, at in self._told.items() if now - at >= every]:
            del self._told[route_id]
        for rate in self._windows.crossed(now):
            if now - self._told.get(rate.route_id, -every) < every:
                continue
            self._told[rate.route_id] = now
            window = self._settings.failing.window_s
            await store.enqueue_failing(self._db, rate.route_id, rate.failed, rate.total, window, every, now)

    async def _purge(self) -> None:
        now = self._clock()
        if self._settings.keep_s <= 0 or now < self._purge_at:
            return
        self._purge_at = now + self._settings.purge_every_s
        while await store.purge(self._db, now - self._settings.keep_s) and not self._stopping.is_set():
            await asyncio.sleep(0.05)

    async def send_due(self) -> int:
        """Claim and try the due notices; how many were claimed."""
        claimed = await store.claim(self._db, self._clock(), self._settings.lease_s, self._settings.batch)
        if claimed:
            await asyncio.gather(*(self._try(item) for item in claimed))
        return len(claimed)

    async def _try(self, item: store.Outgoing) -> None:
        final = False
        try:
            error = await self._send(item)
        except Refused as exc:  # the address rules: trying again changes nothing
            error, final = f"configuration error, not retried: {exc}", True
        except Exception as exc:  # a bug must cost this notice a try, not loop on it forever
            logger.exception("sending %s notice %s failed", item.channel, item.id)
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = self._clock()
        attempt = item.attempts + 1
        retry_at = None
        if error is not None and attempt < MAX_ATTEMPTS and not final:
            retry_at = now + RETRY_S[min(attempt, len(RETRY_S)) - 1]
        if error is not None:
            logger.warning(
                "%s notice %s of merchant %s not sent (try %d): %s",
                item.channel,
                item.id,
                item.merchant_id,
                attempt,
                error,
            )
        await store.record(self._db, item, now, error, retry_at)

    async def _send(self, item: store.Outgoing) -> str | None:
        """None when the notice went out, else why not."""
        if item.channel == store.EMAIL:
            if self._mailer is None:
                return NO_SMTP
            try:
                await self._mailer.send(item.destination, item.subject, item.body)
            except MailError as exc:
                return str(exc)
            return None
        message = notices.Message(item.subject, item.body)
        body = orjson.dumps({"text": notices.slack_text(message)})
        outcome = await self._sender.send(
            item.destination["url"], body, {"Content-Type": "application/json"}, SLACK_TIMEOUT_S
        )
        if outcome.error is None and outcome.status is not None and 200 <= outcome.status < 300:
            return None
        if outcome.error == ErrorKind.BLOCKED:
            raise Refused(outcome.error_detail or "the address is refused")
        return outcome.error_detail or (f"HTTP {outcome.status}" if outcome.status else "no answer")
