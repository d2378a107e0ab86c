"""``hookline listen``: a listener route's deliveries, forwarded to a local URL (docs/listen.md)."""

from __future__ import annotations

import click

from hookline.cli import loop, options, remote
from hookline.cli.exits import Exit, Failure


@click.command()
@click.option(
    "--route", "-r", metavar="ID", required=True, help="The route to listen to (its target: listen://…)."
)
@click.option(
    "--forward",
    "--forward-to",
    "forward",
    metavar="URL",
    required=True,
    help="Where each delivery is POSTed, e.g. http://localhost:3000/webhooks.",
)
@remote.merchant_option
@remote.url_option
@click.option(
    "--key",
    default=None,
    help="The merchant's API key (or the operator key with --merchant) [env: HOOKLINE_OPERATOR_KEY].",
)
def listen(route: str, forward: str, merchant: str | None, url: str | None, key: str | None) -> None:
    """Receive a listener route's deliveries on this machine and forward them to a local URL.

    The route's target must be a listener (url listen://<name>). Each delivery is POSTed to --forward with
    the headers and body an HTTP target would get (signatures included), one line is printed per delivery
    (event type, local status, time), and the answer is reported back: hookline records the attempt, and
    retries on the route's schedule what failed. Ctrl-C stops.
    """
    from hookline.sender.listen_client import Listen, Refused

    settings = options.settings()
    base, chosen = remote.base_url(settings, url), key or settings.operator_key
    if not chosen:
        raise click.UsageError(
            "give the merchant's API key: --key (or HOOKLINE_OPERATOR_KEY with --merchant)"
        )

    async def main() -> None:
        listening = Listen(base, chosen, route, forward, say=lambda line: click.echo(line), merchant=merchant)
        try:
            await listening.run()
        finally:
            await listening.close()

    try:
        loop.run(main())
    except KeyboardInterrupt:
        click.echo("hookline: stopped listening")
    except Refused as exc:
        hint = ": check --key" if exc.status in (401, 403) else ""
        raise Failure(
            Exit.FAILED, f"hookline at {base} refused to stream route {route}: {exc}{hint}"
        ) from exc
