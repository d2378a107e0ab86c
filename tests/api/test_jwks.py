"""Standard Webhooks ``v1a``: real deliveries (through both senders, on both engines) carry Ed25519 signatures
that verify with the keys of the target's public JWKS document, checked with libsodium (PyNaCl), an
implementation independent of the one that signs; rotation publishes and signs with both keys, and the
expiring key leaves when the window ends."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nacl.exceptions
import nacl.signing
import pytest
import sqlalchemy as sa

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.storage.database import Database
from hookline.storage.tables import targets
from support import events
from support.receiver import Receiver


@pytest.fixture(params=["curl", "aiohttp"])
async def served(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[Client]:
    """A merchant on hookline running with one sender or the other."""
    async with running_app(app_settings(db_url, http_client=request.param)) as http:
        operator = Client(http, OPERATOR_KEY)
        body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Keyed Coffee"})
        yield Client(http, body["api_key"])


async def _target_with_route(merchant: Client, url: str) -> str:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    route = {"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
    await merchant.ok("POST", "/v1/routes", 201, json=route)
    return str(target["id"])


async def _jwks(http: httpx.AsyncClient, target_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"/jwks/{target_id}.json")  # no API key
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=300"
    keys: list[dict[str, Any]] = response.json()["keys"]
    return keys


def _verify_key(jwk: dict[str, Any]) -> nacl.signing.VerifyKey:
    assert (jwk["kty"], jwk["crv"], jwk["use"]) == ("OKP", "Ed25519", "sig")
    assert "d" not in jwk  # never the private half
    x = jwk["x"]
    return nacl.signing.VerifyKey(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))


def _v1a(headers: dict[str, str], body: bytes) -> tuple[bytes, list[bytes]]:
    """The signed message and the ``v1a`` signatures of a received request, in header order."""
    message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    entries = [e.split(",", 1) for e in headers["webhook-signature"].split(" ")]
    return message, [base64.b64decode(sig) for kind, sig in entries if kind == "v1a"]


async def _deliver(
    merchant: Client, receiver: Receiver, path: str, event_id: str
) -> tuple[bytes, list[bytes]]:
    """Post an event, wait for its delivery to ``path``; its signed message and ``v1a`` signatures."""
    arrived = len(receiver.on(path))
    event = events.event("order.reminder", event_id, public_id=event_id)
    await merchant.ok("POST", "/v1/events", 202, json=event)
    await receiver.wait_for(arrived + 1, path=path)
    [request] = [r for r in receiver.on(path) if json.loads(r.body)["id"] == event_id]
    return _v1a(request.headers, request.body)


async def test_v1a_on_a_real_delivery_verifies_with_the_jwks_key(served: Client, receiver: Receiver) -> None:
    target_id = await _target_with_route(served, receiver.url + "/signed")
    [jwk] = await _jwks(served.http, target_id)
    public = await served.ok("GET", f"/v1/targets/{target_id}/signing-key")
    assert base64.b64decode(public["standard_webhooks_public_key"].removeprefix("whpk_")) == bytes(
        _verify_key(jwk)
    )

    message, [signature] = await _deliver(served, receiver, "/signed", "evt-1")
    _verify_key(jwk).verify(message, signature)  # raises BadSignatureError when it does not verify
    with pytest.raises(nacl.exceptions.BadSignatureError):
        _verify_key(jwk).verify(message + b" ", signature)
    assert await _jwks(served.http, target_id) == [jwk]  # stable: the same key and kid on every read


async def _end_window(db_url: str, target_id: str) -> None:
    """The rotation window runs out (its end moved into the past, as 24 h would)."""
    db = Database(db_url)
    try:
        async with db.write() as conn:
            ended = sa.update(targets).where(targets.c.id == target_id).values(signing_key_expiry=1.0)
            await conn.execute(ended)
    finally:
        await db.close()


async def test_rotation_signs_with_both_keys_and_the_expiring_one_leaves(
    db_url: str, served: Client, receiver: Receiver
) -> None:
    target_id = await _target_with_route(served, receiver.url + "/rotating")
    [before] = await _jwks(served.http, target_id)
    await served.ok("POST", f"/v1/targets/{target_id}/signing-key/rotate")

    current, expiring = await _jwks(served.http, target_id)
    assert expiring == before  # the old key, its kid unchanged
    assert current["kid"] != before["kid"] and current["x"] != before["x"]
    message, signatures = await _deliver(served, receiver, "/rotating", "evt-during")
    assert len(signatures) == 2
    _verify_key(current).verify(message, signatures[0])  # new first
    _verify_key(expiring).verify(message, signatures[1])

    await _end_window(db_url, target_id)
    assert await _jwks(served.http, target_id) == [current]
    message, signatures = await _deliver(served, receiver, "/rotating", "evt-after")
    assert len(signatures) == 1
    _verify_key(current).verify(message, signatures[0])
    with pytest.raises(nacl.exceptions.BadSignatureError):
        _verify_key(expiring).verify(message, signatures[0])


async def test_unknown_and_deleted_targets_have_no_document(merchant: Client) -> None:
    http = merchant.http
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    assert len(await _jwks(http, target["id"])) == 1
    await merchant.ok("DELETE", f"/v1/targets/{target['id']}", 204)
    for target_id in (target["id"], "tgt_01ARZ3NDEKTSV4RRFFQ69G5FAV", "x" * 300, "é%20'\"", "..%2F..%2Fetc"):
        response = await http.get(f"/jwks/{target_id}.json")
        assert response.status_code == 404, (target_id, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await http.get(f"/jwks/{target['id']}")).status_code == 404  # the suffix is part of the path


async def test_private_keys_appear_in_no_answer(db_url: str, merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    rotated = await merchant.ok("POST", f"/v1/targets/{target['id']}/signing-key/rotate")
    db = Database(db_url)
    try:
        async with db.read() as conn:
            query = sa.select(targets.c.ed25519_private_key, targets.c.expiring_ed25519_private_key)
            stored = (await conn.execute(query.where(targets.c.id == target["id"]))).one()
    finally:
        await db.close()
    assert all(stored)
    answers = [
        json.dumps(rotated),
        (await merchant.call("GET", f"/v1/targets/{target['id']}/signing-key")).text,
        (await merchant.call("GET", f"/v1/targets/{target['id']}")).text,
        (await merchant.call("GET", "/v1/targets")).text,
        (await merchant.call("GET", f"/webhook_targets/{target['id']}/signing_key")).text,
        (await merchant.http.get(f"/jwks/{target['id']}.json")).text,
    ]
    for key in stored:
        seed = base64.b64decode(key)
        forms = {key, base64.urlsafe_b64encode(seed).decode().rstrip("="), seed.hex()}
        assert not [form for form in forms for answer in answers if form in answer]
