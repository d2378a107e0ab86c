"""``hookline doctor``: is this installation ready to deliver? One line per check, and what to do.

It reads the same settings a process would and looks at what a process needs: the settings themselves,
the database (reachable, migrated), the clocks (leases, retries and signature timestamps compare times
taken on different machines), mail (when notifications are configured), and the way out to the merchants'
targets (each distinct target host, up to ``EGRESS_SAMPLE``, resolved, checked against the SSRF guard and
connected to). A failed check makes the exit code 1; a warning does not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from hookline.cli import loop, options, output
from hookline.cli.exits import Exit, Failure
from hookline.config import PREFIX, Settings
from hookline.core import errors

if TYPE_CHECKING:
    from hookline.storage.database import Database

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skipped"
CLOCK_WARN_S, CLOCK_FAIL_S = 1.0, 30.0  # retries are seconds apart; a signature tolerance is minutes
EGRESS_SAMPLE = 20
CONNECT_TIMEOUT_S = 3.0
CLIENTS = ("curl", "aiohttp")


@dataclass(frozen=True, slots=True)
class Check:
    check: str
    status: str
    detail: str


@click.command()
@options.database_url
@options.as_json
def doctor(database_url: str | None, as_json: bool) -> None:
    """Check the database, schema, clock, settings and outgoing network."""
    settings = options.settings(database_url=database_url)
    checks = [*_settings(settings), *loop.run(_with_database(settings))]
    if as_json:
        output.emit_json([dataclasses.asdict(c) for c in checks])
    else:
        output.table([dataclasses.asdict(c) for c in checks], ["check", "status", "detail"])
    failed = [c.check for c in checks if c.status == FAIL]
    if failed:
        raise Failure(Exit.FAILED, f"{len(failed)} check(s) failed: {', '.join(failed)}")


def _settings(settings: Settings) -> list[Check]:
    fields = dataclasses.fields(Settings)
    changed = [PREFIX + f.name.upper() for f in fields if getattr(settings, f.name) != f.default]
    found = [Check("settings", OK, f"set: {', '.join(changed) or 'none (all defaults)'}")]
    if not settings.operator_key:
        found.append(
            Check("operator key", WARN, "HOOKLINE_OPERATOR_KEY is not set: the first start made one")
        )
    from hookline.core.credentials import Keyring

    try:
        Keyring.from_settings(settings.secret_key, settings.secret_key_old)
    except ValueError as exc:
        found.append(Check("secret key", FAIL, str(exc)))
    if settings.allow_private_targets:
        found.append(Check("targets", WARN, "private and loopback targets allowed: for development only"))
    if settings.http_client not in CLIENTS:
        found.append(
            Check("http client", FAIL, f"HOOKLINE_HTTP_CLIENT={settings.http_client!r}: use curl or aiohttp")
        )
    if settings.egress_proxy:
        from hookline.sender import egress

        try:
            egress.parse(settings.egress_proxy)
        except ValueError as exc:
            found.append(Check("egress proxy", FAIL, f"HOOKLINE_EGRESS_PROXY is not a proxy URL: {exc}"))
    if settings.lease_s <= 30:
        detail = f"HOOKLINE_LEASE_S={settings.lease_s:g} is not longer than the longest route timeout (30 s)"
        found.append(Check("lease", WARN, f"{detail}: a slow attempt may be sent twice"))
    return found


async def _with_database(settings: Settings) -> list[Check]:
    from hookline.runtime import database
    from hookline.storage import preflight

    db = database(settings)
    try:
        try:
            await preflight.check(db, create=False)
        except errors.Unavailable as exc:
            skipped = [Check(name, SKIP, "no database") for name in ("schema", "clock", "egress")]
            return [
                Check("database", FAIL, exc.detail),
                *skipped,
                *await _mail(settings),
                *await _proxy(settings),
            ]
        found = [Check("database", OK, f"{preflight.describe(db)}: reachable"), await _schema(db)]
        found.append(await _clock(db))
        found += await _mail(settings)
        found += await _proxy(settings)
        found.append(await _egress(db, settings))
        return found
    finally:
        await db.close()


async def _schema(db: Database) -> Check:
    from hookline.storage import migrate

    current, head = await migrate.revisions(db)
    if current == head:
        return Check("schema", OK, f"revision {head}, up to date")
    if current is None:
        return Check("schema", FAIL, "no hookline schema: run `hookline migrate`")
    if migrate.known(current):
        return Check(
            "schema", FAIL, f"revision {current}, this hookline needs {head}: run `hookline migrate`"
        )
    return Check(
        "schema", WARN, f"revision {current}, made by a newer hookline (this one knows up to {head})"
    )


async def _clock(db: Database) -> Check:
    from hookline.storage import health

    skew = await health.clock_skew(db)
    if skew is None:
        return Check("clock", OK, "SQLite: the database keeps time by this machine's clock")
    detail = f"PostgreSQL's clock is {abs(skew):.3f} s {'ahead of' if skew > 0 else 'behind'} this machine's"
    if abs(skew) >= CLOCK_FAIL_S:
        return Check("clock", FAIL, f"{detail}: synchronise both (NTP)")
    return Check("clock", WARN if abs(skew) >= CLOCK_WARN_S else OK, detail)


async def _mail(settings: Settings) -> list[Check]:
    """The SMTP server of the notifications (docs/notifications.md), when one is set."""
    from hookline.sender import mail

    if not settings.smtp_url:
        return [Check("mail", SKIP, "no SMTP server configured (e-mail notifications wait)")]
    try:
        server = mail.parse(settings.smtp_url)
    except ValueError as exc:
        return [Check("mail", FAIL, f"HOOKLINE_SMTP_URL is not an SMTP URL: {exc}")]
    where = f"{server.host}:{server.port}"
    problem = await mail.Mailer(server, settings.smtp_from, timeout_s=CONNECT_TIMEOUT_S).reachable()
    if problem is not None:
        return [Check("mail", FAIL, f"SMTP server {where}: {problem}")]
    return [Check("mail", OK, f"SMTP server {where} answers")]


async def _proxy(settings: Settings) -> list[Check]:
    """The egress proxy (``HOOKLINE_EGRESS_PROXY``), when one is set: does it accept connections?"""
    from hookline.sender import egress

    if not settings.egress_proxy:
        return []
    try:
        proxy = egress.parse(settings.egress_proxy)
    except ValueError:
        return []  # said by the settings check
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(proxy.host, proxy.port), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        return [Check("egress proxy", FAIL, f"{proxy.url}: {exc or 'timed out'}")]
    writer.close()
    return [Check("egress proxy", OK, f"{proxy.url} accepts connections")]


async def _egress(db: Database, settings: Settings) -> Check:
    from hookline.storage import health

    count, urls = await health.target_urls(db, EGRESS_SAMPLE)
    if not urls:
        return Check("egress", SKIP, "no enabled targets yet")
    hosts = sorted({_host_port(url) for url in urls})
    problems = [p for p in await asyncio.gather(*(_reach(h, p, settings) for h, p in hosts)) if p]
    sample = f"{len(hosts)} target host(s)" + (f" of {count} targets" if count > len(urls) else "")
    if problems:
        return Check("egress", FAIL, f"{len(problems)} of {sample} not reachable: {'; '.join(problems)}")
    return Check("egress", OK, f"{sample} reachable")


def _host_port(url: str) -> tuple[str, int]:
    from hookline.sender import urls

    parts = urlsplit(url)
    default = {**urls.DEFAULT_PORTS, **urls.BROKER_PORTS}.get(parts.scheme, 80)  # broker targets too
    return parts.hostname or "", parts.port or default


async def _reach(host: str, port: int, settings: Settings) -> str | None:
    """Why ``host:port`` cannot be delivered to from here, or None."""
    from hookline.sender import guard

    where = f"{host}:{port}"
    running = asyncio.get_running_loop()
    try:
        found: list[Any] = await running.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"{where}: cannot resolve ({exc})"
    address = found[0][4][0]
    if not settings.allow_private_targets and (refused := guard.refusal(ipaddress.ip_address(address))):
        return f"{where}: {refused}"
    if settings.egress_proxy:
        return None  # the proxy connects to it, not this machine (the proxy has its own check)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        return f"{where}: {exc or 'timed out'}"
    writer.close()
    return None
