"""Deliveries through the egress proxy (``HOOKLINE_EGRESS_PROXY``) on both HTTP clients, with a real proxy."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hookline.core import credentials
from hookline.core.concurrency_limit import Flow
from hookline.core.models import ErrorKind, Outcome
from hookline.sender import egress
from hookline.sender.endpoint_auth import Authenticator
from hookline.service.worker import flow_answer
from support.certs import make_pki
from support.proxy import start_proxy
from support.receiver import Receiver, Status, receiver_fixture, start_receiver  # noqa: F401
from support.senders import BODY, Opener


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 with nobody listening: a dead proxy."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_the_setting_is_parsed_or_refused_in_words() -> None:
    assert egress.parse("http://proxy.internal:3128") == egress.Proxy("proxy.internal", 3128)
    assert egress.parse("http://[::1]:8080").url == "http://[::1]:8080"
    assert egress.parse("http://10.0.0.1").port == 80
    for bad, words in (
        ("https://proxy:3128", "http://"),
        ("socks5://proxy:1080", "http://"),
        ("http://:3128", "host"),
        ("http://user:pw@proxy:3128", "credentials"),
        ("http://proxy:3128/path", "without a path"),
    ):
        with pytest.raises(ValueError, match=words):
            egress.parse(bad)


async def test_http_deliveries_go_through_the_proxy(open_client: Opener, receiver: Receiver) -> None:
    receiver.respond("/hook", Status(200, b"ok"))
    async with (
        start_proxy() as proxy,
        open_client(allow_private=True, proxy=egress.parse(proxy.url)) as sender,
    ):
        first = await sender.send(receiver.url + "/hook", BODY, {"Webhook-Id": "msg_1"}, 5.0)
        named = receiver.url.replace("127.0.0.1", "localhost")
        second = await sender.send(named + "/hook", BODY, {}, 5.0)
    assert first.status == 200 and first.error is None, first
    assert second.status == 200 and second.error is None, second
    assert "Host" not in first.request_headers  # the recorded request is the caller's
    port = receiver.url.rsplit(":", 1)[1]
    # The proxy was handed the address hookline resolved, never the name to resolve again.
    assert proxy.destinations and set(proxy.destinations) == {f"127.0.0.1:{port}"}
    got = receiver.on("/hook")
    assert [r.body for r in got] == [BODY, BODY]
    assert got[0].headers["host"] == f"127.0.0.1:{port}"
    assert got[1].headers["host"] == f"localhost:{port}"


async def test_https_with_a_client_certificate_tunnels_through_connect(
    tmp_path: Path, open_client: Opener
) -> None:
    pki = make_pki(tmp_path)
    ring = credentials.Keyring.from_settings(Fernet.generate_key().decode(), "")
    assert ring is not None
    sealed: str = ring.seal(credentials.Mtls(pki.client.certificate, pki.client.private_key))["sealed"]
    authenticator = Authenticator(ring)
    async with (
        start_receiver(ssl_context=pki.server_context(tmp_path)) as tls,
        start_proxy() as proxy,
        open_client(allow_private=True, ca_file=pki.ca_file, proxy=egress.parse(proxy.url)) as sender,
    ):
        outcome = await authenticator.send(sender, sealed, tls.url + "/hook", BODY, {}, 5.0)
        without = await authenticator.send(sender, None, tls.url + "/hook", BODY, {}, 5.0)
    assert outcome.status == 200 and outcome.error is None, outcome
    assert without.error in (ErrorKind.TLS, ErrorKind.RESET), (
        without
    )  # the receiver's refusal, not the proxy's
    assert proxy.destinations[0] == tls.url.removeprefix("https://")
    assert len(tls.on("/hook")) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_private_target_is_refused_though_the_proxy_would_reach_it(
    open_client: Opener, receiver: Receiver, host: str
) -> None:
    async with (
        start_proxy() as proxy,  # the proxy itself is private: the operator's choice, allowed
        open_client(allow_private=False, proxy=egress.parse(proxy.url)) as sender,
    ):
        outcome = await sender.send(receiver.url.replace("127.0.0.1", host) + "/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.BLOCKED, outcome
    assert "127.0.0.1" in (outcome.error_detail or "")
    assert proxy.connections == 0
    assert receiver.on("/hook") == []


async def test_a_dead_proxy_is_the_proxys_failure(
    open_client: Opener, closed_port: int, receiver: Receiver
) -> None:
    dead = egress.Proxy("127.0.0.1", closed_port)
    async with open_client(allow_private=True, proxy=dead) as sender:
        outcome = await sender.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.PROXY, outcome
    assert outcome.error_detail == "proxy: connection refused"
    assert outcome.status is None


@pytest.mark.parametrize("refusal", [407, 502, 503])
async def test_a_refused_connect_is_the_proxys_failure(
    open_client: Opener, refusal: int, tmp_path: Path
) -> None:
    async with (
        start_proxy(refuse=refusal) as proxy,
        open_client(allow_private=True, proxy=egress.parse(proxy.url)) as sender,
    ):
        outcome = await sender.send("https://127.0.0.1:9/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.PROXY, outcome
    assert (outcome.error_detail or "").startswith(f"proxy: CONNECT answered {refusal}")
    assert outcome.status is None and proxy.connections == 1


def test_a_proxy_failure_does_not_slow_the_target() -> None:
    def after(outcome: Outcome) -> float:
        flow = Flow(ceiling=64)
        flow.answered(flow_answer(outcome), 0.01, 100.0, None)
        return flow.limit

    proxy_down = Outcome(1.0, 1.0, {}, error=ErrorKind.PROXY, error_detail="proxy: connection refused")
    target_down = Outcome(1.0, 1.0, {}, error=ErrorKind.CONNECT, error_detail="connection refused")
    assert after(proxy_down) == Flow(ceiling=64).limit
    assert after(target_down) < Flow(ceiling=64).limit
