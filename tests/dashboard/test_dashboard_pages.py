"""The dashboard's pages over plain HTTP (no browser): sign-in, CSRF, empty states, tenant isolation."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from typing import Any

import httpx
import pytest

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from support.dashboard import checkbox, csrf_of, eventually, make_route, session_rows, sign_in, signed_in
from support.receiver import Receiver, Status


async def test_root_redirects_to_the_dashboard(http: httpx.AsyncClient) -> None:
    answer = await http.get("/")
    assert answer.status_code in (302, 307)
    assert answer.headers["location"].endswith("/dashboard")


async def test_pages_need_a_session(http: httpx.AsyncClient) -> None:
    answer = await http.get("/dashboard/")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/sign-in?next=")
    assert (await http.get("/dashboard/routes/rte_x")).status_code == 303


async def test_sign_in_with_a_wrong_key_shows_an_error(http: httpx.AsyncClient) -> None:
    answer = await sign_in(http, "hl_mk_not_a_key")
    assert answer.status_code == 401
    assert "That key is not valid" in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert "hookline_session" not in answer.headers.get("set-cookie", "")
    empty = await http.post("/dashboard/sign-in", data={"csrf": csrf_of(answer), "key": ""})
    assert empty.status_code == 401 and "Enter your API key" in empty.text


async def test_failed_sign_ins_are_throttled(db_url: str) -> None:
    async with running_app(app_settings(db_url, auth_failure_limit=3), worker=False) as http:
        for _ in range(3):
            assert (await sign_in(http, "hl_mk_wrong")).status_code == 401
        answer = await sign_in(http, OPERATOR_KEY)  # the right key waits as well
        assert answer.status_code == 429 and 18 <= int(answer.headers["retry-after"]) <= 20  # 60 s / 3
        assert "Too many failed sign-ins" in answer.text and "hookline_session" not in str(http.cookies)
        # The API answers the same address in the same way: one count for both.
        api = await http.get("/v1/merchants", headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
        assert api.status_code == 429


async def test_session_cookie_is_httponly_samesite_and_secure_over_https(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    answer = await sign_in(http, merchant.key)
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("hookline_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie
    http.cookies.clear()
    form = await http.get("https://hookline.test/dashboard/sign-in")
    answer = await http.post(
        "https://hookline.test/dashboard/sign-in", data={"csrf": csrf_of(form), "key": merchant.key}
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("hookline_session="))
    assert "Secure" in cookie


async def test_a_post_without_the_csrf_token_is_refused(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    body = {"name": "x", "new_url": "http://127.0.0.1:9/x", "event_types": "order.*"}
    missing = await http.post("/dashboard/routes/new", data=body)
    assert missing.status_code == 403
    assert "security token" in missing.text
    for forged in (token + "x", "é" * len(token)):
        wrong = await http.post("/dashboard/routes/new", data={**body, "csrf": forged})
        assert wrong.status_code == 403
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []
    # Signing in needs the sign-in form's token too (no login CSRF).
    http.cookies.clear()
    assert (await http.post("/dashboard/sign-in", data={"key": merchant.key})).status_code == 403
    # Signing out is a POST like the others.
    await signed_in(http, merchant.key)
    assert (await http.post("/dashboard/sign-out", data={})).status_code == 403


async def test_pages_of_an_empty_merchant_show_empty_states(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    await signed_in(http, merchant.key)
    listed = await http.get("/dashboard/")
    assert listed.status_code == 200
    assert "No webhooks yet" in listed.text and 'href="/dashboard/routes/new"' in listed.text
    new = await http.get("/dashboard/routes/new")
    assert new.status_code == 200
    assert 'value="order.*"' in new.text and 'value="order:customer"' in new.text
    assert 'value="subscriber:orders"' not in new.text  # a forbidden cell is disabled, not a choice
    assert "cannot be added to subscriber or subscription events" in new.text
    assert "— choose a target —" in new.text
    for header in ("content-security-policy", "x-frame-options"):
        assert header in listed.headers
    assert listed.headers["cache-control"] == "no-store"


async def test_a_route_is_created_and_edited_through_the_form(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    token = await signed_in(http, merchant.key)
    body = {
        "csrf": token,
        "name": "Orders to the ERP",
        "new_url": "http://127.0.0.1:9/hooks",
        "event_types": ["order.*", "order.reminder", "subscription.cancel"],
        "snapshot": ["order:customer", "order:items"],
        "initial_interval_s": "30",
        "max_interval_s": "600",
        "max_attempts": "10",
        "timeout_s": "3",
        "headers": "X-Shop: coffee\n",
    }
    created = await http.post("/dashboard/routes/new", data=body)
    assert created.status_code == 303, created.text
    [route] = (await merchant.ok("GET", "/v1/routes"))["data"]
    assert route["event_types"] == ["order.*", "subscription.cancel"]
    assert route["snapshot"] == {"order": ["customer", "items"]}
    assert route["retry"]["max_attempts"] == 10 and route["timeout_s"] == 3
    assert route["headers"] == {"X-Shop": "coffee"}
    listed = await http.get(created.headers["location"])
    assert "Webhook created" in listed.text and "Orders to the ERP" in listed.text
    key = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    assert key["signing_key"] in listed.text  # revealed once after creation, to copy
    edit = await http.get(f"/dashboard/routes/{route['id']}/edit")
    assert edit.status_code == 200
    assert " checked" in checkbox(edit.text, "order:items") and " checked" not in checkbox(
        edit.text, "item:items"
    )
    assert " checked" in checkbox(edit.text, "order.reminder")  # the family ticks its types
    changed = {**body, "target_id": route["target_id"], "new_url": "", "name": "Renamed"}
    changed["snapshot"] = ["order:customer"]
    changed.update(transform="{kind: type}", fields_exclude="snapshot\n", auto_halt_failures="5")
    saved = await http.post(f"/dashboard/routes/{route['id']}/edit", data=changed)
    assert saved.status_code == 303, saved.text
    after = await merchant.ok("GET", f"/v1/routes/{route['id']}")
    assert after["name"] == "Renamed" and after["snapshot"] == {"order": ["customer"]}
    assert after["transform"] == "{kind: type}" and after["fields"]["exclude"] == ["snapshot"]
    assert after["auto_halt"] == {"failures": 5, "window_s": None}
    edit = await http.get(f"/dashboard/routes/{route['id']}/edit")
    assert "{kind: type}" in edit.text and 'value="5"' in edit.text
    assert len((await merchant.ok("GET", "/v1/targets"))["data"]) == 1


TEXTAREA = re.compile(r'<textarea id="f-headers-input"[^>]*>(.*?)</textarea>', re.S)


async def test_the_edit_form_round_trips_custom_headers_exactly(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/x"})
    headers = {"X-Shop": "acme\tcoffee  co", "X-Quote": '"a: b" & <c>', "X-Empty": "", "X-Colon": ":"}
    body = {"name": "r", "target_id": target["id"], "event_types": ["order.*"], "headers": headers}
    route = await merchant.ok("POST", "/v1/routes", 201, json=body)
    token = await signed_in(http, merchant.key)
    edit = await http.get(f"/dashboard/routes/{route['id']}/edit")
    found = TEXTAREA.search(edit.text)
    assert found, edit.text
    shown = html.unescape(found.group(1))
    form = {"csrf": token, "name": "r", "target_id": target["id"], "event_types": "order.*"}
    # A browser sends a textarea's lines with CRLF.
    saved = await http.post(
        f"/dashboard/routes/{route['id']}/edit", data={**form, "headers": shown.replace("\n", "\r\n")}
    )
    assert saved.status_code == 303, saved.text
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["headers"] == headers

    # A line separator inside a value is part of that value (refused), never a second header.
    for sneaky in ["X-Shop: acme\u2028X-Injected: yes", "X-Shop: acme\x85X-Injected: yes", "X-Shop: a\x0bb"]:
        answer = await http.post(f"/dashboard/routes/{route['id']}/edit", data={**form, "headers": sneaky})
        assert answer.status_code == 400 and 'id="err-headers"' in answer.text
    twice = await http.post(
        f"/dashboard/routes/{route['id']}/edit", data={**form, "headers": "X-A: 1\r\nx-a: 2"}
    )
    assert twice.status_code == 400 and 'id="err-headers"' in twice.text
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["headers"] == headers


async def test_form_errors_are_shown_next_to_their_fields(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    body = {
        "csrf": token,
        "name": "",
        "new_url": "ftp://example.com/x",
        "event_types": [],
        "max_attempts": "many",
    }
    answer = await http.post("/dashboard/routes/new", data=body)
    assert answer.status_code == 400
    assert 'id="err-name"' in answer.text and 'id="err-event_types"' in answer.text
    assert 'id="err-retry-max_attempts"' in answer.text
    # The service's own rules come back next to their fields as well: a forbidden matrix cell, a bad URL.
    body = {"csrf": token, "name": "x", "new_url": "ftp://example.com/x", "event_types": "order.*"}
    answer = await http.post("/dashboard/routes/new", data=body)
    assert answer.status_code == 400 and 'id="err-new_url"' in answer.text
    body = {**body, "new_url": "http://127.0.0.1:9/x", "snapshot": "subscriber:orders"}
    answer = await http.post("/dashboard/routes/new", data=body)
    assert answer.status_code == 400 and 'id="err-snapshot"' in answer.text
    assert "cannot be added to subscriber events" in answer.text
    assert (await merchant.ok("GET", "/v1/targets"))["data"] == []  # no target left behind


async def test_a_foreign_route_is_a_404_page(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/a")
    other = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other Tea"})
    token = await signed_in(http, other["api_key"])
    for path in (f"/routes/{route['id']}", f"/routes/{route['id']}/edit", f"/routes/{route['id']}/key"):
        answer = await http.get("/dashboard" + path)
        assert answer.status_code == 404, path
        assert "belongs to another merchant" in answer.text
        assert route["name"] not in answer.text
    halted = await http.post(f"/dashboard/routes/{route['id']}/do/halt", data={"csrf": token})
    assert halted.status_code == 404
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "active"
    assert (await http.get("/dashboard/deliveries/dlv_nope")).status_code == 404
    assert (await http.get("/dashboard/no-such-page")).status_code == 404


async def test_halt_resume_and_regenerate_key(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/a")
    token = await signed_in(http, merchant.key)
    base = f"/dashboard/routes/{route['id']}"
    answer = await http.post(base + "/do/halt", data={"csrf": token, "back": "details"})
    assert answer.status_code == 303 and answer.headers["location"].startswith(base)
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "halted"
    page = await http.get(answer.headers["location"])
    assert "This webhook is halted" in page.text and ">Resume<" in page.text
    await http.post(base + "/do/resume", data={"csrf": token})
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "active"
    before = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    confirm = await http.get(base + "/confirm/regenerate-key")
    assert confirm.status_code == 200 and "24 hours" in confirm.text
    rotated = await http.post(base + "/do/regenerate-key", data={"csrf": token})
    assert rotated.status_code == 303
    after = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    assert after["signing_key"] != before["signing_key"]
    assert after["expiring_signing_key"] == before["signing_key"]
    revealed = await http.get("/dashboard/routes/" + route["id"] + "/key")
    assert revealed.json()["signing_key"] == after["signing_key"]
    # Asked for from the details page, the new key is shown there, revealed, where its keys are.
    again = await http.post(base + "/do/regenerate-key", data={"csrf": token, "back": "details"})
    assert again.status_code == 303 and again.headers["location"].startswith(base + "?")
    assert again.headers["location"].endswith("#verify") and "reveal=1" in again.headers["location"]
    newest = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    shown = await http.get(again.headers["location"].partition("#")[0])
    assert newest["signing_key"] in shown.text and "New signing key created" in shown.text
    await http.post(base + "/do/disable", data={"csrf": token})
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "disabled"
    await http.post(base + "/do/delete", data={"csrf": token})
    assert (await merchant.call("GET", f"/v1/routes/{route['id']}")).status_code == 404


async def test_the_operator_switches_merchants(http: httpx.AsyncClient, merchant: Client) -> None:
    await make_route(merchant, "http://127.0.0.1:9/a", name="Acme orders")
    answer = await sign_in(http, OPERATOR_KEY)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/merchants"
    listed = await http.get("/dashboard/merchants")
    assert "Acme Coffee" in listed.text
    assert (await http.get("/dashboard/")).headers["location"] == "/dashboard/merchants"
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    chosen = await http.post(
        "/dashboard/merchants/select", data={"csrf": csrf_of(listed), "merchant_id": merchant_id}
    )
    assert chosen.status_code == 303
    page = await http.get("/dashboard/")
    assert "Acme orders" in page.text and "acting for" in page.text
    missing = await http.post(
        "/dashboard/merchants/select", data={"csrf": csrf_of(page), "merchant_id": "mer_x"}
    )
    assert missing.status_code == 404


async def test_a_merchant_cannot_open_the_merchant_list(http: httpx.AsyncClient, merchant: Client) -> None:
    await signed_in(http, merchant.key)
    assert (await http.get("/dashboard/merchants")).status_code == 403


async def test_a_revoked_key_ends_its_sessions(
    db_url: str, http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    await signed_in(http, merchant.key)
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    [key] = (await operator.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]
    await operator.ok("DELETE", f"/v1/merchants/{merchant_id}/api-keys/{key['id']}", 204)
    assert all(row["revoked"] is not None for row in await session_rows(db_url))
    assert (await http.get("/dashboard/")).status_code == 303


@pytest.mark.parametrize("cookie", ["", "garbage", "a.b", "e30.AAAA"])
async def test_a_forged_session_cookie_is_ignored(http: httpx.AsyncClient, cookie: str) -> None:
    http.cookies.set("hookline_session", cookie, path="/dashboard")
    assert (await http.get("/dashboard/")).status_code == 303
    raw = {b"cookie": "hookline_session=e30.\u00e9\u00e9".encode()}  # not ASCII: still no session, no 500
    http.cookies.clear()
    assert (await http.get("/dashboard/", headers=raw)).status_code == 303


async def test_test_events_search_and_the_delivery_card(
    http: httpx.AsyncClient, merchant: Client, receiver: Receiver
) -> None:
    route = await make_route(merchant, receiver.url + "/hooks")
    token = await signed_in(http, merchant.key)
    base = f"/dashboard/routes/{route['id']}"
    page = await http.get(base + "/test-events")
    assert page.status_code == 200 and " checked" in checkbox(page.text, "order.reminder")
    none = await http.post(base + "/test-events", data={"csrf": token})  # every box unticked: nothing sent
    assert none.status_code == 400 and "Choose at least one event type" in none.text
    assert " checked" not in checkbox(none.text, "order.reminder")
    assert (await merchant.ok("GET", "/v1/deliveries"))["data"] == []
    sent = await http.post(base + "/test-events", data={"csrf": token, "event_types": "order.reminder"})
    assert sent.status_code == 303 and "notice=tested" in sent.headers["location"]
    [request] = await receiver.wait_for(1, path="/hooks")
    assert request.json()["type"] == "order.reminder"

    async def delivered() -> Any:
        found = (await merchant.ok("GET", "/v1/deliveries", params={"status": "success"}))["data"]
        return found[0] if found else None

    delivery = await eventually(delivered)
    details = await http.get(base)
    assert details.status_code == 200
    assert (
        "Successful deliveries" in details.text
        and "<svg" in details.text
        and "order.reminder" in details.text
    )
    found = await http.get(base, params={"by": "event_id", "q": delivery["event_id"]})
    assert delivery["id"] in found.text
    none = await http.get(base, params={"by": "customer_email", "q": "nobody@example.com"})
    assert "No deliveries match this search" in none.text
    card = await http.get(f"/dashboard/deliveries/{delivery['id']}")
    assert card.status_code == 200 and "Attempt 1" in card.text and "HTTP 200" in card.text
    assert "Ordergroove-Signature" in card.text
    assert 'class="primary">Resend' not in card.text  # it succeeded: a secondary button that asks first
    asked = await http.post(f"/dashboard/deliveries/{delivery['id']}/resend", data={"csrf": token})
    assert asked.status_code == 303 and asked.headers["location"].endswith("/resend")
    question = await http.get(asked.headers["location"])
    assert "already succeeded (HTTP 200)" in question.text
    assert (await merchant.ok("GET", f"/v1/deliveries/{delivery['id']}"))["status"] == "success"
    again = await confirmed(http, question)
    assert again.status_code == 303 and "notice=resent" in again.headers["location"]
    await receiver.wait_for(2, path="/hooks")

    async def listed() -> str | None:
        # The receiver has the request a moment before the worker records its answer.
        page = (await http.get("/dashboard/")).text
        return page if "succeeded" in page else None

    assert 'class="chart sparkline"' in await eventually(listed)


async def test_the_payload_preview(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/a")
    token = await signed_in(http, merchant.key)
    form = {
        "csrf": token,
        "name": "orders",
        "target_id": route["target_id"],
        "event_types": "order.*",
        "snapshot": ["order:customer", "order:items"],
        "sample_type": "order.reminder",
    }
    json_only = {"Accept": "application/json"}
    shown = (await http.post(f"/dashboard/routes/{route['id']}/preview", data=form, headers=json_only)).json()
    assert shown["error"] is None
    body = json.loads(shown["body"])
    assert body["type"] == "order.reminder" and set(body["snapshot"]) == {"customer", "items"}
    shaped = {**form, "transform": "{kind: type, email: snapshot.customer.email}"}
    shown = (await http.post("/dashboard/routes/preview", data=shaped, headers=json_only)).json()
    assert set(json.loads(shown["body"])) == {"kind", "email"}
    broken = {**form, "transform": "[[["}
    shown = (await http.post("/dashboard/routes/preview", data=broken, headers=json_only)).json()
    assert shown["error"] and not shown["body"]
    # Without JavaScript the form page comes back with the preview in it, or the error at the field.
    page = await http.post(f"/dashboard/routes/{route['id']}/preview", data=form)
    assert page.status_code == 200 and "&#34;snapshot&#34;" in page.text
    page = await http.post("/dashboard/routes/preview", data=broken)
    assert page.status_code == 400 and 'id="err-transform"' in page.text
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["transform"] is None  # nothing saved


async def test_bulk_resend_and_replay(
    http: httpx.AsyncClient, operator: Client, merchant: Client, receiver: Receiver
) -> None:
    receiver.respond("/down", Status(500))
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/down"})
    body = {
        "name": "down",
        "target_id": target["id"],
        "event_types": ["order.*"],
        "retry": {"max_attempts": 1},
    }
    route = await merchant.ok("POST", "/v1/routes", 201, json=body)
    merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
    event = {
        "type": "order.reminder",
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "c-1"}},
    }
    await operator.ok("POST", "/v1/events", 202, params={"merchant": merchant_id}, json=event)

    async def failed() -> Any:
        return (await merchant.ok("GET", "/v1/deliveries", params={"status": "failed"}))["data"]

    await eventually(failed)
    token = await signed_in(http, merchant.key)
    base = f"/dashboard/routes/{route['id']}"
    assert " checked" in checkbox((await http.get(base)).text, "failed")  # failed only, by default
    assert " checked" not in checkbox((await http.get(base)).text, "canceled")
    asked = await http.post(base + "/resend", data={"csrf": token, "resend_status": "failed"})
    assert asked.status_code == 200 and "Resend 1 delivery?" in asked.text  # counted, nothing started
    assert (await merchant.ok("GET", "/v1/jobs"))["data"] == []
    nothing = await http.post(base + "/resend", data={"csrf": token, "resend_status": "canceled"})
    assert nothing.status_code == 400 and "nothing to resend" in nothing.text
    # The replay form beside it keeps its default: a refused resend does not untick its snapshot choice.
    assert 'name="replay_point_in_time" value="1" checked' in nothing.text
    started = await confirmed(http, asked)
    assert started.status_code == 303 and started.headers["location"].startswith("/dashboard/jobs/job_")
    job_path = started.headers["location"]
    assert "Bulk resend" in (await http.get(job_path)).text

    assert "Finished" in (await eventually(finished_job(http, job_path)))["text"]
    form = (await http.get(base)).text
    assert "Replays are point in time" in form
    assert 'name="replay_point_in_time" value="1" checked' in form  # ticked unless the merchant unticks it
    refused = await http.post(base + "/replay", data={"csrf": token, "replay_since": ""})
    assert refused.status_code == 400 and 'id="err-replay_since"' in refused.text
    assert 'name="replay_point_in_time" value="1">' in refused.text  # the form as it was posted: unticked
    asked = await http.post(base + "/replay", data={"csrf": token, "replay_since": "2000-01-01T00:00"})
    assert "Replay 1 event?" in asked.text and "as the objects are now" in asked.text
    replayed = await confirmed(http, asked)
    assert replayed.status_code == 303
    assert "as the objects are now" in (await http.get(replayed.headers["location"])).text
    details = await http.get(base)
    assert "Recent resends and replays" in details.text
    [replay] = (await merchant.ok("GET", "/v1/jobs", params={"route_id": route["id"]}))["data"][:1]
    assert replay["kind"] == "replay" and replay["params"]["point_in_time"] is False
    await eventually(finished_job(http, replayed.headers["location"]))
    ticked = {"csrf": token, "replay_since": "2000-01-01T00:00", "replay_point_in_time": "1"}
    replayed = await confirmed(http, await http.post(base + "/replay", data=ticked))
    assert "as they were when each event was accepted" in (await http.get(replayed.headers["location"])).text


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ASK = re.compile(r'<form method="post" action="([^"]+)" class="inline" id="ask-form">(.*?)</form>', re.S)


async def confirmed(http: httpx.AsyncClient, question: httpx.Response) -> httpx.Response:
    """Press the confirmation page's button: post its form (its hidden fields) as a browser would."""
    found = ASK.search(question.text)
    assert found, question.text
    fields: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(found.group(2)):
        fields.setdefault(name, []).append(html.unescape(value))
    return await http.post(html.unescape(found.group(1)), data=fields)


def finished_job(http: httpx.AsyncClient, job_path: str) -> Any:
    async def finished() -> Any:
        answer = (await http.get(job_path, headers={"Accept": "application/json"})).json()
        return answer if answer["finished"] else None

    return finished


async def test_sign_out_ends_the_session(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/a")
    token = await signed_in(http, merchant.key)
    cookie = http.cookies["hookline_session"]
    answer = await http.post("/dashboard/sign-out", data={"csrf": token})
    assert answer.status_code == 303 and "/dashboard/sign-in" in answer.headers["location"]
    assert (await http.get("/dashboard/")).status_code == 303
    # A copy of the cookie (kept by an attacker, another tab, a proxy's log) is dead too: for pages and
    # for changes made with the session's own form token.
    http.cookies.set("hookline_session", cookie, path="/dashboard")
    assert (await http.get("/dashboard/")).status_code == 303
    halt = await http.post(f"/dashboard/routes/{route['id']}/do/halt", data={"csrf": token})
    assert halt.status_code == 401 and "Your session ended before the form was sent" in halt.text
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "active"
    # Signing in again makes a new session; the old one stays ended.
    await signed_in(http, merchant.key)
    assert http.cookies["hookline_session"] != cookie
    assert (await http.get("/dashboard/")).status_code == 200


async def test_sessions_are_kept_hashed_and_expire(
    db_url: str, http: httpx.AsyncClient, merchant: Client
) -> None:
    await signed_in(http, merchant.key)
    cookie = http.cookies["hookline_session"]
    [row] = await session_rows(db_url)
    assert row["id_hash"] == hashlib.sha256(cookie.encode()).hexdigest() and cookie not in str(row)
    assert row["merchant_id"] == merchant.merchant_id  # type: ignore[attr-defined]
    assert row["revoked"] is None and not row["operator"] and not row["read_only"]
    assert row["expires"] - row["created"] == 12 * 3600
    await session_rows(db_url, expires=time.time() - 1)
    assert (await http.get("/dashboard/")).status_code == 303
    # Expired rows are deleted when the next session is opened.
    await signed_in(http, merchant.key)
    assert [r["id_hash"] for r in await session_rows(db_url)] != [row["id_hash"]]
    assert len(await session_rows(db_url)) == 1


async def test_a_read_only_session_can_look_but_not_change(
    db_url: str, http: httpx.AsyncClient, merchant: Client
) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/a")
    token = await signed_in(http, merchant.key)
    await session_rows(db_url, read_only=True)
    assert (await http.get(f"/dashboard/routes/{route['id']}")).status_code == 200
    halt = await http.post(f"/dashboard/routes/{route['id']}/do/halt", data={"csrf": token})
    assert halt.status_code == 403 and "can look but not change" in halt.text
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "active"


async def test_a_changed_operator_key_ends_the_operators_sessions(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        await signed_in(http, OPERATOR_KEY)
        cookie = http.cookies["hookline_session"]
        assert (await http.get("/dashboard/merchants")).status_code == 200
    async with running_app(app_settings(db_url, operator_key="hl_op_a_new_key"), worker=False) as http:
        http.cookies.set("hookline_session", cookie, path="/dashboard")
        assert (await http.get("/dashboard/merchants")).status_code == 303
    [row] = await session_rows(db_url)
    assert row["revoked"] is not None


async def test_nul_characters_are_a_400_page_not_a_500(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    assert (await http.get("/dashboard/routes/rte_%00")).status_code == 400
    assert (await http.get("/dashboard/", params={"after": "a\x00"})).status_code == 400
    body = {"csrf": token, "name": "a\x00b", "new_url": "http://127.0.0.1:9/x", "event_types": "order.*"}
    assert (await http.post("/dashboard/routes/new", data=body)).status_code == 400
