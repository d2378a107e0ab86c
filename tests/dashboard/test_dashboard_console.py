"""The operator's console over plain HTTP: merchants with their health, a new merchant, and finding a
delivery of any merchant by its id or its event's id."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx

from conftest import OPERATOR_KEY, Client, new_merchant
from support.dashboard import creation_form, csrf_of, signed_in
from support.events import event

NEW_KEY = re.compile(r'id="new-key" class="key" type="text" readonly value="(hl_mk_[^"]+)"')


def _row(page: str, merchant_id: str) -> str:
    found = re.search(rf'<tr id="merchant-{merchant_id}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {merchant_id}"
    return found.group(1)


async def _failed_delivery(merchant: Client) -> dict[str, Any]:
    """A delivery that fails at once: one attempt, to a port where nothing listens."""
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/x"})
    body = {
        "name": "orders",
        "target_id": target["id"],
        "event_types": ["order.*"],
        "retry": {"max_attempts": 1},
    }
    await merchant.ok("POST", "/v1/routes", 201, json=body)
    await merchant.ok("POST", "/v1/events", 202, json=event("order.success"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = (await merchant.ok("GET", "/v1/deliveries", params={"status": "failed"}))["data"]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.1)
    raise AssertionError("the delivery did not fail in time")


async def test_merchants_are_listed_with_their_health(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    await _failed_delivery(merchant)
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/y"})
    halted = {"name": "held", "target_id": target["id"], "event_types": ["order.*"], "state": "halted"}
    await merchant.ok("POST", "/v1/routes", 201, json=halted)
    quiet = await new_merchant(operator, "Quiet Shop")
    await signed_in(http, OPERATOR_KEY)
    page = await http.get("/dashboard/merchants")
    assert page.status_code == 200
    acme = _row(page.text, merchant.merchant_id)  # type: ignore[attr-defined]
    assert "Acme Coffee" in acme and '"Webhooks">2<' in acme
    assert "1 halted" in acme and "1 failed" in acme
    assert "1 failing" in acme  # the active webhook whose last attempt failed
    other = _row(page.text, quiet.merchant_id)  # type: ignore[attr-defined]
    assert '"Webhooks">0<' in other and "halted" not in other and "failed" not in other
    assert " failing<" not in other


async def test_the_operator_finds_merchants_by_name_or_id(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    quiet = await new_merchant(operator, "Quiet Shop")
    await new_merchant(operator, "100%_real")
    await signed_in(http, OPERATOR_KEY)
    acme_id = merchant.merchant_id  # type: ignore[attr-defined]
    for wanted, shown in [
        ("coffee", {acme_id}),  # a part of the name, in any case
        (acme_id, {acme_id}),
        (quiet.merchant_id, {quiet.merchant_id}),  # type: ignore[attr-defined]
        ("%", None),  # a plain character: only the merchant whose name has one
        ("nobody here", set()),
    ]:
        page = await http.get("/dashboard/merchants", params={"find": wanted})
        assert page.status_code == 200
        rows = set(re.findall(r'<tr id="merchant-([^"]+)">', page.text))
        if shown is None:
            assert len(rows) == 1 and "100%_real" in page.text
        else:
            assert rows == shown, (wanted, rows)
        assert ("No merchant matches" in page.text) == (not rows)
        assert f'value="{wanted}"' in page.text.replace("&#34;", '"')


async def test_the_operator_creates_a_merchant_and_manages_its_keys(http: httpx.AsyncClient) -> None:
    token = await signed_in(http, OPERATOR_KEY)
    form = creation_form(await http.get("/dashboard/merchants"))
    assert form == {"csrf": token, "newest": ""}  # no merchant yet
    empty = await http.post("/dashboard/merchants/new", data={**form, "name": " "})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.text
    assert "No merchants yet" in empty.text  # nothing was made
    created = await http.post("/dashboard/merchants/new", data={**form, "name": "Bean Co"})
    assert created.status_code == 201 and "it is not shown again" in created.text
    resent = await http.post("/dashboard/merchants/new", data={**form, "name": "Bean Co"})
    assert resent.status_code == 409 and "No merchant was made" in resent.text
    assert NEW_KEY.search(resent.text) is None and resent.text.count(">Bean Co<") == 1
    found = NEW_KEY.search(created.text)
    assert found
    key = Client(http, found.group(1))
    merchant_id = re.search(r"Merchant id <code>(mer_[^<]+)</code>", created.text)
    assert merchant_id
    assert (await key.ok("GET", f"/v1/merchants/{merchant_id.group(1)}"))["name"] == "Bean Co"
    # Its keys: the operator acts for it and lands on its keys page; a second key, then the first revoked.
    listed = await http.get("/dashboard/merchants")
    chosen = await http.post(
        "/dashboard/merchants/select",
        data={"csrf": csrf_of(listed), "merchant_id": merchant_id.group(1), "next": "/api-keys"},
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/dashboard/api-keys?notice=merchant"
    keys = await http.get(chosen.headers["location"])
    assert "Bean Co" in keys.text and "Last key: cannot be revoked" in keys.text
    second = await http.post("/dashboard/api-keys", data=creation_form(keys))
    assert second.status_code == 201
    [first, _] = (await key.ok("GET", f"/v1/merchants/{merchant_id.group(1)}/api-keys"))["data"]
    gone = await http.post(f"/dashboard/api-keys/{first['id']}/revoke", data={"csrf": token})
    assert gone.status_code == 303
    assert (await key.call("GET", "/v1/routes")).status_code == 401
    # Any other "next" goes home, not off the dashboard.
    elsewhere = await http.post(
        "/dashboard/merchants/select",
        data={"csrf": token, "merchant_id": merchant_id.group(1), "next": "//evil.example/"},
    )
    assert elsewhere.headers["location"] == "/dashboard/?notice=merchant"


async def test_search_opens_another_merchants_delivery(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    delivery = await _failed_delivery(merchant)
    await new_merchant(operator, "Other Shop")
    token = await signed_in(http, OPERATOR_KEY)
    for wanted in (delivery["id"], delivery["event_id"]):
        found = await http.get("/dashboard/merchants/search", params={"q": wanted})
        assert found.status_code == 200 and delivery["id"] in found.text and "Acme Coffee" in found.text
    none = await http.get("/dashboard/merchants/search", params={"q": "dlv_nothing"})
    assert none.status_code == 200 and "Nothing found" in none.text
    for odd in ("x" * 5000, "%", "'; drop table deliveries; --"):
        assert (await http.get("/dashboard/merchants/search", params={"q": odd})).status_code == 200
    opened = await http.post(
        "/dashboard/merchants/select",
        data={
            "csrf": token,
            "merchant_id": merchant.merchant_id,  # type: ignore[attr-defined]
            "next": f"/deliveries/{delivery['id']}",
        },
    )
    assert opened.status_code == 303
    card = await http.get(opened.headers["location"])
    assert card.status_code == 200 and delivery["id"] in card.text and "acting for" in card.text


async def test_a_merchant_cannot_reach_the_operator_pages(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    assert (await http.get("/dashboard/merchants")).status_code == 403
    assert (await http.get("/dashboard/merchants/search", params={"q": "x"})).status_code == 403
    made = await http.post("/dashboard/merchants/new", data={"csrf": token, "name": "Sneaky"})
    assert made.status_code == 403
    assert "/dashboard/merchants" not in (await http.get("/dashboard/")).text
    http.cookies.clear()
    assert (await http.get("/dashboard/merchants/search")).status_code == 303  # no session: sign in


async def test_a_merchants_failed_counter_leads_to_those_deliveries(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    failed = await _failed_delivery(merchant)
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    token = await signed_in(http, OPERATOR_KEY)
    page = await http.get("/dashboard/merchants")
    row = _row(page.text, merchant_id)
    found = re.search(r'name="next" value="(/deliveries\?status=failed&amp;since=(\d+))"', row)
    assert found, row
    since = int(found.group(2))
    assert abs(since - (time.time() - 86_400)) < 120  # the counter's own 24 hours
    chosen = await http.post(
        "/dashboard/merchants/select",
        data={
            "csrf": token,
            "merchant_id": merchant_id,
            "next": found.group(1).replace("&amp;", "&"),
        },
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == f"/dashboard/deliveries?status=failed&since={since}&notice=merchant"
    listed = await http.get(chosen.headers["location"])
    assert listed.status_code == 200 and f'href="/dashboard/deliveries/{failed["id"]}"' in listed.text
    assert "1 delivery shown" in listed.text
    elsewhere = await http.post(
        "/dashboard/merchants/select",
        data={
            "csrf": token,
            "merchant_id": merchant_id,
            "next": "/deliveries?status=failed&x=//evil",
        },
    )
    assert elsewhere.headers["location"] == "/dashboard/?notice=merchant"  # only that filter is followed
