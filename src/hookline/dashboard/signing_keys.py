"""A target's keys as the dashboard shows them: on a target's page and a webhook's (both Reveal buttons)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from hookline.core import signing
from hookline.core.models import Target
from hookline.dashboard import web
from hookline.service import targets


def keys_of(target: Target, now: float) -> dict[str, Any]:
    """Every key a receiver may need: the signing key and its Standard Webhooks secret, the public key, and
    during a rotation the expiring key (and secret) with the time it stops signing."""
    live = targets.live_keys(target, now)
    expiring = live.expiring_signing_key
    return {
        "signing_key": live.signing_key,
        "standard_webhooks_secret": signing.standard_secret(live.signing_key.encode()),
        "public_key": live.public_key,
        "expiring_signing_key": expiring,
        "expiring_standard_webhooks_secret": signing.standard_secret(expiring.encode()) if expiring else None,
        "signing_key_expiry": live.signing_key_expiry,
    }


def revealed(target: Target, now: float) -> JSONResponse:
    """The keys for a Reveal button's request (never cached: the dashboard's answers never are)."""
    keys = keys_of(target, now)
    return JSONResponse({**keys, "signing_key_expiry": web.iso(keys["signing_key_expiry"]) or None})
