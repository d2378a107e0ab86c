"""The running hookline that ``simulate`` and the management commands talk to: ``--url`` and ``--key``.

Management goes through the API rather than the database so that it works from any machine that reaches
the API, and so that every change passes the same checks, tenancy rules and side effects (held deliveries
released, keys cached and revoked) as one made in the dashboard.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hookline.cli import loop, options
from hookline.cli.exits import Exit, Failure
from hookline.config import Settings

if TYPE_CHECKING:
    from hookline.simulator.api_client import ApiClient

url_option = click.option(
    "--url",
    metavar="URL",
    default=None,
    help="The hookline API [env: HOOKLINE_API_URL; default: http://HOOKLINE_HOST:HOOKLINE_PORT].",
)
key_option = click.option("--key", default=None, help="The operator key [env: HOOKLINE_OPERATOR_KEY].")
merchant_option = click.option(
    "--merchant", "-m", metavar="ID", default=None, help="The merchant acted for (with the operator key)."
)
RETRIES = 2  # a 503 or a refused connection is tried again twice, briefly: a person is waiting


T = TypeVar("T")


def connection(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--url`` and ``--key`` on a command."""
    return url_option(key_option(command))


def run(url: str | None, key: str | None, work: Callable[[ApiClient], Awaitable[T]]) -> T:
    """``work`` with a client of the API ``--url`` / ``--key`` name (or the settings do), on a loop."""
    settings = options.settings()
    base, chosen = base_url(settings, url), key_of(settings, key)

    async def main() -> T:
        async with connected(base, chosen) as client:
            return await work(client)

    return loop.run(main())


def scope(merchant: str | None) -> dict[str, str] | None:
    """The query that makes the operator key act for ``merchant`` (none for a merchant's own key)."""
    return {"merchant": merchant} if merchant else None


async def every(client: ApiClient, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
    """Every row of a paginated list."""
    return [row async for row in client.pages(path, params)]


def base_url(settings: Settings, url: str | None) -> str:
    """``--url``, else ``HOOKLINE_API_URL``, else the API this machine's settings would serve."""
    if url or settings.api_url:
        return (url or settings.api_url).rstrip("/")
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    return f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"


def key_of(settings: Settings, key: str | None) -> str:
    chosen = key or settings.operator_key
    if not chosen:
        raise click.UsageError("give the operator key: --key, or HOOKLINE_OPERATOR_KEY")
    return chosen


@contextlib.asynccontextmanager
async def connected(url: str, key: str) -> AsyncIterator[ApiClient]:
    """A client of the API at ``url``; what the API refuses becomes a ``Failure`` with its problem detail."""
    from hookline.simulator.api_client import ApiError, open_api_client

    async with open_api_client(
        url, key, retries=RETRIES, timeout_s=60.0, user_agent="hookline-cli"
    ) as client:
        try:
            yield client
        except ApiError as exc:
            raise refusal(url, exc) from exc


def refusal(url: str, exc: Exception) -> Failure:
    """The ``Failure`` for an ``ApiError``: unreachable (exit 6), or what the API answered (exit 1)."""
    status = getattr(exc, "status", None)
    if status == 0:
        detail = getattr(exc, "detail", str(exc))
        return Failure(
            Exit.API,
            f"cannot reach hookline at {url} ({detail}): is it running? Check --url / HOOKLINE_API_URL",
        )
    if status == 401:
        return Failure(Exit.FAILED, f"{exc}: check --key / HOOKLINE_OPERATOR_KEY")
    return Failure(Exit.FAILED, str(exc))
