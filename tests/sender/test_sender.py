"""The outbound sender against real local servers: what each kind of endpoint failure becomes.

Traffic only ever goes to 127.0.0.1. Refused addresses (169.254.169.254, ::1, localhost) are refused by the
guard before any connection is attempted, which is what these tests check.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NamedTuple

import aiohttp
import pycurl  # type: ignore[import-untyped]
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from hookline import __version__
from hookline.core.models import ErrorKind
from hookline.sender import guard
from hookline.sender.curl_loop import Transfer
from hookline.sender.http import Sender
from hookline.sender.resolver import GuardedResolver
from support.receiver import Receiver, Reset, Stall, Status, receiver_fixture, start_receiver  # noqa: F401
from support.senders import BODY, AnySender, Opener


@pytest.fixture
async def sender(open_client: Opener) -> AsyncIterator[AnySender]:
    async with open_client(allow_private=True, response_body_limit=64) as opened:
        yield opened


@pytest.fixture
async def guarded(open_client: Opener) -> AsyncIterator[AnySender]:
    async with open_client(allow_private=False) as opened:
        yield opened


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound on 127.0.0.1 with nobody listening, so connecting is refused (and no one can take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextlib.asynccontextmanager
async def raw_server(reply: bytes) -> AsyncIterator[str]:
    """A server that reads one request and writes ``reply`` verbatim, for answers aiohttp would not send."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(reply)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/raw"


async def test_success_records_both_sides(sender: AnySender, receiver: Receiver) -> None:
    receiver.respond("/hook", Status(200, b'{"received":true}', {"X-Request-Id": "abc"}))
    before = time.time()
    outcome = await sender.send(receiver.url + "/hook", BODY, {"Webhook-Id": "msg_1"}, 5.0)

    assert outcome.error is None and outcome.error_detail is None
    assert outcome.status == 200
    assert outcome.response_body == '{"received":true}'
    assert outcome.response_headers["x-request-id"] == "abc"
    assert before <= outcome.started <= time.time()
    assert 0 < outcome.duration_ms < 5000
    assert outcome.request_headers == {
        "Content-Type": "application/json",
        "User-Agent": f"hookline/{__version__}",
        "Webhook-Id": "msg_1",
    }
    [got] = receiver.on("/hook")
    assert got.body == BODY and got.method == "POST"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == f"hookline/{__version__}"
    assert got.headers["webhook-id"] == "msg_1"


async def test_given_headers_win_whatever_their_case(sender: AnySender, receiver: Receiver) -> None:
    outcome = await sender.send(
        receiver.url + "/h", BODY, {"content-type": "application/cloudevents+json"}, 5.0
    )
    assert outcome.request_headers["content-type"] == "application/cloudevents+json"
    assert "Content-Type" not in outcome.request_headers
    [got] = receiver.requests
    assert got.headers["content-type"] == "application/cloudevents+json"  # sent once, not twice


async def test_server_error_is_a_status_error_with_retry_after(sender: AnySender, receiver: Receiver) -> None:
    receiver.script("/hook", Status(503, b"busy", {"Retry-After": "120"}))
    outcome = await sender.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert (outcome.status, outcome.error) == (503, ErrorKind.STATUS)
    assert outcome.response_headers["retry-after"] == "120"
    assert outcome.response_body == "busy"


async def test_500_is_a_status_error(sender: AnySender, receiver: Receiver) -> None:
    receiver.script("/hook", Status(500, b"boom"))
    outcome = await sender.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert (outcome.status, outcome.error, outcome.response_body) == (500, ErrorKind.STATUS, "boom")


async def test_stall_beyond_timeout_is_a_timeout(sender: AnySender, receiver: Receiver) -> None:
    receiver.script("/slow", Stall(10))
    outcome = await sender.send(receiver.url + "/slow", BODY, {}, 0.5)
    assert outcome.error is ErrorKind.TIMEOUT and outcome.status is None
    assert outcome.error_detail == "timed out after 0.5s"
    assert 450 <= outcome.duration_ms < 2000


async def test_reset_is_a_reset(sender: AnySender, receiver: Receiver) -> None:
    receiver.script("/hook", Reset())
    outcome = await sender.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.RESET and outcome.status is None
    assert outcome.error_detail
    assert len(receiver.on("/hook")) == 1  # a POST is not retried, by either client


async def test_reset_on_a_reused_connection_is_a_reset(sender: AnySender, receiver: Receiver) -> None:
    # libcurl would re-send the second POST on a new connection (and get the third answer): not here.
    receiver.script("/hook", Status(200), Reset(), Status(200))
    outcomes = [await sender.send(receiver.url + "/hook", BODY, {}, 5.0) for _ in range(3)]
    assert [o.error for o in outcomes] == [None, ErrorKind.RESET, None]
    assert outcomes[1].error_detail == "connection reset by peer"
    assert len(receiver.on("/hook")) == 3


async def test_refused_connection_is_connect(sender: AnySender, closed_port: int) -> None:
    outcome = await sender.send(f"http://127.0.0.1:{closed_port}/hook", BODY, {}, 5.0)
    assert (outcome.error, outcome.error_detail, outcome.status) == (
        ErrorKind.CONNECT,
        "connection refused",
        None,
    )


async def test_body_cut_short_is_a_reset_with_the_status_kept(sender: AnySender) -> None:
    async with raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial") as url:
        outcome = await sender.send(url, BODY, {}, 5.0)
    assert (outcome.status, outcome.error) == (200, ErrorKind.RESET)


async def test_malformed_answer_is_protocol(sender: AnySender) -> None:
    async with raw_server(b"SMTP ready\r\n\r\n") as url:
        outcome = await sender.send(url, BODY, {}, 5.0)
    assert (outcome.status, outcome.error) == (None, ErrorKind.PROTOCOL)
    assert outcome.error_detail


async def test_redirect_is_not_followed(sender: AnySender, receiver: Receiver) -> None:
    receiver.respond("/from", Status(302, b"moved", {"Location": "/to"}))
    outcome = await sender.send(receiver.url + "/from", BODY, {}, 5.0)
    assert (outcome.status, outcome.error) == (302, ErrorKind.STATUS)
    assert outcome.response_headers["location"] == "/to"
    await asyncio.sleep(0.05)
    assert [r.path for r in receiver.requests] == ["/from"]


async def test_response_body_is_cut_at_the_limit(
    sender: AnySender, receiver: Receiver, open_client: Opener
) -> None:
    receiver.respond("/big", Status(200, b"x" * 1_000_000))
    receiver.respond("/utf8", Status(200, "é".encode() * 40))  # 80 bytes, cut in a character at 64+1
    big = await sender.send(receiver.url + "/big", BODY, {}, 5.0)
    assert (big.error, big.response_body) == (None, "x" * 64)
    async with open_client(allow_private=True, response_body_limit=65) as odd:
        cut = await odd.send(receiver.url + "/utf8", BODY, {}, 5.0)
    assert cut.response_body == "é" * 32 + "\ufffd"


async def test_tls_certificate_error_is_tls(tmp_path: Path, open_client: Opener) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    async with start_receiver(ssl_context=context) as tls, open_client(allow_private=True) as sender:
        outcome = await sender.send(tls.url + "/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.TLS
    assert outcome.error_detail and outcome.error_detail.startswith("TLS certificate rejected: ")


async def test_stalled_path_does_not_delay_others(sender: AnySender, receiver: Receiver) -> None:
    receiver.script("/slow", Stall(10))
    stalled = asyncio.create_task(sender.send(receiver.url + "/slow", BODY, {}, 1.5))
    await receiver.wait_for(1, path="/slow")
    clock = time.perf_counter()
    fast = await asyncio.gather(*(sender.send(receiver.url + f"/fast/{i}", BODY, {}, 5.0) for i in range(20)))
    assert time.perf_counter() - clock < 1.0
    assert [o.status for o in fast] == [200] * 20
    assert not stalled.done()
    assert (await stalled).error is ErrorKind.TIMEOUT


# aiohttp warns about a body over 1 MiB; so does libcurl, with an "Expect: 100-continue" it must not send.
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
async def test_only_our_headers_are_sent(sender: AnySender, receiver: Receiver) -> None:
    # Neither client may ask for a compressed answer, nor add headers of its own but Accept.
    body = b"x" * (3 << 19)
    outcome = await sender.send(
        receiver.url + "/h", body, {"Webhook-Id": "msg_1", "X-Empty": "", "X-Uni": "é✓"}, 5.0
    )
    assert outcome.error is None
    [got] = receiver.requests
    assert got.body == body
    assert sorted(got.headers) == [
        "accept", "content-length", "content-type", "host", "user-agent", "webhook-id", "x-empty", "x-uni",
    ]  # fmt: skip
    assert (got.headers["accept"], got.headers["x-empty"], got.headers["x-uni"]) == ("*/*", "", "é✓")


async def test_a_compressed_answer_is_decoded(sender: AnySender, receiver: Receiver) -> None:
    receiver.respond("/gz", Status(200, gzip.compress(b'{"ok":true}'), {"Content-Encoding": "gzip"}))
    outcome = await sender.send(receiver.url + "/gz", BODY, {}, 5.0)
    assert (outcome.error, outcome.response_body) == (None, '{"ok":true}')


async def test_header_injection_is_refused(sender: AnySender, receiver: Receiver) -> None:
    outcome = await sender.send(receiver.url + "/h", BODY, {"X-Evil": "a\r\nX-Injected: 1"}, 5.0)
    assert outcome.error is ErrorKind.PROTOCOL
    assert outcome.error_detail and "header injection" in outcome.error_detail
    assert receiver.requests == []


async def test_proxy_variables_are_ignored(
    sender: AnySender, receiver: Receiver, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port}")
    outcome = await sender.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert (outcome.error, outcome.status) == (None, 200)


async def test_a_cancelled_send_leaves_the_sender_usable(sender: AnySender, receiver: Receiver) -> None:
    receiver.respond("/slow", Stall(10))
    stalled = asyncio.create_task(sender.send(receiver.url + "/slow", BODY, {}, 5.0))
    await receiver.wait_for(1, path="/slow")
    stalled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stalled
    outcome = await sender.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert (outcome.error, outcome.status) == (None, 200)


async def test_closing_ends_a_send_in_flight(open_client: Opener, receiver: Receiver) -> None:
    receiver.respond("/slow", Stall(10))
    async with open_client(allow_private=True) as sender:
        stalled = asyncio.create_task(sender.send(receiver.url + "/slow", BODY, {}, 5.0))
        await receiver.wait_for(1, path="/slow")
    outcome = await asyncio.wait_for(stalled, 2.0)
    assert (outcome.error, outcome.status) == (ErrorKind.RESET, None)


# --- the SSRF guard ---------------------------------------------------------------------------------------


async def test_loopback_literal_is_blocked_and_nothing_arrives(
    guarded: AnySender, receiver: Receiver
) -> None:
    outcome = await guarded.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert (outcome.error, outcome.status) == (ErrorKind.BLOCKED, None)
    assert outcome.error_detail == (
        "address 127.0.0.1 is loopback; set HOOKLINE_ALLOW_PRIVATE_TARGETS to allow it"
    )
    await asyncio.sleep(0.05)
    assert receiver.requests == []


async def test_name_resolving_to_loopback_is_blocked(guarded: AnySender, receiver: Receiver) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    outcome = await guarded.send(f"http://localhost:{port}/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.BLOCKED
    assert outcome.error_detail and outcome.error_detail.startswith("localhost resolves to ")
    assert "loopback" in outcome.error_detail
    await asyncio.sleep(0.05)
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://[::1]:9/", "address ::1 is loopback"),
        ("http://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is a cloud metadata address"),
        ("http://[::ffff:169.254.169.254]/", "is a cloud metadata address"),
        ("http://10.0.0.8/", "address 10.0.0.8 is private"),
        ("http://0.0.0.0:9/", "unspecified"),
        ("http://2130706433/", "non-canonical IPv4 address; write it as 127.0.0.1"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata name"),
        ("ftp://example.com/", "scheme 'ftp' is not allowed"),
    ],
)
async def test_refused_targets_are_blocked_before_connecting(
    guarded: AnySender, url: str, words: str
) -> None:
    # These refusals come from the URL alone (no resolver, no socket): duration is that of a dict lookup.
    outcome = await guarded.send(url, BODY, {}, 5.0)
    assert outcome.error is ErrorKind.BLOCKED
    assert outcome.error_detail and words in outcome.error_detail
    assert outcome.duration_ms < 50


async def test_require_https_refuses_plain_http(receiver: Receiver, open_client: Opener) -> None:
    async with open_client(allow_private=True, require_https=True) as strict:
        outcome = await strict.send(receiver.url + "/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.BLOCKED
    assert outcome.error_detail and "https is required" in outcome.error_detail
    assert receiver.requests == []


async def test_invalid_url_is_protocol(sender: AnySender) -> None:
    outcome = await sender.send("http:///no-host", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.PROTOCOL


async def test_unresolvable_name_is_dns(sender: AnySender) -> None:
    # libcurl refuses .onion names itself (RFC 7686), before any lookup.
    if isinstance(sender, Sender) and aiohttp.DefaultResolver is not aiohttp.AsyncResolver:
        pytest.skip(
            "only c-ares refuses .onion names without asking a DNS server; no query may leave the box"
        )
    outcome = await sender.send("http://hookline-test.onion/hook", BODY, {}, 5.0)
    assert outcome.error is ErrorKind.DNS
    assert outcome.error_detail and outcome.error_detail.startswith("cannot resolve hookline-test.onion")


class _FixedResolver(AbstractResolver):
    """Answers every name with fixed addresses: resolver logic without a DNS server."""

    def __init__(self, *hosts: str) -> None:
        self.hosts = hosts

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host=h, port=port, family=socket.AF_INET6 if ":" in h else socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST,
            )
            for h in self.hosts
        ]  # fmt: skip

    async def close(self) -> None:
        pass


async def test_resolver_refuses_a_name_resolving_to_metadata() -> None:
    resolver = GuardedResolver(_FixedResolver("169.254.169.254"))
    with pytest.raises(
        guard.Blocked, match=r"^evil\.example resolves to 169\.254\.169\.254, which is a cloud"
    ):
        await resolver.resolve("evil.example", 80)


async def test_resolver_keeps_only_public_addresses() -> None:
    resolver = GuardedResolver(_FixedResolver("10.0.0.1", "93.184.215.14", "::1"))
    assert [r["host"] for r in await resolver.resolve("mixed.example", 443)] == ["93.184.215.14"]


def test_embedded_ipv4_forms_are_judged_by_the_ipv4_address() -> None:
    for text in ("::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1"):
        assert guard.category(ipaddress.ip_address(text)) == "loopback", text
    assert guard.category(ipaddress.ip_address("::ffff:8.8.8.8")) is None


def test_curl_guard_keeps_the_allowed_addresses_of_a_name() -> None:
    # aiohttp's resolver drops refused addresses (above); libcurl asks before each socket it opens.
    loop = asyncio.new_event_loop()
    transfer = Transfer(64, True, loop)
    try:
        transfer.start("http://mixed.example/", "mixed.example", b"", [], 1000)
        for host in ("10.0.0.1", "::1"):
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            refused = transfer._open_socket(0, _Address(family, socket.SOCK_STREAM, 6, (host, 80)))
            assert refused == pycurl.SOCKET_BAD
        assert transfer.refusal == f"mixed.example resolves to 10.0.0.1, which is private; {guard.ALLOW_HINT}"
        assert not transfer.opened
        opened = transfer._open_socket(
            0, _Address(socket.AF_INET, socket.SOCK_STREAM, 6, ("93.184.215.14", 80))
        )
        assert isinstance(opened, socket.socket) and transfer.opened
        loop.run_until_complete(asyncio.sleep(0))  # our copy is closed once pycurl has duplicated it
        assert opened.fileno() == -1
    finally:
        transfer.curl.close()
        loop.close()


class _Address(NamedTuple):
    """What pycurl passes to an open-socket callback."""

    family: int
    socktype: int
    protocol: int
    addr: tuple[str, int]
