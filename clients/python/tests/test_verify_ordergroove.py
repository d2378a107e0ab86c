"""``Ordergroove-Signature``, signed here by Ordergroove's documented recipe."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hookline_verify import Ordergroove, VerificationError

KEY = "super-secret-webhooks-verification-key"  # the example key of Ordergroove's verification docs
OLD_KEY = "the-previous-verification-key"
TS = 1_592_570_791
BODY = '{"id":"mmmm4444nnnn3333pppp","type":"order.success","created":1592570791,"data":{"object":{}}}'


def _sig(key: str, ts: int, payload: str) -> str:
    """Ordergroove's Python verification example, in substance."""
    return hmac.new(key.encode("ascii"), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()


def _headers(*keys: str, ts: int = TS, body: str = BODY) -> dict[str, str]:
    return {"Ordergroove-Signature": ",".join([f"ts={ts}", *(f"sig={_sig(k, ts, body)}" for k in keys)])}


def test_a_signature_verifies() -> None:
    Ordergroove(KEY).verify(BODY, _headers(KEY), now=TS)
    Ordergroove(KEY).verify(
        BODY.encode(), {"ordergroove-signature": _headers(KEY)["Ordergroove-Signature"]}, now=TS
    )


def test_either_key_verifies_during_a_rotation() -> None:
    headers = _headers(KEY, OLD_KEY)
    Ordergroove(KEY).verify(BODY, headers, now=TS)
    Ordergroove(OLD_KEY).verify(BODY, headers, now=TS)
    Ordergroove(["a-key-of-mine", OLD_KEY]).verify(BODY, _headers(OLD_KEY), now=TS)
    with pytest.raises(VerificationError):
        Ordergroove("a-third-key").verify(BODY, headers, now=TS)


def test_non_ascii_bodies_are_signed_as_utf8() -> None:
    body = '{"name":"Zoë Øster","emoji":"🛒"}'
    Ordergroove(KEY).verify(body.encode(), _headers(KEY, body=body), now=TS)


def test_anything_changed_is_refused() -> None:
    verifier = Ordergroove(KEY)
    with pytest.raises(VerificationError):
        verifier.verify(BODY + " ", _headers(KEY), now=TS)
    header = _headers(KEY)["Ordergroove-Signature"].replace(f"ts={TS}", f"ts={TS + 1}")
    with pytest.raises(VerificationError):
        verifier.verify(BODY, {"Ordergroove-Signature": header}, now=TS)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "ts=1592570791",
        "sig=abc",
        f"ts=x,sig={_sig(KEY, TS, BODY)}",
        f"ts=¹,sig={_sig(KEY, TS, BODY)}",
        "ts=1592570791,sig=é",
    ],
)
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(VerificationError):
        Ordergroove(KEY).verify(BODY, {"Ordergroove-Signature": header}, now=TS)
    with pytest.raises(VerificationError):
        Ordergroove(KEY).verify(BODY, {}, now=TS)


def test_timestamp_tolerance() -> None:
    Ordergroove(KEY).verify(BODY, _headers(KEY), now=TS + 300)
    with pytest.raises(VerificationError, match="too old"):
        Ordergroove(KEY).verify(BODY, _headers(KEY), now=TS + 301)
    with pytest.raises(VerificationError, match="future"):
        Ordergroove(KEY).verify(BODY, _headers(KEY), now=TS - 301)
    Ordergroove(KEY, tolerance_s=10_000).verify(BODY, _headers(KEY), now=TS + 9_000)


@pytest.mark.parametrize("key", ["", [], [""], [KEY, ""]])
def test_a_key_is_required(key: object) -> None:
    with pytest.raises(ValueError):
        Ordergroove(key)  # type: ignore[arg-type]
