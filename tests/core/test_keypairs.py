"""Ed25519 key pairs: the public forms (``whpk_``, JWK and its ``kid``) against RFC 8037's worked example,
signatures against an independent Ed25519 implementation (libsodium, through PyNaCl)."""

from __future__ import annotations

import base64

import nacl.signing

from hookline.core import keypairs

# RFC 8037, appendix A.1 (the key of RFC 8032's test 1): the private key ``d`` and public key ``x``.
RFC_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC_KID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"  # A.3: its thumbprint
# A.4: the JWS signing input and its signature.
RFC_INPUT = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
RFC_SIG = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


RFC_STORED = base64.b64encode(_unb64url(RFC_D)).decode()  # as a target's key is stored


def test_jwk_of_the_rfc_key() -> None:
    assert keypairs.jwk(RFC_STORED) == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": RFC_X,
        "kid": RFC_KID,
        "use": "sig",
        "alg": "EdDSA",
    }


def test_standard_public_key_is_whpk_and_base64_of_the_32_bytes() -> None:
    whpk = keypairs.standard_public_key(RFC_STORED)
    assert whpk.startswith("whpk_")
    assert base64.b64decode(whpk.removeprefix("whpk_")) == _unb64url(RFC_X)


def test_signer_signs_the_rfc_example() -> None:
    assert keypairs.signer(RFC_STORED).sign(RFC_INPUT) == _unb64url(RFC_SIG)


def test_new_keys_are_distinct_and_verify_with_libsodium() -> None:
    stored = {keypairs.new_private_key() for _ in range(20)}
    assert len(stored) == 20
    for key in stored:
        assert len(base64.b64decode(key)) == 32
        signature = keypairs.signer(key).sign(b"msg_1.1700000000.{}")
        public = base64.b64decode(keypairs.standard_public_key(key).removeprefix("whpk_"))
        nacl.signing.VerifyKey(public).verify(b"msg_1.1700000000.{}", signature)  # raises when wrong
        # Every form names the same public key.
        assert _unb64url(keypairs.jwk(key)["x"]) == public


def test_signer_is_loaded_once_per_key() -> None:
    key = keypairs.new_private_key()
    assert keypairs.signer(key) is keypairs.signer(key)
    assert keypairs.signer(keypairs.new_private_key()) is not keypairs.signer(key)
