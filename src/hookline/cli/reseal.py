"""``hookline reseal``: seal every target's endpoint credentials with the current ``HOOKLINE_SECRET_KEY``.

The last step of a key rotation (docs/security.md): with the new key in ``HOOKLINE_SECRET_KEY`` and the old
one in ``HOOKLINE_SECRET_KEY_OLD``, it re-seals what the old key sealed; then the old key can go. Credentials
that no key of the ring opens are named and left alone (exit 1).
"""

from __future__ import annotations

import click

from hookline.cli import database, exits, loop, options, output
from hookline.config import Settings


@click.command()
@options.database_url
@options.as_json
def reseal(database_url: str | None, as_json: bool) -> None:
    """Re-encrypt targets' endpoint credentials with HOOKLINE_SECRET_KEY (after a key rotation)."""
    settings = options.settings(database_url=database_url)
    loop.run(_reseal(settings, as_json=as_json))


async def _reseal(settings: Settings, *, as_json: bool) -> None:
    from hookline.core import credentials
    from hookline.runtime import keyring
    from hookline.storage import target_auth

    ring = keyring(settings)
    if ring is None:
        raise exits.Failure(exits.Exit.USAGE, "HOOKLINE_SECRET_KEY is not set: there is no key to seal with")

    def again(stored: target_auth.Stored) -> target_auth.Stored | None:
        try:
            return ring.reseal(stored)
        except (credentials.InvalidToken, KeyError, TypeError):
            return None

    async with database.opened(settings) as db:
        changed, left = await target_auth.reseal_all(db, again)
    if as_json:
        output.emit_json({"resealed": changed, "unreadable": left})
    else:
        click.echo(f"hookline: re-sealed the credentials of {changed} target(s) with HOOKLINE_SECRET_KEY")
    if left:
        raise exits.Failure(
            exits.Exit.FAILED,
            f"no key opens the credentials of {', '.join(left)}: set them again (PATCH the target's auth)",
        )
