"""``hookline purge``: the retention, run once, with a look first (``--dry-run``) and a question.

It counts what it would delete, says it, and asks before deleting unless ``--yes`` (without a terminal to
ask on, it refuses instead of guessing); then it deletes in the worker's small batches with a progress bar.
"""

from __future__ import annotations

import datetime
import time

import click

from hookline.cli import database, loop, options, output
from hookline.config import Settings


@click.command()
@options.database_url
@click.option(
    "--older-than-days",
    type=click.FloatRange(min=0),
    default=None,
    help="Delete what finished more than this many days ago [env: HOOKLINE_RETENTION_DAYS; 0: nothing].",
)
@options.dry_run
@options.yes
@options.as_json
def purge(
    database_url: str | None, older_than_days: float | None, dry_run: bool, yes: bool, as_json: bool
) -> None:
    """Delete finished deliveries, their attempts and events past the retention."""
    settings = options.settings(database_url=database_url, retention_days=older_than_days)
    if settings.retention_days <= 0:
        if as_json:
            output.emit_json(
                {"retention_days": 0, "deliveries": 0, "attempts": 0, "events": 0, "object_versions": 0}
            )
        else:
            click.echo("hookline: retention is off (HOOKLINE_RETENTION_DAYS=0): nothing purged")
        return
    loop.run(_purge(settings, dry_run=dry_run, yes=yes, as_json=as_json))


async def _purge(settings: Settings, *, dry_run: bool, yes: bool, as_json: bool) -> None:
    from hookline.service import retention
    from hookline.storage import preflight

    older_than_s = settings.retention_days * 86400
    now = time.time()
    cutoff = datetime.datetime.fromtimestamp(now - older_than_s, datetime.UTC)
    async with database.opened(settings) as db:
        where = preflight.describe(db)
        found = await retention.would_purge(db, older_than_s, now=now)
        what = (
            f"{found.deliveries:,} deliveries, {found.attempts:,} attempts, {found.events:,} events and "
            f"{found.versions:,} object versions from before {cutoff:%Y-%m-%d %H:%M} UTC "
            f"({settings.retention_days:g} days ago) in {where}"
        )
        report = {
            "database": where,
            "cutoff": cutoff.isoformat(),
            "dry_run": dry_run,
            "deliveries": found.deliveries,
            "attempts": found.attempts,
            "events": found.events,
            "object_versions": found.versions,
        }
        if dry_run or not (found.deliveries or found.events or found.versions):
            if as_json:
                output.emit_json(report)
            else:
                click.echo(f"hookline: {'would delete' if dry_run else 'nothing to delete:'} {what}")
            return
        options.confirm(f"Delete {what}?", yes=yes, declined="nothing deleted")
        total = found.deliveries + found.events + found.versions
        with output.progress("purging", total, quiet=as_json) as advance:
            purged = await retention.purge(
                db,
                older_than_s,
                now=now,
                progress=lambda p: advance(p.deliveries + p.events + p.versions, None),
            )
    if as_json:
        done = {"deliveries": purged.deliveries, "attempts": purged.attempts, "events": purged.events}
        output.emit_json({**report, **done, "object_versions": purged.versions})
    else:
        click.echo(
            f"hookline: purged {purged.deliveries:,} deliveries, {purged.attempts:,} attempts, "
            f"{purged.events:,} events and {purged.versions:,} object versions older than "
            f"{settings.retention_days:g} days"
        )
