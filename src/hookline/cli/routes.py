"""``hookline routes``: a merchant's webhook routes, halted and resumed (through the API)."""

from __future__ import annotations

from typing import Any

import click

from hookline.cli import options, output, remote

STATES = ("active", "halted", "disabled")


@click.group()
def routes() -> None:
    """List a merchant's webhook routes, halt and resume them."""


@routes.command("list")
@remote.merchant_option
@click.option("--state", type=click.Choice(STATES), default=None, help="Only routes in this state.")
@remote.connection
@options.as_json
def list_routes(
    merchant: str | None, state: str | None, url: str | None, key: str | None, as_json: bool
) -> None:
    """The merchant's routes."""
    rows = remote.run(url, key, lambda api: remote.every(api, "/v1/routes", remote.scope(merchant)))
    rows = [row for row in rows if state is None or row["state"] == state]
    if as_json:
        output.emit_json(rows)
    else:
        output.table(rows, ["id", "name", "state", "event_types", "target_id"], title="routes")


def _set_state(
    action: str, route: str, merchant: str | None, url: str | None, key: str | None
) -> dict[str, Any]:
    path = f"/v1/routes/{route}/{action}"
    changed: dict[str, Any] = remote.run(url, key, lambda api: api.post(path, {}, remote.scope(merchant)))
    return changed


@routes.command("halt")
@click.argument("route")
@remote.merchant_option
@remote.connection
@options.as_json
def halt(route: str, merchant: str | None, url: str | None, key: str | None, as_json: bool) -> None:
    """Halt a route.

    Its deliveries are held (kept, not tried) until it is resumed.
    """
    changed = _set_state("halt", route, merchant, url, key)
    if as_json:
        output.emit_json(changed)
    else:
        click.echo(f"hookline: route {changed['id']} ({changed['name']}) is {changed['state']}")


@routes.command("resume")
@click.argument("route")
@remote.merchant_option
@remote.connection
@options.as_json
def resume(route: str, merchant: str | None, url: str | None, key: str | None, as_json: bool) -> None:
    """Resume a halted route.

    Its held deliveries are released, oldest first.
    """
    changed = _set_state("resume", route, merchant, url, key)
    if as_json:
        output.emit_json(changed)
    else:
        click.echo(f"hookline: route {changed['id']} ({changed['name']}) is {changed['state']}")
