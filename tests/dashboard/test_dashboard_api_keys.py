"""The API keys page over plain HTTP: create a key (shown once), revoke one after a question, not the last."""

from __future__ import annotations

import re

import httpx

from conftest import Client
from support.dashboard import creation_form, csrf_of, session_csrf, session_rows, signed_in

NEW_KEY = re.compile(r'id="new-key" class="key" type="text" readonly value="(hl_mk_[^"]+)"')


async def test_a_key_is_created_shown_once_and_revoked(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    listed = await http.get("/dashboard/api-keys")
    assert listed.status_code == 200 and 'href="/dashboard/api-keys"' in listed.text
    assert "Last key: cannot be revoked" in listed.text
    assert (await http.post("/dashboard/api-keys", data={})).status_code == 403  # no CSRF token
    form = creation_form(listed)
    assert form["csrf"] == token
    created = await http.post("/dashboard/api-keys", data=form)
    assert created.status_code == 201 and "it is not shown again" in created.text
    found = NEW_KEY.search(created.text)
    assert found
    key = found.group(1)
    assert (await Client(http, key).ok("GET", "/v1/routes"))["data"] == []  # the new key works
    again = await http.get("/dashboard/api-keys")
    assert key not in again.text and key[:6] + "…" + key[-4:] in again.text
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    keys = (await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]
    new_id = next(k["id"] for k in keys if k["hint"] == key[:6] + "…" + key[-4:])
    question = await http.get(f"/dashboard/api-keys/{new_id}/revoke")
    assert question.status_code == 200 and "This cannot be undone" in question.text
    revoked = await http.post(f"/dashboard/api-keys/{new_id}/revoke", data={"csrf": csrf_of(question)})
    assert (
        revoked.status_code == 303 and revoked.headers["location"] == "/dashboard/api-keys?notice=key_revoked"
    )
    after = await http.get(revoked.headers["location"])
    assert "API key revoked" in after.text and "Revoked keys" in after.text
    assert (await Client(http, key).call("GET", "/v1/routes")).status_code == 401


async def test_the_last_key_cannot_be_revoked(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    [key] = (await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]
    refused = await http.post(f"/dashboard/api-keys/{key['id']}/revoke", data={"csrf": token})
    assert refused.status_code == 409
    assert "The key was not revoked" in refused.text and "last active key" in refused.text
    [still] = (await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]
    assert still["revoked"] is None
    missing = await http.post("/dashboard/api-keys/key_nope/revoke", data={"csrf": token})
    assert missing.status_code == 404


async def test_another_merchants_key_is_not_found(
    http: httpx.AsyncClient, merchant: Client, operator: Client
) -> None:
    other = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    await operator.ok("POST", f"/v1/merchants/{other['id']}/api-keys", 201)
    [theirs, _] = (await operator.ok("GET", f"/v1/merchants/{other['id']}/api-keys"))["data"]
    token = await signed_in(http, merchant.key)
    assert (await http.get(f"/dashboard/api-keys/{theirs['id']}/revoke")).status_code == 404
    refused = await http.post(f"/dashboard/api-keys/{theirs['id']}/revoke", data={"csrf": token})
    assert refused.status_code == 404
    keys = (await operator.ok("GET", f"/v1/merchants/{other['id']}/api-keys"))["data"]
    assert all(k["revoked"] is None for k in keys)


async def test_read_only_and_portal_sessions_cannot_change_keys(
    db_url: str, http: httpx.AsyncClient, merchant: Client
) -> None:
    token = await signed_in(http, merchant.key)
    await session_rows(db_url, read_only=True)
    refused = await http.post("/dashboard/api-keys", data={"csrf": token})
    assert refused.status_code == 403 and "can look but not change" in refused.text
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    assert len((await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]) == 1


async def test_a_portal_session_does_not_see_api_keys(
    db_url: str, http: httpx.AsyncClient, merchant: Client, operator: Client
) -> None:
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    link = await operator.ok("POST", f"/v1/merchants/{merchant_id}/portal-links", 201, json={})
    assert (await http.get(link["url"])).status_code == 303
    home = await http.get("/dashboard/")
    assert home.status_code == 200 and "/dashboard/api-keys" not in home.text
    hidden = await http.get("/dashboard/api-keys")
    assert hidden.status_code == 403 and "managed by the platform" in hidden.text
    refused = await http.post("/dashboard/api-keys", data={"csrf": await session_csrf(db_url)})
    assert refused.status_code == 403
    assert len((await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]) == 1


async def test_a_resent_form_makes_no_second_key(http: httpx.AsyncClient, merchant: Client) -> None:
    """Reloading the answer that showed a new key sends its form again: no second key, and a word why."""
    await signed_in(http, merchant.key)
    form = creation_form(await http.get("/dashboard/api-keys"))
    assert (await http.post("/dashboard/api-keys", data=form)).status_code == 201
    again = await http.post("/dashboard/api-keys", data=form)
    assert again.status_code == 409 and "No key was made" in again.text and "sent before" in again.text
    assert NEW_KEY.search(again.text) is None
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    assert len((await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]) == 2
    # The answer's own form is current: a key can be made from it.
    assert (await http.post("/dashboard/api-keys", data=creation_form(again))).status_code == 201
    assert len((await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]) == 3
