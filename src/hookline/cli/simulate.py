"""``hookline simulate``: a simulated subscription program's objects and events, into a running hookline."""

from __future__ import annotations

import datetime
import random
import time

import click

from hookline.cli import loop, options, remote


@click.command()
@remote.url_option
@click.option(
    "--key",
    default=None,
    help="The operator key (with --merchant) or a merchant key [default: HOOKLINE_OPERATOR_KEY].",
)
@click.option("--merchant", default=None, help="The merchant id the operator key sends for.")
@click.option(
    "--rate", type=click.FloatRange(min=0.01), default=10.0, show_default=True, help="Events a second."
)
@click.option(
    "--events", "count", type=click.IntRange(min=1), default=None, help="Stop after this many events."
)
@click.option(
    "--duration", type=click.FloatRange(min=0.1), default=None, help="Stop after this many seconds."
)
@click.option(
    "--batch", type=click.IntRange(1, 500), default=1, show_default=True, help="Events per request."
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="The same seed and start date give the same stream [default: random].",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Simulated start date (UTC) [default: now].",
)
def simulate(
    url: str | None,
    key: str | None,
    merchant: str | None,
    rate: float,
    count: int | None,
    duration: float | None,
    batch: int,
    seed: int | None,
    start: datetime.datetime | None,
) -> None:
    """Drive a simulated subscription program's events into hookline.

    Runs until --events or --duration (whichever first), or Ctrl-C; prints its progress every second.
    """
    from hookline.simulator import driver
    from hookline.simulator.api_client import ApiError

    settings = options.settings()
    key = key or settings.operator_key
    if not key:
        raise click.UsageError("give --key (a merchant key, or the operator key with --merchant)")
    seed = random.SystemRandom().randrange(10**6) if seed is None else seed
    begin = int(start.replace(tzinfo=datetime.UTC).timestamp()) if start else int(time.time())
    run_options = driver.Options(rate=rate, events=count, duration_s=duration, batch=batch, merchant=merchant)
    progress = driver.Progress()
    base = remote.base_url(settings, url)
    click.echo(f"simulate: seed {seed}, {rate:g} events/s, batches of {batch}")

    async def run() -> None:
        await driver.simulate(
            base,
            key,
            run_options,
            seed=seed,
            start=begin,
            on_tick=lambda p: click.echo(f"simulate: {p.line()}"),
            notice=lambda text: click.echo(f"simulate: {text}", err=True),
            progress=progress,
        )

    try:
        loop.run(run())
    except KeyboardInterrupt:
        click.echo("simulate: interrupted", err=True)
    except ApiError as exc:
        failure = remote.refusal(base, exc)
        failure.message = f"{failure.message} (after {progress.sent} events)"
        raise failure from None
    click.echo(f"simulate: done: {progress.line().strip()}; seed {seed}")
    if progress.last_error:
        click.echo(f"simulate: last error: {progress.last_error}", err=True)
