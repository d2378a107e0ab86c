"""Targets: a merchant's receiving URLs, their signing keys (with 24 h dual signing on rotation), and the
credentials they authenticate to their receivers with (``hookline.core.credentials``, sealed before storing).

Each target has an HMAC key and an Ed25519 key pair (``core.keypairs``); they are rotated together and
share one window, so a receiver that switches from one kind to the other never meets a gap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets

from hookline.core import credentials, ids, keypairs
from hookline.core.errors import Conflict, Invalid, NotFound
from hookline.core.models import JSON, Changes, Target
from hookline.sender import guard, listener
from hookline.sender.destinations import spec
from hookline.service.context import Context
from hookline.storage import records, routes, target_keys

ROTATION_WINDOW_S = 24 * 3600
#: ``update``'s ``auth`` when the request leaves it alone (None removes it).
UNCHANGED: object = object()
NO_KEY = (
    "endpoint credentials cannot be saved: this hookline has no HOOKLINE_SECRET_KEY to encrypt them with "
    "(see docs/security.md)"
)


def check_url(ctx: Context, url: object) -> str:
    """The URL as a target would store it; Invalid (``url``) when it is not acceptable."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid("a target needs a url", fields={"url": "required"})
    if len(url) > 2000:
        raise Invalid("the url is too long (2000 characters at most)", fields={"url": "too long"})
    if listener.is_listener(url):
        try:
            return listener.check_url(url)
        except listener.BadListenerUrl as exc:
            raise Invalid(f"the url is not acceptable: {exc.reason}", fields={"url": exc.reason}) from None
    try:
        if spec.kind_of(url) is not None:
            return guard.broker_url(url, allow_private=ctx.allow_private_targets)
        return guard.target_url(url, allow_private=ctx.allow_private_targets, require_https=ctx.require_https)
    except guard.Blocked as exc:
        raise Invalid(f"the url is not acceptable: {exc.reason}", fields={"url": exc.reason}) from None


def destination_after(current: Target, new_url: str, destination: object) -> JSON | None:
    """The destination a target (``current``) has once its URL is ``new_url`` and its destination
    ``destination`` (None: unchanged); Invalid when the pair is not acceptable. The pair is checked
    together: a new URL of the same broker kind keeps the destination, another kind needs one."""
    same_kind = spec.kind_of(current.url) == spec.kind_of(new_url)
    kept = current.destination if same_kind else None
    return _check_destination(new_url, kept if destination is None else destination)


def _check_destination(url: str, destination: object) -> JSON | None:
    """A broker target's destination as stored (None for an HTTP target, which has none)."""
    kind = spec.kind_of(url)
    if kind is None:
        if destination is not None:
            reason = "only a broker target (redis://…) has a destination"
            raise Invalid(reason, fields={"destination": reason})
        return None
    try:
        return spec.check(kind, destination)
    except spec.BadDestination as exc:
        field = "destination" if exc.field == "destination" else f"destination.{exc.field}"
        raise Invalid(
            f"the destination is not acceptable: {field}: {exc.reason}", fields={field: exc.reason}
        ) from None


def sealed_auth(ctx: Context, value: object) -> JSON | None:
    """``auth`` as a target stores it (public fields and the sealed whole); None for null.

    Invalid (``auth…``) when it cannot be used, Conflict when there is no key to seal it with. No message
    repeats a secret."""
    if value is None:
        return None
    try:
        auth = credentials.parse(value)
    except credentials.BadAuth as exc:
        raise Invalid(
            f"the auth is not acceptable: {exc.field} {exc.reason}", fields={exc.field: exc.reason}
        ) from None
    if isinstance(auth, credentials.OAuth2):
        try:
            url = guard.target_url(
                auth.token_url, allow_private=ctx.allow_private_targets, require_https=ctx.require_https
            )
        except guard.Blocked as exc:
            reason = f"is not acceptable: {exc.reason}"
            raise Invalid(
                f"the auth is not acceptable: auth.token_url {reason}", fields={"auth.token_url": reason}
            ) from None
        auth = credentials.OAuth2(url, auth.client_id, auth.client_secret, auth.scope)
    if ctx.keyring is None:
        raise Conflict(NO_KEY)
    return ctx.keyring.seal(auth)


def new_signing_key() -> str:
    return secrets.token_urlsafe(32)


async def create(
    ctx: Context,
    merchant_id: str,
    url: object,
    enabled: bool = True,
    *,
    destination: object = None,
    auth: object = None,
) -> Target:
    now = ctx.clock()
    checked_url = check_url(ctx, url)
    if auth is not None and listener.is_listener(checked_url):
        reason = "a listener target has no endpoint credentials: hookline listen sends to its local URL as is"
        raise Invalid(reason, fields={"auth": reason})
    row = {
        "id": ids.new("tgt"),
        "merchant_id": merchant_id,
        "url": checked_url,
        "destination": _check_destination(checked_url, destination),
        "enabled": enabled,
        "auth": sealed_auth(ctx, auth),
        "signing_key": new_signing_key(),
        "expiring_signing_key": None,
        "signing_key_expiry": None,
        "ed25519_private_key": keypairs.new_private_key(),
        "expiring_ed25519_private_key": None,
        "created": now,
        "updated": now,
        "deleted": None,
    }
    return shown(await records.add(ctx.db, records.TARGETS, row))


def shown(target: Target) -> Target:
    """The target as it is shown (API, dashboard): a broker URL's credentials are write-only."""
    return dataclasses.replace(target, url=spec.masked(target.url))


async def get(ctx: Context, merchant_id: str, target_id: str) -> Target:
    return shown(await records.get(ctx.db, records.TARGETS, merchant_id, target_id))


async def page(ctx: Context, merchant_id: str, limit: int, cursor: str | None) -> list[Target]:
    return [shown(row) for row in await records.page(ctx.db, records.TARGETS, merchant_id, limit, cursor)]


async def update(
    ctx: Context,
    merchant_id: str,
    target_id: str,
    url: object = None,
    enabled: bool | None = None,
    destination: object = None,
    auth: object = UNCHANGED,
) -> Target:
    """Change the URL, the destination (None: unchanged), ``enabled`` or ``auth`` (replaced whole; None
    removes it).

    Disabling cancels the pending and held deliveries of the target's routes in the same transaction, as
    disabling a route does (and as ``/webhook_targets`` always did): a merchant who disables an endpoint
    during an incident gets no more traffic, retries included."""
    now = ctx.clock()
    values: Changes = {"updated": now}
    if url is not None:
        values["url"] = check_url(ctx, url)
    if enabled is not None:
        values["enabled"] = enabled
    if auth is not UNCHANGED:
        values["auth"] = sealed_auth(ctx, auth)
    async with ctx.db.write() as conn:
        if url is not None or destination is not None:
            # The pair is checked together: a new URL may keep the destination, or need another one.
            current = await records.fetch(conn, records.TARGETS, merchant_id, target_id)
            if values.get("url") == spec.masked(current.url):
                values["url"] = current.url  # the URL as shown, sent back: its password is kept
            new_url = str(values.get("url", current.url))
            values["destination"] = destination_after(current, new_url, destination)
        row = await records.change(conn, records.TARGETS, merchant_id, target_id, values)
        if enabled is False:
            await routes.target_disabled(conn, target_id, now)
        return shown(row)


async def used_by(ctx: Context, merchant_id: str, target_id: str) -> list[str]:
    """The ids of the merchant's routes that send to this target."""
    return await routes.using_target(ctx.db, merchant_id, target_id)


async def delete(ctx: Context, merchant_id: str, target_id: str) -> None:
    used_by = await routes.using_target(ctx.db, merchant_id, target_id)
    if used_by:
        raise Conflict(f"target {target_id} is used by route(s) {', '.join(used_by)}; delete those first")
    async with ctx.db.write() as conn:
        await records.fetch(conn, records.TARGETS, merchant_id, target_id)  # 404 when missing or foreign
        # records.change re-reads the row, which a soft delete has just made invisible: not an error here.
        with contextlib.suppress(NotFound):
            await records.change(conn, records.TARGETS, merchant_id, target_id, {"deleted": ctx.clock()})


@dataclasses.dataclass(frozen=True, slots=True)
class LiveKeys:
    """The signing-key view of a target: the expiring key only while its window lasts; the key pair's
    public half."""

    signing_key: str
    expiring_signing_key: str | None
    signing_key_expiry: float | None
    public_key: str | None


def live_keys(target: Target, now: float) -> LiveKeys:
    expiring = target.expiring_signing_key if target.in_rotation(now) else None
    private = target.ed25519_private_key
    return LiveKeys(
        target.signing_key,
        expiring,
        target.signing_key_expiry if expiring else None,
        keypairs.standard_public_key(private) if private else None,
    )


async def public_keys(ctx: Context, target_id: str) -> list[dict[str, str]]:
    """The JWKS keys of a live target of any merchant (the document is public): the current key, then the
    expiring one while the rotation window lasts."""
    found = await target_keys.of(ctx.db, target_id)
    if found is None:
        raise NotFound(f"target {target_id} not found")
    private = [found.ed25519_private_key]
    if found.in_rotation(ctx.clock()):
        private.append(found.expiring_ed25519_private_key)
    return [keypairs.jwk(key) for key in private if key]


async def rotate(ctx: Context, merchant_id: str, target_id: str) -> Target:
    """New signing keys (HMAC and Ed25519); the old ones keep signing for 24 h from the first rotation of the
    window.

    A second rotation inside the window replaces the new key but neither extends the window nor drops the
    key that was current when the window opened, as Ordergroove documents.
    """
    now = ctx.clock()
    async with ctx.db.write() as conn:
        target = await records.fetch(conn, records.TARGETS, merchant_id, target_id)
        values: Changes = {
            "signing_key": new_signing_key(),
            "ed25519_private_key": keypairs.new_private_key(),
            "updated": now,
        }
        if not target.in_rotation(now):
            values["expiring_signing_key"] = target.signing_key
            values["expiring_ed25519_private_key"] = target.ed25519_private_key
            values["signing_key_expiry"] = now + ROTATION_WINDOW_S
        return await records.change(conn, records.TARGETS, merchant_id, target_id, values)
