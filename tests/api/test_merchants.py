"""Merchants: creation, listing with pagination, and API keys that are shown once and stored hashed."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from sqlalchemy import select

from conftest import Client
from hookline.storage.database import Database
from hookline.storage.tables import api_keys, meta


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


async def test_create_returns_id_name_and_key_once(operator: Client) -> None:
    response = await operator.call("POST", "/v1/merchants", json={"name": "  Bean Box  "})
    assert response.status_code == 201 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"id", "name", "api_key"}
    assert body["id"].startswith("mer_") and body["name"] == "Bean Box"
    assert body["api_key"].startswith("hl_mk_") and len(body["api_key"]) > 30

    # The key is never shown again: not by the merchant, the list, or the key list.
    shown = await operator.ok("GET", f"/v1/merchants/{body['id']}")
    assert shown == {"id": body["id"], "name": "Bean Box", "public_id": None, "created": shown["created"]}
    listed = await operator.ok("GET", "/v1/merchants")
    keys = await operator.ok("GET", f"/v1/merchants/{body['id']}/api-keys")
    for text in (str(shown), str(listed), str(keys)):
        assert body["api_key"] not in text
    [key] = keys["data"]
    assert key["hint"].startswith(body["api_key"][:6]) and key["hint"].endswith(body["api_key"][-4:])

    own = Client(operator.http, body["api_key"])
    assert (await own.ok("GET", f"/v1/merchants/{body['id']}"))["name"] == "Bean Box"


async def test_each_merchant_gets_its_own_key(operator: Client) -> None:
    first = await operator.ok("POST", "/v1/merchants", 201, json={"name": "A"})
    second = await operator.ok("POST", "/v1/merchants", 201, json={"name": "A"})
    assert first["id"] != second["id"] and first["api_key"] != second["api_key"]


async def test_keys_are_stored_hashed(db_url: str, operator: Client) -> None:
    body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Hashed"})
    added = await operator.ok("POST", f"/v1/merchants/{body['id']}/api-keys", 201)
    db = Database(db_url)
    try:
        async with db.read() as conn:
            rows = (await conn.execute(select(api_keys))).mappings().all()
            stored_meta = (await conn.execute(select(meta))).mappings().all()
    finally:
        await db.close()
    mine = [dict(r) for r in rows if r["merchant_id"] == body["id"]]
    assert len(mine) == 2
    hashes = {r["key_hash"] for r in mine}
    assert hashes == {hashlib.sha256(k.encode()).hexdigest() for k in (body["api_key"], added["api_key"])}
    everything = str(mine) + str([dict(r) for r in stored_meta])
    assert body["api_key"] not in everything and added["api_key"] not in everything
    # Nor the secret part of either key: only the hint's few characters are kept.
    assert body["api_key"][6:-4] not in everything and added["api_key"][6:-4] not in everything


async def test_list_is_paginated(operator: Client) -> None:
    created = [
        (await operator.ok("POST", "/v1/merchants", 201, json={"name": f"M{i}"}))["id"] for i in range(5)
    ]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await operator.ok("GET", "/v1/merchants", params=params)
        assert len(page["data"]) <= 2
        assert all("api_key" not in m for m in page["data"])
        seen += [m["id"] for m in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(created, reverse=True)  # newest first

    everything = await operator.ok("GET", "/v1/merchants")
    assert [m["id"] for m in everything["data"]] == seen and everything["next_cursor"] is None


async def test_invalid_merchant_is_400(operator: Client) -> None:
    for json, field in [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"name": None}, "name"),
        ({"name": "Ok", "plan": "gold"}, "plan"),
    ]:
        _problem(await operator.call("POST", "/v1/merchants", json=json), 400, field)
    assert (await operator.ok("GET", "/v1/merchants"))["data"] == []


async def test_unknown_merchant_is_404(operator: Client) -> None:
    body = _problem(await operator.call("GET", "/v1/merchants/mer_nope"), 404)
    assert "mer_nope" in body["detail"]
    _problem(await operator.call("GET", "/v1/merchants/mer_nope/api-keys"), 404)
    _problem(await operator.call("POST", "/v1/merchants/mer_nope/api-keys"), 404)


async def test_merchant_sees_itself_but_not_others(operator: Client, merchant: Client) -> None:
    other = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    mine = await merchant.ok("GET", f"/v1/merchants/{merchant.merchant_id}")  # type: ignore[attr-defined]
    assert mine["name"] == "Acme Coffee"
    foreign = await merchant.call("GET", f"/v1/merchants/{other['id']}")
    missing = await merchant.call("GET", "/v1/merchants/mer_missing")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"].replace(other["id"], "?") == missing.json()["detail"].replace(
        "mer_missing", "?"
    )


async def test_names_that_hide_or_reorder_text_are_400(operator: Client) -> None:
    for name in ["Acme\u202eyxe.exe", "Ac\u200bme", "Acme\u2028Coffee", "\ufeffAcme", "Acme\x07"]:
        _problem(await operator.call("POST", "/v1/merchants", json={"name": name}), 400, "name")
    assert (await operator.ok("GET", "/v1/merchants"))["data"] == []
    await operator.ok("POST", "/v1/merchants", 201, json={"name": "Café Ōsaka ☕"})
