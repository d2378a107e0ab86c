"""Endpoint authentication on the way out, against real local servers, on both HTTP clients: HTTP Basic,
OAuth2 client-credentials bearer tokens (fetched once, cached, got again once on a 401), and client
certificates (mTLS) to a TLS receiver that requires one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hookline.core import credentials
from hookline.core.models import ErrorKind
from hookline.core.redaction import REDACTED
from hookline.sender.endpoint_auth import Authenticator
from support.auth_servers import AuthServer, basic, start_auth_server
from support.certs import make_pki
from support.receiver import start_receiver
from support.senders import BODY, Opener

KEY = Fernet.generate_key().decode()


def _keyring(key: str = KEY, old: str = "") -> credentials.Keyring:
    ring = credentials.Keyring.from_settings(key, old)
    assert ring is not None
    return ring


def _sealed(auth: credentials.Auth, ring: credentials.Keyring | None = None) -> str:
    token: str = (ring or _keyring()).seal(auth)["sealed"]
    return token


async def test_basic_auth_gets_through_a_receiver_that_refuses_without_it(open_client: Opener) -> None:
    auth = credentials.Basic("hookline", "b4sic-p4ss")
    authenticator = Authenticator(_keyring())
    async with start_auth_server() as server, open_client(allow_private=True) as sender:
        server.accepted = {basic("hookline", "b4sic-p4ss")}
        url = server.url + "/hook"
        refused = await authenticator.send(sender, None, url, BODY, {}, 5.0)
        sent = await authenticator.send(sender, _sealed(auth), url, BODY, {"authorization": "x"}, 5.0)
    assert refused.status == 401
    assert sent.status == 200 and sent.error is None
    assert server.seen == [None, basic("hookline", "b4sic-p4ss")]  # the route's own header is replaced
    assert sent.request_headers["Authorization"] == REDACTED  # what the attempt log keeps
    assert "b4sic-p4ss" not in repr(sent)


async def test_oauth2_token_is_fetched_once_cached_and_refreshed_once_on_401(open_client: Opener) -> None:
    auth_server = AuthServer()
    authenticator = Authenticator(_keyring())
    async with start_auth_server(auth_server) as server, open_client(allow_private=True) as sender:
        auth = credentials.OAuth2(
            server.url + "/token", server.client_id, server.client_secret, "hooks:write"
        )
        sealed = _sealed(auth)
        server.accept_tokens("tok-1")
        url = server.url + "/hook"
        first = await asyncio.gather(
            *(authenticator.send(sender, sealed, url, BODY, {}, 5.0) for _ in range(5))
        )
        again = await authenticator.send(sender, sealed, url, BODY, {}, 5.0)
        assert [o.status for o in [*first, again]] == [200] * 6
        assert len(server.token_forms) == 1 and authenticator.token_requests == 1
        assert server.token_forms[0] == {"grant_type": "client_credentials", "scope": "hooks:write"}

        server.accept_tokens("tok-2")  # tok-1 revoked: a 401, a new token, the attempt once more
        refreshed = await authenticator.send(sender, sealed, url, BODY, {}, 5.0)
        assert refreshed.status == 200 and len(server.token_forms) == 2
        assert server.seen[-2:] == ["Bearer tok-1", "Bearer tok-2"]
        assert refreshed.request_headers["Authorization"] == REDACTED

        server.accept_tokens()  # nothing is accepted: refreshed once, then the 401 is the answer
        refused = await authenticator.send(sender, sealed, url, BODY, {}, 5.0)
        assert refused.status == 401 and refused.error is ErrorKind.STATUS
        assert len(server.token_forms) == 3
        assert server.seen[-2:] == ["Bearer tok-2", "Bearer tok-3"]


async def test_an_expired_token_is_fetched_again(open_client: Opener) -> None:
    now = [1000.0]
    authenticator = Authenticator(_keyring(), clock=lambda: now[0])
    async with (
        start_auth_server(AuthServer(expires_in=100)) as server,
        open_client(allow_private=True) as sender,
    ):
        sealed = _sealed(credentials.OAuth2(server.url + "/token", server.client_id, server.client_secret))
        server.accept_tokens("tok-1", "tok-2")
        assert (await authenticator.send(sender, sealed, server.url + "/hook", BODY, {}, 5.0)).status == 200
        now[0] += 69  # the token is kept until 30 s before its end
        assert (await authenticator.send(sender, sealed, server.url + "/hook", BODY, {}, 5.0)).status == 200
        assert len(server.token_forms) == 1
        now[0] += 2
        assert (await authenticator.send(sender, sealed, server.url + "/hook", BODY, {}, 5.0)).status == 200
        assert len(server.token_forms) == 2


async def test_a_refused_token_request_fails_the_attempt_without_secrets(open_client: Opener) -> None:
    authenticator = Authenticator(_keyring())
    async with start_auth_server() as server, open_client(allow_private=True) as sender:
        wrong = credentials.OAuth2(server.url + "/token", server.client_id, "not-the-s3cret")
        outcome = await authenticator.send(
            sender, _sealed(wrong), server.url + "/hook", BODY, {"X-A": "1"}, 5.0
        )
    assert server.seen == []  # the receiver was not asked
    assert outcome.error is ErrorKind.PROTOCOL and outcome.status is None
    assert outcome.error_detail == f"OAuth2 token request to {server.url}/token failed: it answered 401"
    assert "Authorization" not in outcome.request_headers and outcome.request_headers["X-A"] == "1"
    assert "not-the-s3cret" not in repr(outcome)


async def test_the_token_endpoint_is_guarded_like_a_target(open_client: Opener) -> None:
    authenticator = Authenticator(_keyring())
    async with start_auth_server() as server, open_client(allow_private=False) as sender:
        auth = credentials.OAuth2(server.url + "/token", server.client_id, server.client_secret)
        outcome = await authenticator.send(
            sender, _sealed(auth), "https://hooks.example.com/x", BODY, {}, 5.0
        )
    assert server.token_forms == []
    assert outcome.error is ErrorKind.BLOCKED
    assert outcome.error_detail and outcome.error_detail.startswith("OAuth2 token request to ")


async def test_mtls_delivers_with_the_client_certificate_and_is_refused_without(
    tmp_path: Path, open_client: Opener
) -> None:
    pki = make_pki(tmp_path)
    authenticator = Authenticator(_keyring())
    mtls = credentials.Mtls(pki.client.certificate, pki.client.private_key)
    stranger = credentials.Mtls(pki.stranger.certificate, pki.stranger.private_key)
    async with (
        start_receiver(ssl_context=pki.server_context(tmp_path)) as tls,
        open_client(allow_private=True, ca_file=pki.ca_file) as sender,
    ):
        url = tls.url + "/hook"
        without = await authenticator.send(sender, None, url, BODY, {}, 5.0)
        with_cert = await authenticator.send(sender, _sealed(mtls), url, BODY, {}, 5.0)
        again = await authenticator.send(sender, _sealed(mtls), url, BODY, {}, 5.0)
        untrusted = await authenticator.send(sender, _sealed(stranger), url, BODY, {}, 5.0)
        after = await authenticator.send(sender, None, url, BODY, {}, 5.0)  # no certificate left behind
    assert with_cert.status == 200 and with_cert.error is None, with_cert
    assert again.status == 200
    for refused in (without, untrusted, after):
        assert refused.status is None and refused.error in (ErrorKind.TLS, ErrorKind.RESET), refused
    assert len(tls.requests) == 2


async def test_credentials_sealed_with_another_key_fail_the_attempt(open_client: Opener) -> None:
    foreign = _sealed(credentials.Basic("u", "p"), _keyring(Fernet.generate_key().decode()))
    async with open_client(allow_private=True) as sender:
        for authenticator, words in [
            (Authenticator(_keyring()), "sealed with a key that is neither"),
            (Authenticator(None), "HOOKLINE_SECRET_KEY is not set"),
        ]:
            outcome = await authenticator.send(sender, foreign, "http://127.0.0.1:9/x", BODY, {}, 5.0)
            assert outcome.error is ErrorKind.PROTOCOL
            assert outcome.error_detail and words in outcome.error_detail


def test_rotation_old_keys_open_and_reseal_moves_to_the_new_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = _keyring(old).seal(credentials.Basic("u", "p4ss"))
    rotated = _keyring(new, f" {Fernet.generate_key().decode()} , {old}")
    assert rotated.open(stored["sealed"]) == credentials.Basic("u", "p4ss")
    resealed = rotated.reseal(stored)
    assert _keyring(new).open(resealed["sealed"]) == credentials.Basic("u", "p4ss")
    assert {k: v for k, v in resealed.items() if k != "sealed"} == {"type": "basic", "username": "u"}


@pytest.mark.parametrize(
    ("key", "old", "words"),
    [
        ("not-a-key", "", "HOOKLINE_SECRET_KEY is not a Fernet key"),
        (KEY, "short", "HOOKLINE_SECRET_KEY_OLD is not a Fernet key"),
        ("", KEY, "HOOKLINE_SECRET_KEY_OLD is set but HOOKLINE_SECRET_KEY is not"),
    ],
    ids=["key-not-fernet", "old-key-not-fernet", "old-key-without-key"],  # KEY is random: not in an id
)
def test_malformed_keys_are_refused(key: str, old: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        credentials.Keyring.from_settings(key, old)
    assert credentials.Keyring.from_settings("", "") is None
