"""The Targets page and a target's page over plain HTTP, on both databases: the list with the webhooks that
use each target, a URL changed in place (the keys kept), enable and disable, the secrets revealed, a
rotation with its overlap, and the refusals."""

from __future__ import annotations

import re

import httpx

from conftest import Client, new_merchant
from hookline.core import keypairs, signing
from support.dashboard import make_route, signed_in

LIST = "/dashboard/targets"


async def test_the_list_shows_each_target_with_the_webhooks_that_use_it(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    orders = await make_route(merchant, "http://127.0.0.1:9/orders", "Orders")
    body = {"name": "Orders copy", "target_id": orders["target_id"], "event_types": ["order.*"]}
    copy = await merchant.ok("POST", "/v1/routes", 201, json=body)
    spare = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/spare"})
    other = await new_merchant(operator)
    foreign = await make_route(other, "http://127.0.0.1:9/theirs", "Theirs")

    await signed_in(http, merchant.key)
    home = await http.get("/dashboard/")
    assert f'href="{LIST}"' in home.text  # in the main menu
    page = await http.get(LIST)
    assert page.status_code == 200, page.text
    row = re.search(rf'<tr id="target-{orders["target_id"]}">.*?</tr>', page.text, re.S)
    assert row, page.text
    assert "http://127.0.0.1:9/orders" in row.group(0).replace("<wbr>", "") and "enabled" in row.group(0)
    assert f'href="/dashboard/routes/{orders["id"]}">Orders</a>' in row.group(0)
    assert f'href="/dashboard/routes/{copy["id"]}">Orders copy</a>' in row.group(0)
    spare_row = re.search(rf'<tr id="target-{spare["id"]}">.*?</tr>', page.text, re.S)
    assert spare_row and "no webhook" in spare_row.group(0)
    assert "theirs" not in page.text  # another merchant's targets are not listed
    assert (await http.get(f"{LIST}/{foreign['target_id']}")).status_code == 404
    assert (await http.get(f"{LIST}/{foreign['target_id']}/keys")).status_code == 404


async def test_a_new_url_keeps_the_keys(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/old", "Orders")
    target_id = route["target_id"]
    before = await merchant.ok("GET", f"/v1/targets/{target_id}/signing-key")
    token = await signed_in(http, merchant.key)
    page = await http.get(f"{LIST}/{target_id}")
    assert page.status_code == 200, page.text
    assert 'value="http://127.0.0.1:9/old"' in page.text
    assert before["signing_key"] not in page.text  # masked until revealed
    assert f'href="/dashboard/routes/{route["id"]}">Orders</a>' in page.text
    link = f'<a href="{LIST}/{target_id}">http://127.0.0.1:9/old</a>'
    for linking in (f"/dashboard/routes/{route['id']}", "/dashboard/"):  # the webhook links its target
        assert link in (await http.get(linking)).text.replace("<wbr>", ""), linking  # URLs break at / . _ -

    saved = await http.post(f"{LIST}/{target_id}/url", data={"csrf": token, "url": "http://127.0.0.1:9/new"})
    assert saved.status_code == 303, saved.text
    shown = await http.get(saved.headers["location"])
    assert "URL saved, key kept" in shown.text and 'value="http://127.0.0.1:9/new"' in shown.text
    after = await merchant.ok("GET", f"/v1/targets/{target_id}/signing-key")
    assert after == before
    [target] = (await merchant.ok("GET", "/v1/targets"))["data"]
    assert target["id"] == target_id and target["url"] == "http://127.0.0.1:9/new"

    refused = await http.post(f"{LIST}/{target_id}/url", data={"csrf": token, "url": "ftp://example.com/x"})
    assert refused.status_code == 400
    assert 'id="err-url"' in refused.text and 'value="ftp://example.com/x"' in refused.text
    assert (await merchant.ok("GET", f"/v1/targets/{target_id}"))["url"] == "http://127.0.0.1:9/new"
    forged = await http.post(f"{LIST}/{target_id}/url", data={"url": "http://127.0.0.1:9/forged"})
    assert forged.status_code == 403


async def test_reveal_the_secrets_and_the_public_key(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/hook")
    keys = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    await signed_in(http, merchant.key)
    page = await http.get(f"{LIST}/{route['target_id']}")
    assert keys["standard_webhooks_public_key"].startswith(keypairs.PUBLIC_KEY_PREFIX)
    assert f'value="{keys["standard_webhooks_public_key"]}"' in page.text  # public: shown as it is
    assert "No rotation under way" in page.text
    revealed = await http.get(f"{LIST}/{route['target_id']}", params={"reveal": "1"})
    secret = signing.standard_secret(keys["signing_key"].encode())
    assert f'value="{keys["signing_key"]}"' in revealed.text and f'value="{secret}"' in revealed.text
    answer = await http.get(f"{LIST}/{route['target_id']}/keys")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert answer.json()["standard_webhooks_secret"] == secret
    assert answer.json()["public_key"] == keys["standard_webhooks_public_key"]


async def test_rotation_shows_both_keys_and_the_end_of_the_overlap(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/hook")
    target_id = route["target_id"]
    old = (await merchant.ok("GET", f"/v1/targets/{target_id}/signing-key"))["signing_key"]
    token = await signed_in(http, merchant.key)
    ask = await http.get(f"{LIST}/{target_id}/confirm/rotate")
    assert ask.status_code == 200 and "keeps signing alongside the new one for 24 hours" in ask.text
    unconfirmed = await http.post(f"{LIST}/{target_id}/do/rotate", data={"csrf": token})
    assert unconfirmed.status_code == 303 and unconfirmed.headers["location"].endswith("/confirm/rotate")
    assert (await merchant.ok("GET", f"/v1/targets/{target_id}/signing-key"))["signing_key"] == old

    done = await http.post(f"{LIST}/{target_id}/do/rotate", data={"csrf": token, "confirmed": "1"})
    assert done.status_code == 303
    page = await http.get(done.headers["location"])
    keys = await merchant.ok("GET", f"/v1/targets/{target_id}/signing-key")
    assert keys["signing_key"] != old and keys["expiring_signing_key"] == old
    assert "New signing key created" in page.text
    assert f'value="{keys["signing_key"]}"' in page.text and f'value="{old}"' in page.text
    assert f'value="{signing.standard_secret(old.encode())}"' in page.text
    expiry = keys["signing_key_expiry"].replace("T", " ").replace("Z", "").replace("+00:00", "")
    assert "also signs every delivery until <strong><time datetime=" in page.text
    assert expiry[:19] + " UTC" in page.text
    listed = await http.get(LIST)
    assert "key rotating" in listed.text


async def test_disable_asks_first_and_enable_does_not(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/hook")
    target_id = route["target_id"]
    token = await signed_in(http, merchant.key)
    ask = await http.get(f"{LIST}/{target_id}/confirm/disable")
    assert ask.status_code == 200 and "pending and held deliveries are canceled" in ask.text
    done = await http.post(f"{LIST}/{target_id}/do/disable", data={"csrf": token, "confirmed": "1"})
    assert done.status_code == 303
    page = await http.get(done.headers["location"])
    assert "Target disabled" in page.text and "This target is disabled" in page.text
    assert (await merchant.ok("GET", f"/v1/targets/{target_id}"))["enabled"] is False
    done = await http.post(f"{LIST}/{target_id}/do/enable", data={"csrf": token})
    assert done.status_code == 303
    assert (await merchant.ok("GET", f"/v1/targets/{target_id}"))["enabled"] is True
    assert (await http.post(f"{LIST}/{target_id}/do/explode", data={"csrf": token})).status_code == 404
    assert (await http.get(f"{LIST}/{target_id}/confirm/explode")).status_code == 404


async def test_an_empty_list_says_where_targets_come_from(http: httpx.AsyncClient, merchant: Client) -> None:
    await signed_in(http, merchant.key)
    page = await http.get(LIST)
    assert page.status_code == 200 and "No targets yet" in page.text
