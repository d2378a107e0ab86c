"""``hookline deliveries``: list, resend one, resend many, replay, send test events (through the API).

A bulk resend or a replay runs as a job next to the workers; the command counts first what a resend would
take (the route's deliveries with those statuses, created in the window, test deliveries left out, as the
job selects them), says it, asks, starts the job and follows it with a progress bar until it is done
(``--no-wait`` returns at once with the job's id).
"""

from __future__ import annotations

import asyncio
import datetime
from typing import TYPE_CHECKING, Any

import click

from hookline.cli import options, output, remote
from hookline.cli.exits import Exit, Failure

if TYPE_CHECKING:
    from hookline.simulator.api_client import ApiClient

RESENDABLE = ("failed", "canceled", "success")
FINISHED_JOB = ("done", "failed")
POLL_S = 0.5

since_option = click.option(
    "--since", type=click.DateTime(), default=None, help="From this time, UTC (inclusive) [default: any]."
)
until_option = click.option(
    "--until", type=click.DateTime(), default=None, help="Before this time, UTC (exclusive) [default: now]."
)
wait_option = click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Follow the job until it is done."
)


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.replace(tzinfo=datetime.UTC).isoformat() if moment is not None else None


@click.group()
def deliveries() -> None:
    """Resend deliveries, replay events, send test events."""


@deliveries.command("list")
@remote.merchant_option
@click.option("--route", default=None, help="Only this route's deliveries.")
@click.option("--status", "statuses", multiple=True, help="Only deliveries in this status (repeatable).")
@click.option("--event-id", default=None, help="Only the deliveries of this event.")
@click.option(
    "--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="At most this many."
)
@remote.connection
@options.as_json
def list_deliveries(
    merchant: str | None,
    route: str | None,
    statuses: tuple[str, ...],
    event_id: str | None,
    limit: int,
    url: str | None,
    key: str | None,
    as_json: bool,
) -> None:
    """The merchant's newest deliveries.

    Each with its status, attempts and last answer; --route, --status and --event-id narrow the list.
    """
    query = {**(remote.scope(merchant) or {}), "limit": str(limit)}
    query.update({k: v for k, v in (("route_id", route), ("event_id", event_id)) if v})
    if statuses:
        query["status"] = ",".join(statuses)
    page: dict[str, Any] = remote.run(url, key, lambda api: api.get("/v1/deliveries", query))
    rows = page["data"]
    if as_json:
        output.emit_json(rows)
    else:
        columns = ["id", "event_type", "status", "attempts", "last_response_status", "created"]
        output.table(rows, columns, title="deliveries")


@deliveries.command("resend")
@click.argument("delivery")
@remote.merchant_option
@remote.connection
@options.as_json
def resend(delivery: str, merchant: str | None, url: str | None, key: str | None, as_json: bool) -> None:
    """Try one delivery again.

    A failed or canceled DELIVERY becomes pending, with a fresh attempt budget.
    """
    path = f"/v1/deliveries/{delivery}/resend"
    again: dict[str, Any] = remote.run(url, key, lambda api: api.post(path, {}, remote.scope(merchant)))
    if as_json:
        output.emit_json(again)
    else:
        click.echo(f"hookline: delivery {again['id']} is {again['status']}")


@deliveries.command("bulk-resend")
@click.argument("route")
@remote.merchant_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(RESENDABLE),
    help="Resend deliveries in this status (repeatable) [default: failed and canceled].",
)
@since_option
@until_option
@options.dry_run
@options.yes
@wait_option
@remote.connection
@options.as_json
def bulk_resend(
    route: str,
    merchant: str | None,
    statuses: tuple[str, ...],
    since: datetime.datetime | None,
    until: datetime.datetime | None,
    dry_run: bool,
    yes: bool,
    wait: bool,
    url: str | None,
    key: str | None,
    as_json: bool,
) -> None:
    """Resend a route's deliveries, as one job.

    ROUTE's deliveries in the --status given (failed and canceled by default) created between --since and
    --until are tried again. They are counted first (--dry-run stops there), then it asks (--yes does not).
    """
    chosen = list(statuses) or ["failed", "canceled"]
    window = {"since": _iso(since), "until": _iso(until)}
    query = {**(remote.scope(merchant) or {}), "route_id": route, "status": ",".join(chosen)}
    query.update({k: v for k, v in window.items() if v})

    async def count(api: ApiClient) -> int:
        rows = await remote.every(api, "/v1/deliveries", query)
        return sum(1 for row in rows if not row.get("test"))

    found = remote.run(url, key, count)
    what = f"{found:,} deliveries of route {route} ({', '.join(chosen)}{_window_words(since, until)})"
    if dry_run or not found:
        _say(
            as_json,
            {"dry_run": dry_run, "count": found},
            f"{'would resend' if dry_run else 'nothing to resend:'} {what}",
        )
        return
    options.confirm(f"Resend {what}?", yes=yes, declined="nothing resent")
    body = {"status": chosen, **{k: v for k, v in window.items() if v}}
    _start_job(url, key, f"/v1/routes/{route}/resend", body, merchant, wait=wait, as_json=as_json)


@deliveries.command("replay")
@click.argument("route")
@remote.merchant_option
@click.option("--since", type=click.DateTime(), required=True, help="From this time, UTC (inclusive).")
@until_option
@options.dry_run
@options.yes
@wait_option
@remote.connection
@options.as_json
def replay(
    route: str,
    merchant: str | None,
    since: datetime.datetime,
    until: datetime.datetime | None,
    dry_run: bool,
    yes: bool,
    wait: bool,
    url: str | None,
    key: str | None,
    as_json: bool,
) -> None:
    """Deliver a route's events again, as one job.

    The events of ROUTE's types received between --since and --until get a new delivery on it; those with
    a delivery still open on the route are skipped.
    """

    async def subscribed(api: ApiClient) -> list[str]:
        found: dict[str, Any] = await api.get(f"/v1/routes/{route}", remote.scope(merchant))
        return list(found["event_types"])

    types = remote.run(url, key, subscribed)  # also: a missing route fails here, before any question
    what = f"the events of route {route} ({', '.join(types)}){_window_words(since, until)}"
    if dry_run:
        _say(as_json, {"dry_run": True, "event_types": types}, f"would replay {what}")
        return
    options.confirm(f"Replay {what}?", yes=yes, declined="nothing replayed")
    body = {"since": _iso(since), **({"until": _iso(until)} if until else {})}
    _start_job(url, key, f"/v1/routes/{route}/replay", body, merchant, wait=wait, as_json=as_json)


@deliveries.command("test")
@click.argument("route")
@remote.merchant_option
@click.option(
    "--type", "types", multiple=True, help="An event type to send (repeatable) [default: the route's]."
)
@remote.connection
@options.as_json
def test_events(
    route: str, merchant: str | None, types: tuple[str, ...], url: str | None, key: str | None, as_json: bool
) -> None:
    """Send a route realistic fake events.

    One per event type of ROUTE (or each --type), delivered to this route only.
    """
    body = {"event_types": list(types)} if types else {}
    path = f"/v1/routes/{route}/test-events"
    sent: dict[str, Any] = remote.run(url, key, lambda api: api.post(path, body, remote.scope(merchant)))
    if as_json:
        output.emit_json(sent)
    else:
        rows = [{"event": e, "delivery": d} for e, d in zip(sent["events"], sent["deliveries"], strict=True)]
        output.table(rows, ["event", "delivery"], title=f"test events sent to {route}")


def _window_words(since: datetime.datetime | None, until: datetime.datetime | None) -> str:
    words = ""
    if since is not None:
        words += f", from {since:%Y-%m-%d %H:%M} UTC"
    return words + (f", before {until:%Y-%m-%d %H:%M} UTC" if until is not None else ", until now")


def _say(as_json: bool, document: dict[str, Any], line: str) -> None:
    if as_json:
        output.emit_json(document)
    else:
        click.echo(f"hookline: {line}")


def _start_job(
    url: str | None,
    key: str | None,
    path: str,
    body: dict[str, Any],
    merchant: str | None,
    *,
    wait: bool,
    as_json: bool,
) -> None:
    """Start the job; with ``wait``, follow it with a progress bar until it is done (a failed job: exit 1)."""

    async def follow(api: ApiClient) -> dict[str, Any]:
        job: dict[str, Any] = (await api.post(path, body, remote.scope(merchant)))["job"]
        if not wait:
            return job
        with output.progress(f"{job['kind']} {job['id']}", job["total"], quiet=as_json) as advance:
            while job["status"] not in FINISHED_JOB:
                await asyncio.sleep(POLL_S)
                job = await api.get(f"/v1/jobs/{job['id']}", remote.scope(merchant))
                advance(job["done"] or 0, job["total"])
        return job

    job = remote.run(url, key, follow)
    if as_json:
        output.emit_json(job)
    else:
        click.echo(f"hookline: {job['kind']} job {job['id']} is {job['status']}: {job['done'] or 0:,} done")
    if job["status"] == "failed":
        raise Failure(Exit.FAILED, f"the {job['kind']} job {job['id']} failed: {job['error']}")
