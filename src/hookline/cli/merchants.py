"""``hookline merchants``: create and list merchants, and manage their API keys (through the API)."""

from __future__ import annotations

from typing import Any

import click

from hookline.cli import options, output, remote


@click.group()
def merchants() -> None:
    """Create and list merchants, and manage their API keys."""


@merchants.command("list")
@remote.connection
@options.as_json
def list_merchants(url: str | None, key: str | None, as_json: bool) -> None:
    """Every merchant."""
    rows = remote.run(url, key, lambda api: remote.every(api, "/v1/merchants"))
    if as_json:
        output.emit_json(rows)
    else:
        output.table(rows, ["id", "name", "created"], title="merchants")


@merchants.command("create")
@click.argument("name")
@remote.connection
@options.as_json
def create(name: str, url: str | None, key: str | None, as_json: bool) -> None:
    """A new merchant called NAME.

    Its first API key is printed, and only now.
    """
    made: dict[str, Any] = remote.run(url, key, lambda api: api.post("/v1/merchants", {"name": name}))
    if as_json:
        output.emit_json(made)
        return
    output.facts([("id", made["id"]), ("name", made["name"]), ("api key", made["api_key"])])
    click.echo("The API key is shown only now: give it to the merchant or keep it.", err=True)


@merchants.group()
def keys() -> None:
    """A merchant's API keys: list, add, revoke."""


@keys.command("list")
@click.argument("merchant")
@remote.connection
@options.as_json
def list_keys(merchant: str, url: str | None, key: str | None, as_json: bool) -> None:
    """A merchant's API keys.

    Each by id and a hint: the keys themselves are stored hashed.
    """
    # One answer holds every key (the list is not paginated).
    listed: dict[str, Any] = remote.run(url, key, lambda api: api.get(f"/v1/merchants/{merchant}/api-keys"))
    rows = listed["data"]
    if as_json:
        output.emit_json(rows)
    else:
        output.table(rows, ["id", "hint", "created", "revoked"], title=f"API keys of {merchant}")


@keys.command("add")
@click.argument("merchant")
@remote.connection
@options.as_json
def add_key(merchant: str, url: str | None, key: str | None, as_json: bool) -> None:
    """A new API key for a merchant.

    It is printed, and only now; the merchant's other keys keep working.
    """
    made: dict[str, Any] = remote.run(
        url, key, lambda api: api.post(f"/v1/merchants/{merchant}/api-keys", {})
    )
    if as_json:
        output.emit_json(made)
        return
    output.facts([("id", made["id"]), ("api key", made["api_key"])])
    click.echo("The API key is shown only now.", err=True)


@keys.command("revoke")
@click.argument("merchant")
@click.argument("key_id")
@remote.connection
@options.yes
def revoke_key(merchant: str, key_id: str, url: str | None, key: str | None, yes: bool) -> None:
    """Revoke one of a merchant's API keys.

    Requests with KEY_ID are refused from now on. It asks first (--yes does not).
    """
    options.confirm(f"Revoke key {key_id} of merchant {merchant}?", yes=yes, declined="nothing revoked")
    remote.run(url, key, lambda api: api.delete(f"/v1/merchants/{merchant}/api-keys/{key_id}"))
    click.echo(f"hookline: key {key_id} of {merchant} revoked")
