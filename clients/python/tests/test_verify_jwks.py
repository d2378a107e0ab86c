"""``v1a`` with a JWKS URL: a real HTTP server on 127.0.0.1 serves the document; fetching, caching, early
refresh for a key not seen, stale keys when a fetch fails, and documents that are not usable."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hookline_verify import KeyFetchError, StandardWebhooks, VerificationError
from hookline_verify.jwks import Jwks
from jwks_server import VECTORS, JwksServer, jwk, public_raw, serving

V1A = VECTORS["v1a"][0]
MSG_ID, TS, BODY = "msg_1", 1_700_000_000, b'{"id": "evt-1"}'


@pytest.fixture
def server() -> Iterator[JwksServer]:
    with serving() as started:
        yield started


def _signed(*keys: Ed25519PrivateKey) -> dict[str, str]:
    message = f"{MSG_ID}.{TS}.".encode() + BODY
    header = " ".join("v1a," + base64.b64encode(k.sign(message)).decode() for k in keys)
    return {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": header}


def test_the_vector_verifies_with_keys_from_the_document(server: JwksServer) -> None:
    server.document = {"keys": [{"kty": "RSA", "n": "…", "e": "AQAB"}, V1A["jwk"]]}  # others are skipped
    headers = {
        "webhook-id": V1A["msg_id"],
        "webhook-timestamp": str(V1A["timestamp"]),
        "webhook-signature": V1A["signature"],
    }
    webhook = StandardWebhooks(jwks_url=server.url)
    webhook.verify(V1A["payload"], headers, now=V1A["timestamp"])
    webhook.verify(V1A["payload"], headers, now=V1A["timestamp"])
    assert server.requests == 1  # cached
    with pytest.raises(VerificationError):
        webhook.verify(V1A["payload"] + " ", headers, now=V1A["timestamp"])


def test_keys_are_fetched_again_once_the_cache_ends(server: JwksServer) -> None:
    key = Ed25519PrivateKey.generate()
    server.document = {"keys": [jwk(key)]}
    webhook = StandardWebhooks(jwks_url=server.url, jwks_cache_s=0)
    for _ in range(3):
        webhook.verify(BODY, _signed(key), now=TS)
    assert server.requests == 3


def test_a_key_not_seen_is_looked_for_at_most_every_min_refresh() -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    now = [0.0]
    with serving() as server:
        server.document = {"keys": [jwk(first)]}
        jwks = Jwks(server.url, min_refresh_s=30, clock=lambda: now[0])
        assert [k.raw for k in jwks.current()] == [public_raw(first)]
        server.document = {"keys": [jwk(second), jwk(first)]}  # a rotation
        now[0] = 10.0
        assert jwks.refreshed() is None  # too soon after the last fetch: a forgery cannot make us fetch
        assert [k.raw for k in jwks.current()] == [public_raw(first)]
        now[0] = 31.0
        refreshed = jwks.refreshed()
        assert refreshed is not None and [k.raw for k in refreshed] == [public_raw(second), public_raw(first)]
        assert server.requests == 2


def test_known_keys_keep_serving_when_a_fetch_fails(server: JwksServer) -> None:
    key = Ed25519PrivateKey.generate()
    server.document = {"keys": [jwk(key)]}
    webhook = StandardWebhooks(jwks_url=server.url, jwks_cache_s=0)
    webhook.verify(BODY, _signed(key), now=TS)
    server.status = 500
    webhook.verify(BODY, _signed(key), now=TS)
    assert server.requests == 2


@pytest.mark.parametrize(
    ("status", "document"),
    [
        (404, {"type": "about:blank", "status": 404}),
        (200, {"keys": "not a list"}),
        (200, {"no": "keys"}),
        (200, ["keys"]),
        (200, {"keys": [{"kty": "OKP", "crv": "Ed25519"}]}),
        (200, {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}),
    ],
)
def test_no_usable_document_and_nothing_cached(server: JwksServer, status: int, document: Any) -> None:
    server.status, server.document = status, document
    with pytest.raises(KeyFetchError):
        StandardWebhooks(jwks_url=server.url).verify(BODY, _signed(Ed25519PrivateKey.generate()), now=TS)


def test_redirects_are_not_followed(server: JwksServer) -> None:
    key = Ed25519PrivateKey.generate()
    server.document = {"keys": [jwk(key)]}
    StandardWebhooks(jwks_url=server.url).verify(BODY, _signed(key), now=TS)
    moved = server.url.replace("tgt_1", "moved")
    with pytest.raises(KeyFetchError):
        StandardWebhooks(jwks_url=moved).verify(BODY, _signed(key), now=TS)
    assert server.requests == 2  # the document, the redirect, and nothing after it


def test_an_unreachable_document_is_a_key_fetch_error() -> None:
    with serving() as server:
        url = server.url
    with pytest.raises(KeyFetchError):  # the server is gone: connection refused
        StandardWebhooks(jwks_url=url).verify(BODY, _signed(Ed25519PrivateKey.generate()), now=TS)


def test_no_fetch_without_a_v1a_signature(server: JwksServer) -> None:
    secret = b"hmac key"
    webhook = StandardWebhooks(jwks_url=server.url, secret="whsec_" + base64.b64encode(secret).decode())
    with pytest.raises(VerificationError):
        webhook.verify(
            BODY, {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": "v1,x"}, now=TS
        )
    assert server.requests == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/jwks.json", "/jwks/tgt_1.json"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        StandardWebhooks(jwks_url=url)
