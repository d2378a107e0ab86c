"""Targets' endpoint authentication through the API: write-only secrets, validation, the secret key, and
deliveries that authenticate to a real receiver (HTTP Basic, OAuth2) with the secrets in no answer, page
or log."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.config import Settings
from hookline.core import credentials
from hookline.runtime import open_runtime
from hookline.storage import queue
from hookline.storage.database import Database
from support.auth_servers import basic, start_auth_server
from support.certs import make_pki
from support.dashboard import signed_in
from support.events import event
from support.pipeline import add_route, wait_status

KEY = Fernet.generate_key().decode()
PASSWORD = "pa55-w0rd-secret"
CLIENT_SECRET = "cl13nt-s3cret"  # support.auth_servers.AuthServer's
HOOK = "http://127.0.0.1:9/hook"


@pytest.fixture
async def keyed(db_url: str) -> AsyncIterator[Client]:
    """A merchant of a hookline that has a secret key."""
    async with running_app(app_settings(db_url, secret_key=KEY)) as http:
        yield await new_merchant(Client(http, OPERATOR_KEY), "Keyed Shop")


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


async def test_auth_is_shown_without_its_secrets_and_can_be_replaced_and_removed(keyed: Client) -> None:
    pem = make_pki_pems()
    made = await keyed.ok(
        "POST",
        "/v1/targets",
        201,
        json={"url": HOOK, "auth": {"type": "basic", "username": "hookline", "password": PASSWORD}},
    )
    assert made["auth"] == {"type": "basic", "username": "hookline"}
    path = f"/v1/targets/{made['id']}"
    assert (await keyed.ok("GET", path))["auth"] == made["auth"]

    oauth = {"type": "oauth2", "token_url": "https://auth.example.com/token", "client_id": "c"}
    changed = await keyed.ok("PATCH", path, json={"auth": {**oauth, "client_secret": CLIENT_SECRET}})
    assert changed["auth"] == {**oauth, "scope": None}
    assert (await keyed.ok("PATCH", path, json={"enabled": True}))["auth"] == changed["auth"]  # kept
    mtls = {"type": "mtls", "certificate": pem[0], "private_key": pem[1]}
    assert (await keyed.ok("PATCH", path, json={"auth": mtls}))["auth"] == {
        "type": "mtls",
        "certificate": pem[0],
    }
    assert (await keyed.ok("PATCH", path, json={"auth": None}))["auth"] is None
    listed = await keyed.ok("GET", "/v1/targets")
    assert [t["auth"] for t in listed["data"]] == [None]


def make_pki_pems() -> tuple[str, str]:
    """A client certificate and its private key (PEM)."""
    with tempfile.TemporaryDirectory() as directory:
        pki = make_pki(Path(directory))
    return pki.client.certificate, pki.client.private_key


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ("basic", "auth"),
        ({"type": "digest"}, "auth.type"),
        ({"username": "u", "password": "p"}, "auth.type"),
        ({"type": "basic", "username": "u"}, "auth.password"),
        ({"type": "basic", "username": "", "password": "p"}, "auth.username"),
        ({"type": "basic", "username": "a:b", "password": "p"}, "auth.username"),
        ({"type": "basic", "username": "u", "password": "p\r\nX-Evil: 1"}, "auth.password"),
        ({"type": "basic", "username": "u", "password": "p", "token_url": "x"}, "auth.token_url"),
        ({"type": "oauth2", "token_url": "http://127.0.0.1/t", "client_id": "c"}, "auth.client_secret"),
        (
            {"type": "oauth2", "token_url": "ftp://x/t", "client_id": "c", "client_secret": "s"},
            "auth.token_url",
        ),
        (
            {"type": "oauth2", "token_url": "https://a/t", "client_id": "c", "client_secret": 5},
            "auth.client_secret",
        ),
        ({"type": "mtls", "certificate": "nope", "private_key": "nope"}, "auth.certificate"),
    ],
)
async def test_bad_auth_is_refused_and_changes_nothing(keyed: Client, auth: Any, field: str) -> None:
    target = await keyed.ok("POST", "/v1/targets", 201, json={"url": HOOK})
    body = _problem(await keyed.call("POST", "/v1/targets", json={"url": HOOK, "auth": auth}), 400, field)
    assert "p\r\n" not in str(body)
    _problem(
        await keyed.call("PATCH", f"/v1/targets/{target['id']}", json={"url": HOOK + "2", "auth": auth}), 400
    )
    assert await keyed.ok("GET", f"/v1/targets/{target['id']}") == target
    assert len((await keyed.ok("GET", "/v1/targets"))["data"]) == 1


async def test_a_certificate_with_another_key_is_refused(keyed: Client) -> None:
    one, other = make_pki_pems(), make_pki_pems()
    mtls = {"type": "mtls", "certificate": one[0], "private_key": other[1]}
    body = _problem(
        await keyed.call("POST", "/v1/targets", json={"url": HOOK, "auth": mtls}), 400, "auth.private_key"
    )
    assert "PRIVATE KEY" not in str(body)


async def test_without_a_secret_key_auth_is_refused_with_409(merchant: Client) -> None:
    auth = {"type": "basic", "username": "u", "password": PASSWORD}
    body = _problem(await merchant.call("POST", "/v1/targets", json={"url": HOOK, "auth": auth}), 409)
    assert "HOOKLINE_SECRET_KEY" in body["detail"]
    assert (await merchant.ok("GET", "/v1/targets"))["data"] == []
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": HOOK, "auth": None})
    assert target["auth"] is None


async def test_a_malformed_secret_key_stops_the_start(db_url: str) -> None:
    settings = app_settings(db_url, secret_key="not-a-fernet-key")
    with pytest.raises(SystemExit, match="HOOKLINE_SECRET_KEY is not a Fernet key"):
        async with open_runtime(settings, worker=False, migrate_db=True):
            pass
    assert Settings.from_env({"HOOKLINE_SECRET_KEY_OLD": "a,b"}).secret_key_old == "a,b"


async def test_deliveries_authenticate_and_secrets_appear_nowhere(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with start_auth_server() as server, running_app(app_settings(db_url, secret_key=KEY)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Keyed Shop")
        server.accepted = {basic("hookline", PASSWORD)}
        basic_target = {"type": "basic", "username": "hookline", "password": PASSWORD}
        oauth_target = {
            "type": "oauth2",
            "token_url": server.url + "/token",
            "client_id": server.client_id,
            "client_secret": CLIENT_SECRET,
        }
        answers: list[Any] = []
        for name, auth in [("basic", basic_target), ("oauth", oauth_target), ("none", None)]:
            target = await merchant.ok(
                "POST", "/v1/targets", 201, json={"url": server.url + "/hook", "auth": auth}
            )
            answers.append(target)
            route = {
                "name": name,
                "target_id": target["id"],
                "event_types": ["order.*"],
                "retry": {"max_attempts": 1},
            }
            answers.append(await merchant.ok("POST", "/v1/routes", 201, json=route))
        server.accepted.add("Bearer tok-1")
        for n in range(2):
            answers.append(await merchant.ok("POST", "/v1/events", 202, json=event(event_id=f"evt-{n}")))
        deliveries = (await merchant.ok("GET", "/v1/deliveries"))["data"]
        assert len(deliveries) == 6
        by_route = {route["id"]: route["name"] for route in answers if "target_id" in route}
        for delivery in deliveries:
            wanted = "failed" if by_route[delivery["route_id"]] == "none" else "success"
            answers.append(await wait_status(merchant, delivery["id"], wanted))
        assert len(server.token_forms) == 1  # one token for both oauth deliveries
        answers.append(await merchant.ok("GET", "/v1/targets"))

        token = await signed_in(http, merchant.key)
        assert token
        answered = [await http.get(f"/dashboard/deliveries/{d['id']}") for d in deliveries]
        answered.append(await http.get("/dashboard/"))
        answered += [await http.get(f"/dashboard/routes/{rid}/edit") for rid in by_route]
        assert [page.status_code for page in answered] == [200] * len(answered)
        pages = [page.text for page in answered]
        assert sum("Authorization: [redacted]" in page for page in pages) == 4  # the attempts' headers

    shown = str(answers) + "".join(pages) + caplog.text
    assert "[redacted]" in str(answers)  # the attempts' Authorization header
    for secret in (PASSWORD, CLIENT_SECRET, basic("hookline", PASSWORD), "tok-1", "gAAAA"):
        assert secret not in shown, secret


async def test_a_claimed_delivery_carries_its_targets_sealed_credentials(db_url: str) -> None:
    async with running_app(app_settings(db_url, secret_key=KEY), worker=False) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Queued Shop")
        target, route = await add_route(merchant, HOOK, ["order.*"])
        auth = {"type": "basic", "username": "hookline", "password": PASSWORD}
        await merchant.ok("PATCH", f"/v1/targets/{target['id']}", json={"auth": auth})
        await merchant.ok("POST", "/v1/events", 202, json=event())
    db = Database(db_url)
    try:
        [job] = await queue.claim(db, time.time() + 1, 10, 60)
    finally:
        await db.close()
    assert job.route_id == route["id"] and job.auth is not None
    ring = credentials.Keyring.from_settings(KEY, "")
    assert ring is not None and ring.open(job.auth) == credentials.Basic("hookline", PASSWORD)
