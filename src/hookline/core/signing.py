"""Signatures of outgoing webhooks: Ordergroove's header and Standard Webhooks.

The HMAC ones are HMAC-SHA256 over the exact body bytes with the same key bytes (the UTF-8 bytes of the
target's ``signing_key``); Standard Webhooks' asymmetric ``v1a`` is Ed25519 over the same message as its
``v1``, with the target's key pair (``hookline.core.keypairs``). During a key rotation both keys of each kind
sign, new key first, so receivers can switch at any moment of the 24 h window.

- ``Ordergroove-Signature: ts=<unix>,sig=<hex(HMAC(key, f"{ts}.{body}"))>[,sig=<old>]``
- ``webhook-signature: v1,<base64(HMAC(key, f"{id}.{ts}.{body}"))>[ v1,<old>]
  v1a,<base64(Ed25519(private key, f"{id}.{ts}.{body}"))>[ v1a,<old>]`` with ``webhook-id`` and
  ``webhook-timestamp`` (https://www.standardwebhooks.com/).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from hookline.core.models import Job, Signer

ORDERGROOVE_HEADER = "Ordergroove-Signature"
SECRET_PREFIX = "whsec_"


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def ordergroove_signature(keys: Sequence[bytes], ts: int, body: bytes) -> str:
    """The ``Ordergroove-Signature`` value: one ``sig=`` per key, in the order given."""
    message = str(ts).encode() + b"." + body
    return ",".join([f"ts={ts}", *(f"sig={_mac(key, message).hex()}" for key in keys)])


def standard_signature(
    keys: Sequence[bytes], msg_id: str, ts: int, body: bytes, signers: Sequence[Signer] = ()
) -> str:
    """The Standard Webhooks ``webhook-signature`` value: space-separated ``v1,<base64>`` entries, one per
    HMAC key, then ``v1a,<base64>`` entries, one per Ed25519 key (``signers``)."""
    message = f"{msg_id}.{ts}.".encode() + body
    entries = ["v1," + base64.b64encode(_mac(key, message)).decode() for key in keys]
    entries += ["v1a," + base64.b64encode(signer.sign(message)).decode() for signer in signers]
    return " ".join(entries)


def standard_secret(key: bytes) -> str:
    """The key as a Standard Webhooks secret (``whsec_`` + base64), for their verify libraries."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def headers(
    keys: Sequence[bytes],
    msg_id: str,
    event_id: str,
    ts: int,
    body: bytes,
    signers: Sequence[Signer] = (),
) -> dict[str, str]:
    """Every signing and identity header of one attempt.

    ``msg_id`` identifies the delivery (stable across its retries); ``event_id`` identifies the event (stable
    across routes and replays) for receivers that de-duplicate on the event. ``keys`` are the HMAC keys and
    ``signers`` the Ed25519 keys, each newest first.
    """
    return {
        ORDERGROOVE_HEADER: ordergroove_signature(keys, ts, body),
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": standard_signature(keys, msg_id, ts, body, signers),
        "Hookline-Event-Id": event_id,
    }


def attempt_headers(job: Job, ts: int) -> dict[str, str]:
    """The headers of one attempt of ``job`` at ``ts`` (the route's, then the signatures and identity)."""
    sent = dict(job.headers)
    sent.update(headers(job.keys, job.delivery_id, job.event_id, ts, job.payload, job.signers))
    return sent


def verify_ordergroove(key: bytes, header: str, body: bytes, *, now: int, tolerance_s: int = 300) -> bool:
    """True when ``header`` carries a valid signature of ``body`` by ``key`` within the tolerance.

    The receiving side of the scheme, for our verify helper and our tests.
    """
    ts_text: str | None = None
    sigs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "ts":
            ts_text = value
        elif name == "sig":
            sigs.append(value)
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if ts_text is None or not (ts_text.isascii() and ts_text.isdigit()):
        return False
    if abs(now - int(ts_text)) > tolerance_s:
        return False
    expected = _mac(key, ts_text.encode() + b"." + body).hex().encode()
    # Compared as bytes: compare_digest raises on str with non-ASCII characters.
    return any(hmac.compare_digest(expected, sig.encode()) for sig in sigs)
