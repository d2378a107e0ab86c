"""The webhook form in one round: every problem at once, in the order of the fields, each number's problem
saying its range; and a form sent after its session ended is kept through signing in again."""

from __future__ import annotations

import html
import re
import time

import httpx
from sqlalchemy import update

from conftest import Client
from hookline.dashboard import carry
from hookline.storage.database import Database
from hookline.storage.tables import sessions
from support.dashboard import csrf_of, signed_in

SUMMARY = re.compile(r'<div class="error-summary".*?<ul>(.*?)</ul>', re.S)
ITEM = re.compile(r'<li><a href="#f-([^"]+)">(.*?)</a></li>', re.S)


def form_of(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields as httpx sends them (a name given several times: a list), HTML entities undone."""
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def listed(page: str) -> list[tuple[str, str]]:
    """The problems at the top of the form: (field, text), in the order shown."""
    found = SUMMARY.search(page)
    assert found, "no error summary"
    return [(field, html.unescape(text)) for field, text in ITEM.findall(found.group(1))]


async def test_every_problem_is_shown_at_once_in_form_order(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    token = await signed_in(http, merchant.key)
    body = {
        "csrf": token,
        "name": "",
        "new_url": "ftp://example.com/x",
        "event_types": "order.*",
        "snapshot": "order:nonsense",
        "initial_interval_s": "soon",
        "max_interval_s": "600",
        "max_attempts": "500",
        "timeout_s": "90",
        "headers": "Host: example.com",
        "auto_halt_failures": "-3",
        "transform": "[[[",
    }
    answer = await http.post("/dashboard/routes/new", data=body)
    assert answer.status_code == 400
    shown = listed(answer.text)
    assert [field for field, _ in shown] == [
        "name",
        "new_url",
        "snapshot",
        "retry-initial_interval_s",
        "retry-max_attempts",
        "timeout_s",
        "headers",
        "auto_halt-failures",
        "transform",
    ]
    said = dict(shown)
    assert said["retry-initial_interval_s"] == "the first delay must be a number between 1 and 3600 seconds"
    assert said["retry-max_attempts"] == "the number of attempts must be between 1 and 200"
    assert said["timeout_s"] == "the timeout must be between 0.5 and 30 seconds"
    assert said["auto_halt-failures"] == "the failures before halting must be between 0 and 1000000"
    assert "out of range" not in answer.text
    assert (await merchant.ok("GET", "/v1/targets"))["data"] == []  # nothing made
    # The values typed are kept in the form.
    assert 'value="500"' in answer.text and "Host: example.com" in answer.text


async def test_the_api_says_the_range_too(merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/x"})
    body = {"name": "x", "target_id": target["id"], "event_types": ["order.*"], "timeout_s": 90}
    answer = await merchant.call("POST", "/v1/routes", json=body)
    assert answer.status_code == 422 or answer.status_code == 400, answer.text
    assert "between 0.5 and 30" in answer.text and "out of range" not in answer.text


async def _expire_sessions(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.write() as conn:
            await conn.execute(update(sessions).values(expires=time.time() - 1))
    finally:
        await db.close()


async def test_a_form_sent_after_the_session_ended_is_kept(
    db_url: str, http: httpx.AsyncClient, merchant: Client
) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/x"})
    token = await signed_in(http, merchant.key)
    typed = {"name": "Orders & refunds", "target_id": target["id"], "event_types": ["order.*", "item.*"]}
    await _expire_sessions(db_url)  # twelve hours pass while the form is being filled in
    answer = await http.post("/dashboard/routes/new", data={"csrf": token, **typed})
    assert answer.status_code == 401
    assert html.unescape(carry.ENDED) in html.unescape(answer.text)
    page = answer.text
    assert 'name="carry:name" value="Orders &amp; refunds"' in page
    assert page.count('name="carry:event_types"') == 2 and "carry:csrf" not in page
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []  # nothing sent without a session
    # Signing in there: the form comes back, ready to send with the new session's token.
    fields = re.findall(r'<input type="hidden" name="(carry:[^"]+|carried|next)" value="([^"]*)">', page)
    sign_in = form_of([("csrf", csrf_of(answer)), ("key", merchant.key), *fields])
    resumed = await http.post("/dashboard/sign-in", data=sign_in)
    assert resumed.status_code == 200 and "You are signed in again" in resumed.text
    assert 'action="/dashboard/routes/new"' in resumed.text
    new_token = csrf_of(resumed)
    assert new_token != token
    resend = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', resumed.text)
    sent = await http.post("/dashboard/routes/new", data=form_of(resend))
    assert sent.status_code == 303, sent.text
    [route] = (await merchant.ok("GET", "/v1/routes"))["data"]
    assert route["name"] == "Orders & refunds" and route["event_types"] == ["item.*", "order.*"]


async def test_a_wrong_key_keeps_the_carried_form(
    db_url: str, http: httpx.AsyncClient, merchant: Client
) -> None:
    token = await signed_in(http, merchant.key)
    await _expire_sessions(db_url)
    answer = await http.post("/dashboard/routes/new", data={"csrf": token, "name": "Kept"})
    assert answer.status_code == 401
    sign_in = {
        "csrf": csrf_of(answer),
        "key": "hl_mk_wrong",
        "carried": "1",
        "carry:name": "Kept",
        "next": "/dashboard/routes/new",
    }
    again = await http.post("/dashboard/sign-in", data=sign_in)
    assert again.status_code == 401 and "That key is not valid" in again.text
    assert 'name="carry:name" value="Kept"' in again.text


async def test_an_operators_form_is_kept_for_the_merchant_it_was_for(
    db_url: str, http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/x"})
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    token = await signed_in(http, operator.key)
    acting = await http.post("/dashboard/merchants/select", data={"csrf": token, "merchant_id": merchant_id})
    assert acting.status_code == 303, acting.text
    typed = {"name": "For the shop", "target_id": target["id"], "event_types": ["order.*"]}
    await _expire_sessions(db_url)
    answer = await http.post("/dashboard/routes/new", data={"csrf": token, **typed})
    assert answer.status_code == 401
    page = answer.text
    assert f'name="{carry.FOR}" value="{merchant_id}"' in page
    fields = re.findall(
        r'<input type="hidden" name="(carry:[^"]+|carried|carried_for|next)" value="([^"]*)">', page
    )
    sign_in = form_of([("csrf", csrf_of(answer)), ("key", operator.key), *fields])
    resumed = await http.post("/dashboard/sign-in", data=sign_in)
    # Signed in again as the operator, acting for the same merchant: the form, ready to send.
    assert resumed.status_code == 200 and 'action="/dashboard/routes/new"' in resumed.text, resumed.text
    resend = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', resumed.text)
    sent = await http.post("/dashboard/routes/new", data=form_of(resend))
    assert sent.status_code == 303, sent.text
    [route] = (await merchant.ok("GET", "/v1/routes"))["data"]
    assert route["name"] == "For the shop"


async def test_a_carried_merchant_that_does_not_exist_leads_to_the_merchant_list(
    db_url: str, http: httpx.AsyncClient, operator: Client
) -> None:
    await signed_in(http, operator.key)
    answer = await http.get("/dashboard/sign-in")
    sign_in = {
        "csrf": csrf_of(answer),
        "key": operator.key,
        "carried": "1",
        "carried_for": "mer_nobody",
        "carry:name": "Kept",
        "next": "/dashboard/routes/new",
    }
    again = await http.post("/dashboard/sign-in", data=sign_in)
    assert again.status_code == 303 and again.headers["location"] == "/dashboard/merchants"
