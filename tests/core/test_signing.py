"""Signatures: Ordergroove's header against its documented recipe, Standard Webhooks against its library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import nacl.exceptions
import nacl.signing
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hookline.core import keypairs, signing

SIG_KEY = "super-secret-webhooks-verification-key"  # the example key of Ordergroove's verification docs
KEY = SIG_KEY.encode("ascii")
OLD_KEY = b"the-previous-verification-key"
TS = 1592570791
BODY = b'{"id":"mmmm4444nnnn3333pppp","type":"order.success","created":1592570791,"data":{"object":{}}}'
MSG_ID = "dlv_01HZXAMPLE"
EVENT_ID = "evt_01HZXAMPLE"


def ordergroove_docs_signature(sig_key: str, ts: int, payload: str) -> str:
    """Ordergroove's Python verification example, verbatim in substance."""
    sig_input = f"{ts}.{payload}"
    return hmac.new(
        key=bytes(sig_key, "ascii"), msg=bytes(sig_input, "utf-8"), digestmod=hashlib.sha256
    ).hexdigest()


def parse_og(header: str) -> tuple[str, list[str]]:
    parts = [p.split("=", 1) for p in header.split(",")]
    assert parts[0][0] == "ts"
    assert all(name == "sig" for name, _ in parts[1:])
    return parts[0][1], [value for _, value in parts[1:]]


class TestOrdergrooveSignature:
    def test_matches_the_docs_recipe(self) -> None:
        expected = ordergroove_docs_signature(SIG_KEY, TS, BODY.decode())
        assert signing.ordergroove_signature([KEY], TS, BODY) == f"ts={TS},sig={expected}"

    def test_fixed_vector(self) -> None:
        # Frozen so that a change in the recipe (or in the docs helper above) cannot go unnoticed.
        payload = '{"a":1}'
        expected = ordergroove_docs_signature(SIG_KEY, 1700000000, payload)
        assert len(expected) == 64
        assert signing.ordergroove_signature([KEY], 1700000000, payload.encode()) == (
            f"ts=1700000000,sig={expected}"
        )

    def test_non_ascii_body_is_signed_as_utf8(self) -> None:
        payload = '{"name":"Zoë Øster","city":"München","emoji":"🛒"}'
        expected = ordergroove_docs_signature(SIG_KEY, TS, payload)
        assert signing.ordergroove_signature([KEY], TS, payload.encode("utf-8")) == f"ts={TS},sig={expected}"

    def test_header_format(self) -> None:
        header = signing.ordergroove_signature([KEY], TS, BODY)
        ts, sigs = parse_og(header)
        assert ts == str(TS)
        assert len(sigs) == 1
        assert len(sigs[0]) == 64
        assert sigs[0] == sigs[0].lower()
        int(sigs[0], 16)
        assert " " not in header

    def test_two_keys_new_first(self) -> None:
        header = signing.ordergroove_signature([KEY, OLD_KEY], TS, BODY)
        new = ordergroove_docs_signature(SIG_KEY, TS, BODY.decode())
        old = hmac.new(OLD_KEY, f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
        assert new != old
        assert header == f"ts={TS},sig={new},sig={old}"

    def test_signature_depends_on_ts_and_body(self) -> None:
        base = signing.ordergroove_signature([KEY], TS, BODY)
        assert parse_og(signing.ordergroove_signature([KEY], TS + 1, BODY))[1] != parse_og(base)[1]
        assert parse_og(signing.ordergroove_signature([KEY], TS, BODY + b" "))[1] != parse_og(base)[1]


class TestVerifyOrdergroove:
    def test_accepts_own_signature(self) -> None:
        header = signing.ordergroove_signature([KEY], TS, BODY)
        assert signing.verify_ordergroove(KEY, header, BODY, now=TS)

    def test_accepts_the_docs_recipe(self) -> None:
        header = f"ts={TS},sig={ordergroove_docs_signature(SIG_KEY, TS, BODY.decode())}"
        assert signing.verify_ordergroove(KEY, header, BODY, now=TS + 10)

    def test_accepts_either_signature_during_rotation(self) -> None:
        header = signing.ordergroove_signature([KEY, OLD_KEY], TS, BODY)
        assert signing.verify_ordergroove(KEY, header, BODY, now=TS)
        assert signing.verify_ordergroove(OLD_KEY, header, BODY, now=TS)
        assert not signing.verify_ordergroove(b"a-third-key", header, BODY, now=TS)

    def test_tolerates_spaces_after_commas(self) -> None:
        header = signing.ordergroove_signature([KEY, OLD_KEY], TS, BODY).replace(",", ", ")
        assert signing.verify_ordergroove(OLD_KEY, header, BODY, now=TS)

    @pytest.mark.parametrize(
        "body",
        [
            BODY + b" ",
            BODY.replace(b"order.success", b"order.reject"),
            b"",
            BODY[:-1],
        ],
    )
    def test_rejects_tampered_body(self, body: bytes) -> None:
        header = signing.ordergroove_signature([KEY], TS, BODY)
        assert not signing.verify_ordergroove(KEY, header, body, now=TS)

    def test_rejects_wrong_key(self) -> None:
        header = signing.ordergroove_signature([OLD_KEY], TS, BODY)
        assert not signing.verify_ordergroove(KEY, header, BODY, now=TS)

    def test_rejects_a_moved_timestamp(self) -> None:
        _, sigs = parse_og(signing.ordergroove_signature([KEY], TS, BODY))
        assert not signing.verify_ordergroove(KEY, f"ts={TS + 1},sig={sigs[0]}", BODY, now=TS)

    @pytest.mark.parametrize("delta", [-300, -1, 0, 1, 300])
    def test_within_tolerance(self, delta: int) -> None:
        header = signing.ordergroove_signature([KEY], TS, BODY)
        assert signing.verify_ordergroove(KEY, header, BODY, now=TS + delta)

    @pytest.mark.parametrize("delta", [-301, 301, 3600, -86400])
    def test_rejects_stale_or_future_ts_beyond_tolerance(self, delta: int) -> None:
        header = signing.ordergroove_signature([KEY], TS, BODY)
        assert not signing.verify_ordergroove(KEY, header, BODY, now=TS + delta)

    def test_custom_tolerance(self) -> None:
        header = signing.ordergroove_signature([KEY], TS, BODY)
        assert signing.verify_ordergroove(KEY, header, BODY, now=TS + 30, tolerance_s=30)
        assert not signing.verify_ordergroove(KEY, header, BODY, now=TS + 31, tolerance_s=30)

    @pytest.mark.parametrize(
        "header",
        [
            "",
            ",",
            "garbage",
            f"ts={TS}",
            f"ts={TS},",
            f"ts={TS},sig=",
            "sig={sig}",
            "ts=,sig={sig}",
            "ts=abc,sig={sig}",
            f"ts=-{TS},sig={{sig}}",
            f"ts={TS}.5,sig={{sig}}",
            f"ts= {TS}x,sig={{sig}}",
            "ts=²,sig={sig}",  # a Unicode digit: str.isdigit() but not int()
            "ts=١٥٩٢٥٧٠٧٩١,sig={sig}",  # Arabic-Indic digits for TS
            f"ts={TS},sig=é",
            f"ts={TS},sig={{sig}}é",
            f"ts={TS},sig={{sig_upper}}",
            f"ts={TS},v1={{sig}}",
            f"TS={TS},SIG={{sig}}",
            f"ts={TS};sig={{sig}}",
        ],
    )
    def test_rejects_malformed_headers_without_raising(self, header: str) -> None:
        _, sigs = parse_og(signing.ordergroove_signature([KEY], TS, BODY))
        text = header.replace("{sig}", sigs[0]).replace("{sig_upper}", sigs[0].upper())
        assert signing.verify_ordergroove(KEY, text, BODY, now=TS) is False


class TestStandardWebhooks:
    def test_secret_format(self) -> None:
        secret = signing.standard_secret(KEY)
        assert secret.startswith("whsec_")
        assert base64.b64decode(secret.removeprefix("whsec_")) == KEY

    def test_headers(self) -> None:
        ts = int(time.time())
        headers = signing.headers([KEY], MSG_ID, EVENT_ID, ts, BODY)
        assert headers == {
            "Ordergroove-Signature": signing.ordergroove_signature([KEY], ts, BODY),
            "webhook-id": MSG_ID,
            "webhook-timestamp": str(ts),
            "webhook-signature": signing.standard_signature([KEY], MSG_ID, ts, BODY),
            "Hookline-Event-Id": EVENT_ID,
        }
        assert signing.ORDERGROOVE_HEADER in headers
        assert headers["webhook-signature"].startswith("v1,")

    def test_library_verifies_our_headers(self) -> None:
        ts = int(time.time())
        headers = signing.headers([KEY], MSG_ID, EVENT_ID, ts, BODY)
        parsed = Webhook(signing.standard_secret(KEY)).verify(BODY, headers)
        assert parsed["type"] == "order.success"

    def test_library_verifies_non_ascii_body(self) -> None:
        ts = int(time.time())
        body = '{"name":"Zoë","emoji":"🛒"}'.encode()
        headers = signing.headers([KEY], MSG_ID, EVENT_ID, ts, body)
        assert Webhook(signing.standard_secret(KEY)).verify(body, headers) == {"name": "Zoë", "emoji": "🛒"}

    def test_library_agrees_with_our_signature(self) -> None:
        # The library's own signer, fed the same inputs, produces our header value.
        ts = int(time.time())
        webhook = Webhook(signing.standard_secret(KEY))
        theirs = webhook.sign(MSG_ID, datetime.fromtimestamp(ts, tz=UTC), BODY.decode())
        assert signing.standard_signature([KEY], MSG_ID, ts, BODY) == theirs

    def test_library_verifies_with_either_key_during_rotation(self) -> None:
        ts = int(time.time())
        headers = signing.headers([KEY, OLD_KEY], MSG_ID, EVENT_ID, ts, BODY)
        new, old = headers["webhook-signature"].split(" ")
        assert new.startswith("v1,")
        assert old.startswith("v1,")
        assert headers["webhook-signature"] == " ".join(
            [
                signing.standard_signature([KEY], MSG_ID, ts, BODY),
                signing.standard_signature([OLD_KEY], MSG_ID, ts, BODY),
            ]
        )
        Webhook(signing.standard_secret(KEY)).verify(BODY, headers, json_parse=False)
        Webhook(signing.standard_secret(OLD_KEY)).verify(BODY, headers, json_parse=False)
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.standard_secret(b"a-third-key")).verify(BODY, headers)

    def test_library_rejects_tampering(self) -> None:
        ts = int(time.time())
        headers = signing.headers([KEY], MSG_ID, EVENT_ID, ts, BODY)
        webhook = Webhook(signing.standard_secret(KEY))
        with pytest.raises(WebhookVerificationError):
            webhook.verify(BODY + b" ", headers)
        with pytest.raises(WebhookVerificationError):
            webhook.verify(BODY, {**headers, "webhook-id": MSG_ID + "x"})
        with pytest.raises(WebhookVerificationError):
            webhook.verify(BODY, {**headers, "webhook-timestamp": str(ts + 1)})
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.standard_secret(OLD_KEY)).verify(BODY, headers)

    def test_library_rejects_stale_headers(self) -> None:
        ts = int(time.time()) - 3600
        headers = signing.headers([KEY], MSG_ID, EVENT_ID, ts, BODY)
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.standard_secret(KEY)).verify(BODY, headers)

    def test_published_test_vector(self) -> None:
        # The Standard Webhooks / Svix reference vector, as used in the reference libraries' own tests
        # (e.g. svix-webhooks' PHP "testSignFunctionWorks"); not shipped in the installed package.
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
        ts = 1614265330
        body = b'{"test": 2432232314}'
        expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        key = base64.b64decode(secret.removeprefix("whsec_"))
        assert signing.standard_secret(key) == secret
        assert signing.standard_signature([key], msg_id, ts, body) == expected
        assert signing.headers([key], msg_id, "evt", ts, body)["webhook-signature"] == expected


class TestAsymmetricSignature:
    """``v1a``: Ed25519 over the ``v1`` message, checked with libsodium (PyNaCl), not the signing library."""

    def _public(self, stored: str) -> nacl.signing.VerifyKey:
        return nacl.signing.VerifyKey(base64.b64decode(keypairs.standard_public_key(stored)[5:]))

    def test_v1a_entries_follow_v1_new_first(self) -> None:
        ts = int(time.time())
        new, old = keypairs.new_private_key(), keypairs.new_private_key()
        signers = [keypairs.signer(new), keypairs.signer(old)]
        header = signing.headers([KEY, OLD_KEY], MSG_ID, EVENT_ID, ts, BODY, signers)["webhook-signature"]
        entries = header.split(" ")
        assert [e.split(",", 1)[0] for e in entries] == ["v1", "v1", "v1a", "v1a"]
        assert " ".join(entries[:2]) == signing.standard_signature([KEY, OLD_KEY], MSG_ID, ts, BODY)
        message = f"{MSG_ID}.{ts}.".encode() + BODY
        for stored, entry in zip([new, old], entries[2:], strict=True):
            self._public(stored).verify(message, base64.b64decode(entry.removeprefix("v1a,")))
        with pytest.raises(nacl.exceptions.BadSignatureError):
            self._public(new).verify(message, base64.b64decode(entries[3].removeprefix("v1a,")))

    def test_v1a_covers_id_timestamp_and_body(self) -> None:
        stored = keypairs.new_private_key()
        header = signing.standard_signature([], MSG_ID, TS, BODY, [keypairs.signer(stored)])
        signature = base64.b64decode(header.removeprefix("v1a,"))
        self._public(stored).verify(f"{MSG_ID}.{TS}.".encode() + BODY, signature)
        for message in (
            f"{MSG_ID}.{TS}.".encode() + BODY + b" ",
            f"{MSG_ID}x.{TS}.".encode() + BODY,
            f"{MSG_ID}.{TS + 1}.".encode() + BODY,
        ):
            with pytest.raises(nacl.exceptions.BadSignatureError):
                self._public(stored).verify(message, signature)

    def test_hmac_libraries_skip_v1a_entries(self) -> None:
        # A receiver on a Standard Webhooks library that knows only ``v1`` still verifies.
        ts = int(time.time())
        headers = signing.headers(
            [KEY], MSG_ID, EVENT_ID, ts, BODY, [keypairs.signer(keypairs.new_private_key())]
        )
        assert Webhook(signing.standard_secret(KEY)).verify(BODY, headers)["type"] == "order.success"
