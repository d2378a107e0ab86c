"""Standard Webhooks: the reference vectors and behaviours for ``v1``, and ``v1a`` with a public key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hookline_verify import StandardWebhooks, VerificationError
from jwks_server import VECTORS, whpk

V1 = VECTORS["v1"][0]
V1A = VECTORS["v1a"][0]


def _headers(vector: dict[str, Any], signature: str | None = None) -> dict[str, str]:
    return {
        "webhook-id": vector["msg_id"],
        "webhook-timestamp": str(vector["timestamp"]),
        "webhook-signature": vector["signature"] if signature is None else signature,
    }


def _v1(secret: bytes, msg_id: str, ts: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _v1a(key: Ed25519PrivateKey, msg_id: str, ts: int, body: bytes) -> str:
    return "v1a," + base64.b64encode(key.sign(f"{msg_id}.{ts}.".encode() + body)).decode()


@pytest.mark.parametrize("vector", VECTORS["v1"], ids=lambda v: v["msg_id"])
def test_reference_v1_vectors_verify(vector: dict[str, Any]) -> None:
    at = vector["timestamp"]
    StandardWebhooks(secret=vector["secret"]).verify(vector["payload"], _headers(vector), now=at)
    StandardWebhooks(secret=vector["secret"]).verify(vector["payload"].encode(), _headers(vector), now=at)
    unprefixed = vector["secret"].removeprefix("whsec_")
    StandardWebhooks(secret=unprefixed).verify(vector["payload"], _headers(vector), now=at)


@pytest.mark.parametrize("signature", VECTORS["v1_invalid_signatures"])
def test_invalid_and_partial_signatures_are_refused(signature: str) -> None:
    with pytest.raises(VerificationError):
        StandardWebhooks(secret=V1["secret"]).verify(
            V1["payload"], _headers(V1, signature), now=V1["timestamp"]
        )


def test_one_valid_signature_among_others_is_enough() -> None:
    decoys = VECTORS["v1_invalid_signatures"]
    header = " ".join([*decoys[:3], V1["signature"], *decoys[3:]])
    StandardWebhooks(secret=V1["secret"]).verify(V1["payload"], _headers(V1, header), now=V1["timestamp"])


def test_anything_changed_is_refused() -> None:
    webhook = StandardWebhooks(secret=V1["secret"])
    at = V1["timestamp"]
    changed = [
        (V1["payload"] + " ", _headers(V1)),
        (V1["payload"], {**_headers(V1), "webhook-id": V1["msg_id"] + "x"}),
        (V1["payload"], {**_headers(V1), "webhook-timestamp": str(at + 1)}),
    ]
    for body, headers in changed:
        with pytest.raises(VerificationError):
            webhook.verify(body, headers, now=at)
    with pytest.raises(VerificationError):
        StandardWebhooks(secret=VECTORS["v1"][1]["secret"]).verify(V1["payload"], _headers(V1), now=at)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing: str) -> None:
    headers = _headers(V1)
    del headers[missing]
    with pytest.raises(VerificationError):
        StandardWebhooks(secret=V1["secret"]).verify(V1["payload"], headers, now=V1["timestamp"])


@pytest.mark.parametrize("ts", ["hello", "1614265330.0", "-1614265330", "", " 1614265330", "¹⁶¹⁴²⁶⁵³³⁰"])
def test_a_timestamp_that_is_not_a_number_is_refused(ts: str) -> None:
    headers = {**_headers(V1), "webhook-timestamp": ts}
    with pytest.raises(VerificationError, match="timestamp"):
        StandardWebhooks(secret=V1["secret"]).verify(V1["payload"], headers, now=V1["timestamp"])


def test_timestamp_tolerance_both_ways() -> None:
    webhook, at = StandardWebhooks(secret=V1["secret"]), V1["timestamp"]
    webhook.verify(V1["payload"], _headers(V1), now=at + 300)
    webhook.verify(V1["payload"], _headers(V1), now=at - 300)
    with pytest.raises(VerificationError, match="too old"):
        webhook.verify(V1["payload"], _headers(V1), now=at + 301)
    with pytest.raises(VerificationError, match="future"):
        webhook.verify(V1["payload"], _headers(V1), now=at - 301)
    StandardWebhooks(secret=V1["secret"], tolerance_s=3600).verify(V1["payload"], _headers(V1), now=at + 3000)
    with pytest.raises(VerificationError, match="too old"):  # the clock, years after the vector
        webhook.verify(V1["payload"], _headers(V1))


def test_header_names_in_any_case() -> None:
    headers = {name.title(): value for name, value in _headers(V1).items()}
    StandardWebhooks(secret=V1["secret"]).verify(V1["payload"], headers, now=V1["timestamp"])


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr"])
def test_unpadded_secrets(secret: str) -> None:
    key = base64.b64decode(secret + "=" * (-len(secret) % 4))
    headers = _headers(V1, _v1(key, V1["msg_id"], V1["timestamp"], V1["payload"].encode()))
    for given in (secret, "whsec_" + secret):
        StandardWebhooks(secret=given).verify(V1["payload"], headers, now=V1["timestamp"])


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", "whsec_a"])
def test_unusable_secrets_are_refused_at_once(secret: str) -> None:
    with pytest.raises(ValueError):
        StandardWebhooks(secret=secret)


def test_some_key_is_required() -> None:
    with pytest.raises(ValueError):
        StandardWebhooks()
    with pytest.raises(ValueError):
        StandardWebhooks(secret=[], public_key=[])


def test_reference_v1a_vector_verifies_with_its_public_key() -> None:
    at = V1A["timestamp"]
    for key in (V1A["public_key"], V1A["public_key"].removeprefix("whpk_")):
        StandardWebhooks(public_key=key).verify(V1A["payload"], _headers(V1A), now=at)
    with pytest.raises(VerificationError):
        StandardWebhooks(public_key=V1A["public_key"]).verify(V1A["payload"] + " ", _headers(V1A), now=at)
    other = whpk(Ed25519PrivateKey.generate())
    with pytest.raises(VerificationError):
        StandardWebhooks(public_key=other).verify(V1A["payload"], _headers(V1A), now=at)


def test_v1a_during_a_rotation_verifies_with_either_key() -> None:
    new, old = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    msg_id, ts, body = "msg_1", 1_700_000_000, b'{"id": "evt-1"}'
    header = " ".join(
        [
            _v1(b"some hmac key", msg_id, ts, body),
            _v1a(new, msg_id, ts, body),
            _v1a(old, msg_id, ts, body),
        ]
    )
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": header}
    for key in (new, old):
        StandardWebhooks(public_key=whpk(key)).verify(body, headers, now=ts)
    StandardWebhooks(public_key=[whpk(Ed25519PrivateKey.generate()), whpk(old)]).verify(body, headers, now=ts)
    StandardWebhooks(secret="whsec_" + base64.b64encode(b"some hmac key").decode()).verify(
        body, headers, now=ts
    )


def test_each_kind_of_key_checks_only_its_own_entries() -> None:
    key = Ed25519PrivateKey.generate()
    msg_id, ts, body = "msg_1", 1_700_000_000, b"{}"
    v1a = _v1a(key, msg_id, ts, body)
    only = {"webhook-id": msg_id, "webhook-timestamp": str(ts)}
    with pytest.raises(VerificationError):  # a v1a signature is no v1 one
        StandardWebhooks(secret=V1["secret"]).verify(body, {**only, "webhook-signature": v1a}, now=ts)
    relabelled = "v1," + v1a.removeprefix("v1a,")
    with pytest.raises(VerificationError):
        StandardWebhooks(public_key=whpk(key)).verify(body, {**only, "webhook-signature": relabelled}, now=ts)


@pytest.mark.parametrize("junk", ["v1a,", "v1a,***", "v1a,AAAA", "v1a", ",", "v1a,v1a,"])
def test_malformed_v1a_entries_are_skipped(junk: str) -> None:
    key = Ed25519PrivateKey.generate()
    msg_id, ts, body = "msg_1", 1_700_000_000, b"{}"
    webhook = StandardWebhooks(public_key=whpk(key))
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(ts)}
    with pytest.raises(VerificationError):
        webhook.verify(body, {**headers, "webhook-signature": junk}, now=ts)
    webhook.verify(body, {**headers, "webhook-signature": f"{junk} {_v1a(key, msg_id, ts, body)}"}, now=ts)


@pytest.mark.parametrize(
    "key", ["whpk_", "whpk_AAAA", "whpk_" + base64.b64encode(bytes(33)).decode(), "whpk_%%"]
)
def test_unusable_public_keys_are_refused_at_once(key: str) -> None:
    with pytest.raises(ValueError):
        StandardWebhooks(public_key=key)
