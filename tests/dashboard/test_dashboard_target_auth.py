"""The edit-webhook page sets, changes and removes its target's endpoint authentication; it never shows a
saved secret, and a refused auth changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from support.dashboard import make_route, signed_in

PASSWORD = "da5hb0ard-secret"


@pytest.fixture
async def keyed_http(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(app_settings(db_url, secret_key=Fernet.generate_key().decode())) as http:
        yield http


def edit_form(token: str, route: dict[str, Any], **changes: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf": token,
        "name": route["name"],
        "target_id": route["target_id"],
        "target_url": "http://127.0.0.1:9/hook",
        "event_types": route["event_types"],
        "initial_interval_s": "60",
        "max_interval_s": "600",
        "max_attempts": "60",
        "timeout_s": "5",
    }
    return {**form, **changes}


async def test_auth_is_set_shown_without_secrets_refused_and_removed(keyed_http: httpx.AsyncClient) -> None:
    http = keyed_http
    merchant = await new_merchant(Client(http, OPERATOR_KEY), "Dash Shop")
    route = await make_route(merchant, "http://127.0.0.1:9/hook")
    target_path = f"/v1/targets/{route['target_id']}"
    path = f"/dashboard/routes/{route['id']}/edit"
    token = await signed_in(http, merchant.key)
    assert "Keep: None" in (await http.get(path)).text

    basic = {"auth_type": "basic", "auth_username": "hookline", "auth_password": PASSWORD}
    saved = await http.post(path, data=edit_form(token, route, **basic))
    assert saved.status_code == 303, saved.text
    assert (await merchant.ok("GET", target_path))["auth"] == {"type": "basic", "username": "hookline"}
    page = (await http.get(path)).text
    assert "Keep: HTTP Basic, username hookline" in page and PASSWORD not in page

    # Kept as it is when the choice is left on "keep" (the password fields come back empty).
    assert (await http.post(path, data=edit_form(token, route, name="renamed"))).status_code == 303
    assert (await merchant.ok("GET", target_path))["auth"]["type"] == "basic"

    missing = {"auth_type": "oauth2", "auth_token_url": "http://127.0.0.1:9/token", "auth_client_id": "c"}
    refused = await http.post(path, data=edit_form(token, route, name="changed", **missing))
    assert refused.status_code == 400
    assert (
        'id="err-auth_client_secret"' in refused.text and 'value="http://127.0.0.1:9/token"' in refused.text
    )
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["name"] == "renamed"  # nothing changed
    assert (await merchant.ok("GET", target_path))["auth"]["type"] == "basic"

    removed = await http.post(path, data=edit_form(token, route, auth_type="none"))
    assert removed.status_code == 303
    assert (await merchant.ok("GET", target_path))["auth"] is None


async def test_without_a_secret_key_the_page_says_so(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/hook")
    token = await signed_in(http, merchant.key)
    basic = {"auth_type": "basic", "auth_username": "hookline", "auth_password": PASSWORD}
    refused = await http.post(f"/dashboard/routes/{route['id']}/edit", data=edit_form(token, route, **basic))
    assert refused.status_code == 400 and "HOOKLINE_SECRET_KEY" in refused.text
    assert PASSWORD not in refused.text
    assert (await merchant.ok("GET", f"/v1/targets/{route['target_id']}"))["auth"] is None
