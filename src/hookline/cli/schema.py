"""``hookline migrate``: the database schema brought up to date."""

from __future__ import annotations

import click

from hookline.cli import database, loop, options
from hookline.config import Settings
from hookline.core import errors


@click.command()
@options.database_url
def migrate(database_url: str | None) -> None:
    """Bring the database schema up to date."""
    loop.run(_migrate(options.settings(database_url=database_url)))


async def _migrate(settings: Settings) -> None:
    from hookline.storage import migrate as migrations
    from hookline.storage import preflight

    async with database.opened(settings, create=True, migrated=False) as db:
        before, head = await migrations.revisions(db)
        where = preflight.describe(db)
        if before is not None and not migrations.known(before):
            raise errors.NotMigrated(
                f"{where} is at schema revision {before}, made by a newer hookline (this one knows up to "
                f"{head}): run the newer hookline's `migrate`, or upgrade this one"
            )
        await migrations.upgrade(db)
    if before == head:
        click.echo(f"hookline: {where} is up to date (schema revision {head})")
    else:
        click.echo(
            f"hookline: {where} migrated from schema revision {before or 'none'} to {head}; up to date"
        )
