"""A merchant's notification settings: who is told (e-mail addresses, a Slack-compatible webhook URL) and
of what (``route.halted``, ``route.failing``). See docs/notifications.md.

Every value is checked before anything is stored: a bad one answers 400 naming the field and changes
nothing. The Slack URL obeys the rules of a target's URL (``sender.guard``): http or https, and no
loopback, private or link-local host unless the operator allows private targets.
"""

from __future__ import annotations

import re
from typing import Any

from hookline.core import notices
from hookline.core.errors import Invalid
from hookline.core.models import JSON
from hookline.sender import guard
from hookline.service.context import Context
from hookline.storage import notifications as store

MAX_EMAILS = 10
MAX_EMAIL_LENGTH = 254
# One plain address (no display name): a dot-atom local part and a dotted domain of letters, digits and
# hyphens. No spaces, no second "@", nothing that could split an address list or a mail header.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+"
EMAIL = re.compile(EMAIL_PATTERN)


def render(channels: store.Channels) -> JSON:
    """The settings as the API and the dashboard show them."""
    return {
        "emails": list(channels.emails),
        "slack_webhook_url": channels.slack_webhook_url,
        "on": list(channels.on),
    }


async def get(ctx: Context, merchant_id: str) -> JSON:
    """The merchant's settings (the defaults until it saves some: nobody told, of both kinds)."""
    return render(await store.channels(ctx.db, merchant_id))


async def put(
    ctx: Context, merchant_id: str, emails: list[Any], slack_webhook_url: Any, on: list[Any]
) -> JSON:
    """Replace the merchant's settings with checked values."""
    channels = store.Channels(
        tuple(check_emails(emails)), check_slack(ctx, slack_webhook_url), tuple(check_on(on))
    )
    return render(await store.save(ctx.db, merchant_id, channels, ctx.clock()))


def check_emails(emails: list[Any]) -> list[str]:
    if len(emails) > MAX_EMAILS:
        raise Invalid(f"at most {MAX_EMAILS} e-mail addresses", fields={"emails": "too many"})
    found: list[str] = []
    for i, email in enumerate(emails):
        if not isinstance(email, str) or len(email) > MAX_EMAIL_LENGTH or EMAIL.fullmatch(email) is None:
            shown = repr(email[:80] if isinstance(email, str) else email)
            raise Invalid(
                f"emails[{i}]: {shown} is not an e-mail address such as ops@example.com",
                fields={f"emails.{i}": "not an e-mail address"},
            )
        if email.lower() not in (f.lower() for f in found):
            found.append(email)
    return found


def check_slack(ctx: Context, url: Any) -> str | None:
    if url is None or url == "":
        return None
    if not isinstance(url, str) or len(url) > 2000:
        raise Invalid("slack_webhook_url must be a URL", fields={"slack_webhook_url": "not a URL"})
    try:
        return guard.target_url(url, allow_private=ctx.allow_private_targets, require_https=ctx.require_https)
    except guard.Blocked as exc:
        raise Invalid(
            f"slack_webhook_url is not acceptable: {exc.reason}", fields={"slack_webhook_url": exc.reason}
        ) from None


def check_on(on: list[Any]) -> list[str]:
    unknown = [k for k in on if k not in notices.KINDS]
    if unknown:
        raise Invalid(
            f"on: {', '.join(map(str, unknown))} is not one of {', '.join(notices.KINDS)}",
            fields={"on": "unknown kind"},
        )
    return [k for k in notices.KINDS if k in on]
