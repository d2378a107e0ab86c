"""Options several commands share, and the settings they override."""

from __future__ import annotations

import sys
from typing import Any

import click

from hookline.cli import logs
from hookline.cli.exits import Exit, Failure
from hookline.config import Settings

database_url = click.option(
    "--database-url", metavar="URL", default=None, help="The database [env: HOOKLINE_DATABASE_URL]."
)
host = click.option("--host", default=None, help="The address to listen on [env: HOOKLINE_HOST].")
port = click.option("--port", type=int, default=None, help="The port to listen on [env: HOOKLINE_PORT].")
as_json = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of text.")
yes = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
dry_run = click.option("--dry-run", is_flag=True, help="Say what would be done, and do nothing.")


def settings(**overrides: Any) -> Settings:
    """Settings from the environment with the flags that were given, and logging set up from them."""
    loaded = Settings.from_env(**overrides)
    logs.configure(loaded)
    return loaded


def confirm(question: str, *, yes: bool, declined: str) -> None:
    """Go on if ``--yes`` or the person says so; without a terminal to ask on, refuse (exit 2) rather than
    guess; a "no" is ``declined`` (exit 1)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise Failure(
            Exit.USAGE, f"{question[:-1]}: not without confirmation; pass --yes (or look with --dry-run)"
        )
    if not click.confirm(question, default=False, err=True):
        raise Failure(Exit.FAILED, declined)
