"""Editing a webhook's URL in the dashboard changes its target's URL in place: the target and its signing key
stay, so the receiver's signature check goes on working, and the page says so."""

from __future__ import annotations

import httpx

from conftest import Client
from support.dashboard import edit_form, make_route, signed_in


async def test_a_new_url_keeps_the_target_and_its_key(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/old")
    keys = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    token = await signed_in(http, merchant.key)
    edit = await http.get(f"/dashboard/routes/{route['id']}/edit")
    assert 'name="target_url"' in edit.text and 'value="http://127.0.0.1:9/old"' in edit.text
    assert "keeps its signing key" in edit.text
    new_url = "http://127.0.0.1:9/new"
    saved = await http.post(
        f"/dashboard/routes/{route['id']}/edit", data=edit_form(token, route, target_url=new_url)
    )
    assert saved.status_code == 303, saved.text
    [target] = (await merchant.ok("GET", "/v1/targets"))["data"]  # no second target
    assert target["id"] == route["target_id"] and target["url"] == new_url
    after = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    assert after["signing_key"] == keys["signing_key"] and after["expiring_signing_key"] is None
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["target_id"] == route["target_id"]
    shown = await http.get(saved.headers["location"])
    assert "now sends to the new URL and keeps its signing key" in shown.text
    assert "other webhooks that use this target" not in shown.text


async def test_a_shared_target_says_the_other_webhooks_follow(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/old")
    body = {"name": "second", "target_id": route["target_id"], "event_types": ["subscription.*"]}
    await merchant.ok("POST", "/v1/routes", 201, json=body)
    token = await signed_in(http, merchant.key)
    edit = await http.get(f"/dashboard/routes/{route['id']}/edit")
    assert "the 1 other webhook using this target sends there too" in edit.text
    saved = await http.post(
        f"/dashboard/routes/{route['id']}/edit",
        data=edit_form(token, route, target_url="http://127.0.0.1:9/new"),
    )
    assert saved.status_code == 303, saved.text
    shown = await http.get(saved.headers["location"])
    assert "The other webhooks that use this target send there too" in shown.text


async def test_a_refused_url_changes_nothing(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/old")
    other = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/other"})
    token = await signed_in(http, merchant.key)
    path = f"/dashboard/routes/{route['id']}/edit"
    bad = await http.post(path, data=edit_form(token, route, name="Renamed", target_url="file:///etc/passwd"))
    assert bad.status_code == 400
    assert 'id="err-target_url"' in bad.text
    both = edit_form(token, route, target_id=other["id"], target_url="http://127.0.0.1:9/new")
    refused = await http.post(path, data=both)
    assert refused.status_code == 400 and "not both" in refused.text
    target = await merchant.ok("GET", f"/v1/targets/{route['target_id']}")
    assert target["url"] == "http://127.0.0.1:9/old"
    after = await merchant.ok("GET", f"/v1/routes/{route['id']}")
    assert after["name"] == route["name"] and after["target_id"] == route["target_id"]
    # Choosing another target with the URL left as it was moves the webhook there.
    moved = await http.post(
        path, data=edit_form(token, route, target_id=other["id"], target_url=target["url"])
    )
    assert moved.status_code == 303, moved.text
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["target_id"] == other["id"]
